//go:build unix

package native

import "syscall"

// processCPU returns the CPU time the process has used, in seconds: on a
// shared machine, CPU time per iteration is steadier than wall time.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
