package cuda

import (
	"path/filepath"
	"testing"
)

func TestInfoString(t *testing.T) {
	h200 := Device{Name: "NVIDIA H200", TotalMem: 143771 << 20}
	cases := []struct {
		in   Info
		want string
	}{
		{Info{}, ""},
		{Info{DriverVersion: 12040}, "driver 12.4"},
		{Info{DriverVersion: 12040, Devices: []Device{h200}, CUBLASVersion: [3]int{12, 1, 3}, CUDNNVersion: 90100},
			"driver 12.4 (NVIDIA H200, 140 GiB), cuBLAS 12.1, cuDNN 9.1"},
		{Info{DriverVersion: 11080, Devices: []Device{{"Tesla T4", 15 << 30}, {"Tesla T4", 15 << 30}}, CUDNNVersion: 8902},
			"driver 11.8 (Tesla T4, 15 GiB, and 1 more device), cuDNN 8.9"},
		{Info{DriverVersion: 12090, Devices: []Device{h200, h200, h200}, CUBLASVersion: [3]int{12, 9, 0}, CUDNNVersion: 91002},
			"driver 12.9 (NVIDIA H200, 140 GiB, and 2 more devices), cuBLAS 12.9, cuDNN 9.10"},
	}
	for _, c := range cases {
		if got := c.in.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSiblingCUBLASLt(t *testing.T) {
	dir := t.TempDir()
	fakeTree(t, dir, []string{"libcublas.so.12", "libcublasLt.so.12", "cublas64_12.dll", "cublasLt64_12.dll", "libcublas.so.11"})
	cases := map[string]string{
		"libcublas.so.12": "libcublasLt.so.12",
		"cublas64_12.dll": "cublasLt64_12.dll",
		"libcublas.so.11": "", // no libcublasLt.so.11 beside it
		"libcudnn.so.9":   "",
	}
	for in, want := range cases {
		if want != "" {
			want = filepath.Join(dir, want)
		}
		if got := siblingCUBLASLt(filepath.Join(dir, in)); got != want {
			t.Errorf("siblingCUBLASLt(%s) = %q, want %q", in, got, want)
		}
	}
}
