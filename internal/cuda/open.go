package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"
)

// Device is one GPU as the driver reports it.
type Device struct {
	Name     string
	TotalMem uint64 // bytes
}

// Info is what Open learnt of the libraries.
type Info struct {
	// DriverVersion is cuDriverGetVersion's number: 1000*major + 10*minor
	// (12040 for 12.4); 0 until the driver is initialised.
	DriverVersion int
	Devices       []Device
	// CUBLASVersion is major, minor, patch from cublasGetProperty; zeros
	// when cuBLAS was not opened.
	CUBLASVersion [3]int
	// CUDNNVersion is cudnnGetVersion's number (90100 for 9.1.0, 8902 for
	// 8.9.2); 0 when cuDNN was not opened.
	CUDNNVersion int
}

// String is the one-line report: "driver 12.4 (NVIDIA H200, 139 GiB),
// cuBLAS 12.1, cuDNN 9.1", with only the parts known.
func (in Info) String() string {
	var parts []string
	if in.DriverVersion != 0 {
		s := "driver " + formatDriverVersion(in.DriverVersion)
		if len(in.Devices) > 0 {
			d := in.Devices[0]
			s += fmt.Sprintf(" (%s, %s", d.Name, formatGiB(d.TotalMem))
			if n := len(in.Devices) - 1; n == 1 {
				s += ", and 1 more device"
			} else if n > 1 {
				s += fmt.Sprintf(", and %d more devices", n)
			}
			s += ")"
		}
		parts = append(parts, s)
	}
	if v := in.CUBLASVersion; v != [3]int{} {
		parts = append(parts, fmt.Sprintf("cuBLAS %d.%d", v[0], v[1]))
	}
	if in.CUDNNVersion != 0 {
		parts = append(parts, "cuDNN "+formatCUDNNVersion(in.CUDNNVersion))
	}
	return strings.Join(parts, ", ")
}

func formatDriverVersion(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }

// formatCUDNNVersion reads cudnnGetVersion's number: major*10000 +
// minor*100 + patch from cuDNN 9 on, major*1000 + minor*100 + patch before.
func formatCUDNNVersion(v int) string {
	if v >= 90000 {
		return fmt.Sprintf("%d.%d", v/10000, v%10000/100)
	}
	return fmt.Sprintf("%d.%d", v/1000, v%1000/100)
}

func formatGiB(b uint64) string { return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30)) }

// Runtime is the opened libraries. They stay loaded for the life of the
// process: unloading the CUDA driver while its threads run is not safe.
type Runtime struct {
	Libs Libraries
	Info Info
	drv  driverAPI
}

// driverAPI holds the driver functions Open binds (CUresult is a C enum).
type driverAPI struct {
	cuInit             func(flags uint32) int32
	cuDriverGetVersion func(v *int32) int32
	cuDeviceGetCount   func(n *int32) int32
	cuDeviceGet        func(dev *int32, ordinal int32) int32
	cuDeviceGetName    func(name *byte, size int32, dev int32) int32
	cuDeviceTotalMem   func(bytes *uint64, dev int32) int32
	cuGetErrorName     func(res int32, name **byte) int32 // optional
}

// OpenError is a library that was found but could not be used.
type OpenError struct {
	Kind Kind
	Path string
	Err  error
	// Places is where the search looked, for the message.
	Places string
}

func (e *OpenError) Error() string {
	return oneLine(fmt.Sprintf("cuda: %v %s: %v; searched %s", e.Kind, e.Path, e.Err, e.Places))
}

func (e *OpenError) Unwrap() error { return e.Err }

// ErrNoDevice is wrapped when the driver loads but reports no GPU.
var ErrNoDevice = errors.New("no CUDA device")

// Open loads the libraries of libs that were found, the driver first,
// initialises the driver and reads the versions and devices. The driver is
// required; cuBLAS and cuDNN are opened when libs has them. The Runtime is
// returned even with an error, its Info holding what was learnt before the
// failure (so that a message can say "found driver 12.4 (...)"); every error
// is a *NotFoundError or an *OpenError.
func Open(libs Libraries) (*Runtime, error) {
	rt := &Runtime{Libs: libs}
	drv := libs.Lib[Driver]
	if drv.Path == "" {
		return rt, &NotFoundError{Libs: libs, Missing: []Kind{Driver}}
	}
	fail := func(k Kind, err error) (*Runtime, error) {
		return rt, &OpenError{Kind: k, Path: libs.Lib[k].Path, Err: err, Places: libs.PlacesString()}
	}
	if err := rt.openDriver(drv.Path); err != nil {
		return fail(Driver, err)
	}
	if p := libs.Lib[CUBLAS].Path; p != "" {
		v, err := openCUBLAS(p)
		if err != nil {
			return fail(CUBLAS, err)
		}
		rt.Info.CUBLASVersion = v
	}
	if p := libs.Lib[CUDNN].Path; p != "" {
		v, err := openCUDNN(p)
		if err != nil {
			return fail(CUDNN, err)
		}
		rt.Info.CUDNNVersion = v
	}
	return rt, nil
}

// bindAll resolves each name in syms to its function pointer. Missing
// symbols are an error naming them, before anything is called.
func bindAll(h uintptr, syms map[string]any) error {
	var missing []string
	for name, fptr := range syms {
		addr, err := lookup(h, name)
		if err != nil || addr == 0 {
			missing = append(missing, name)
			continue
		}
		bind(fptr, addr)
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("not a CUDA library: no symbol %s", strings.Join(missing, ", "))
	}
	return nil
}

func (rt *Runtime) openDriver(path string) error {
	h, err := loadLibrary(path)
	if err != nil {
		return err
	}
	d := &rt.drv
	if err := bindAll(h, map[string]any{
		"cuInit":              &d.cuInit,
		"cuDriverGetVersion":  &d.cuDriverGetVersion,
		"cuDeviceGetCount":    &d.cuDeviceGetCount,
		"cuDeviceGet":         &d.cuDeviceGet,
		"cuDeviceGetName":     &d.cuDeviceGetName,
		"cuDeviceTotalMem_v2": &d.cuDeviceTotalMem,
	}); err != nil {
		return err
	}
	if addr, err := lookup(h, "cuGetErrorName"); err == nil && addr != 0 {
		bind(&d.cuGetErrorName, addr)
	}
	if r := d.cuInit(0); r != 0 {
		if r == cudaErrorNoDevice {
			return fmt.Errorf("cuInit: %s: %w", d.errorName(r), ErrNoDevice)
		}
		return fmt.Errorf("cuInit: %s", d.errorName(r))
	}
	var v int32
	if r := d.cuDriverGetVersion(&v); r != 0 {
		return fmt.Errorf("cuDriverGetVersion: %s", d.errorName(r))
	}
	rt.Info.DriverVersion = int(v)
	var n int32
	if r := d.cuDeviceGetCount(&n); r != 0 {
		return fmt.Errorf("cuDeviceGetCount: %s", d.errorName(r))
	}
	if n <= 0 {
		return fmt.Errorf("cuDeviceGetCount: %d: %w", n, ErrNoDevice)
	}
	for i := int32(0); i < n; i++ {
		var dev int32
		if r := d.cuDeviceGet(&dev, i); r != 0 {
			return fmt.Errorf("cuDeviceGet(%d): %s", i, d.errorName(r))
		}
		var name [256]byte
		if r := d.cuDeviceGetName(&name[0], int32(len(name)), dev); r != 0 {
			return fmt.Errorf("cuDeviceGetName(%d): %s", i, d.errorName(r))
		}
		var mem uint64
		if r := d.cuDeviceTotalMem(&mem, dev); r != 0 {
			return fmt.Errorf("cuDeviceTotalMem_v2(%d): %s", i, d.errorName(r))
		}
		rt.Info.Devices = append(rt.Info.Devices, Device{Name: cString(name[:]), TotalMem: mem})
	}
	return nil
}

// cudaErrorNoDevice is CUDA_ERROR_NO_DEVICE.
const cudaErrorNoDevice = 100

// driverErrorNames are the CUresult values a probe meets most, for drivers
// without cuGetErrorName (it is in every driver since CUDA 6.0).
var driverErrorNames = map[int32]string{
	1: "CUDA_ERROR_INVALID_VALUE", 2: "CUDA_ERROR_OUT_OF_MEMORY", 3: "CUDA_ERROR_NOT_INITIALIZED",
	4: "CUDA_ERROR_DEINITIALIZED", 100: "CUDA_ERROR_NO_DEVICE", 101: "CUDA_ERROR_INVALID_DEVICE",
	304: "CUDA_ERROR_OPERATING_SYSTEM", 999: "CUDA_ERROR_UNKNOWN",
	34: "CUDA_ERROR_STUB_LIBRARY", 46: "CUDA_ERROR_DEVICE_UNAVAILABLE",
	803: "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", 804: "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
}

// errorName is "CUDA_ERROR_NO_DEVICE (100)".
func (d *driverAPI) errorName(r int32) string {
	if d.cuGetErrorName != nil {
		var p *byte
		if d.cuGetErrorName(r, &p) == 0 && p != nil {
			return fmt.Sprintf("%s (%d)", cStringAt(p, 128), r)
		}
	}
	if n, ok := driverErrorNames[r]; ok {
		return fmt.Sprintf("%s (%d)", n, r)
	}
	return fmt.Sprintf("CUresult %d", r)
}

// libraryPropertyType's values.
const (
	propMajor, propMinor, propPatch = 0, 1, 2
)

func openCUBLAS(path string) ([3]int, error) {
	var v [3]int
	// libcublas needs libcublasLt of the same version; load it from the
	// same folder first so that the loader does not look for it elsewhere.
	if lt := siblingCUBLASLt(path); lt != "" {
		if _, err := loadLibrary(lt); err != nil {
			return v, err
		}
	}
	h, err := loadLibrary(path)
	if err != nil {
		return v, err
	}
	var getProperty func(prop int32, value *int32) int32
	if err := bindAll(h, map[string]any{"cublasGetProperty": &getProperty}); err != nil {
		return v, err
	}
	for i, p := range [3]int32{propMajor, propMinor, propPatch} {
		var x int32
		if r := getProperty(p, &x); r != 0 {
			return v, fmt.Errorf("cublasGetProperty(%d): cublasStatus_t %d", p, r)
		}
		v[i] = int(x)
	}
	if v[0] == 0 {
		return v, fmt.Errorf("cublasGetProperty: version %d.%d.%d", v[0], v[1], v[2])
	}
	return v, nil
}

// siblingCUBLASLt is libcublasLt beside libcublas (libcublas.so.12 ->
// libcublasLt.so.12, cublas64_12.dll -> cublasLt64_12.dll), or "".
func siblingCUBLASLt(path string) string {
	dir, base := filepath.Split(path)
	var lt string
	switch {
	case strings.HasPrefix(base, "libcublas."):
		lt = "libcublasLt." + strings.TrimPrefix(base, "libcublas.")
	case strings.HasPrefix(base, "cublas64_"):
		lt = "cublasLt64_" + strings.TrimPrefix(base, "cublas64_")
	default:
		return ""
	}
	lt = filepath.Join(dir, lt)
	if fi, err := os.Stat(lt); err == nil && fi.Mode().IsRegular() {
		return lt
	}
	return ""
}

func openCUDNN(path string) (int, error) {
	h, err := loadLibrary(path)
	if err != nil {
		return 0, err
	}
	var getVersion func() uint64 // size_t
	if err := bindAll(h, map[string]any{"cudnnGetVersion": &getVersion}); err != nil {
		return 0, err
	}
	v := getVersion()
	if v == 0 || v > 1<<30 {
		return 0, fmt.Errorf("cudnnGetVersion: %d", v)
	}
	return int(v), nil
}

// cString is the NUL-terminated string in b.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// cStringAt reads a NUL-terminated C string of at most max bytes.
func cStringAt(p *byte, max int) string {
	var b []byte
	for i := 0; i < max; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}
