//go:build !amd64 || purego

package nn

func maxPoolRowsFast(r0, r1, out []float32, arg []uint8) int { return 0 }

func maxPoolBackRowsFast(r0, r1, dOut []float32, arg []uint8) int { return 0 }

func positiveMaskFast(mask []uint64, act []float32) int { return 0 }

func reluMaskedFast(d []float32, mask []uint64) int { return 0 }

func reluBackwardFast(d, act []float32) int { return 0 }
