//go:build unix

package main

import (
	"syscall"
	"time"
)

// usage returns the process's peak resident memory in MB and its CPU time
// in seconds.
func usage() (peakMB, cpuSec float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	peak := float64(ru.Maxrss) / 1024 // kilobytes on Linux
	if runtimeGOOS == "darwin" {
		peak /= 1024 // bytes on macOS
	}
	return peak, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
