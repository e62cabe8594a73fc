//go:build !unix

package native

func processCPU() float64 { return 0 }
