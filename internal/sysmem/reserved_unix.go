//go:build darwin || freebsd || netbsd || dragonfly

package sysmem

import "runtime"

// reservedAddressSpace: these systems have no cheap figure of the
// process's mapped size, so the Go runtime's reservation as measured on
// Linux stands for it, with the stacks of the threads still to come.
func reservedAddressSpace() int64 {
	return goReservedBytes + futureThreadStacks(runtime.GOMAXPROCS(0), 0, threadStackBytes())
}
