//go:build !unix

package main

// usage is not measured where getrusage is missing.
func usage() (peakMB, cpuSec float64) { return 0, 0 }
