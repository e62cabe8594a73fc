//go:build !unix && !windows

package main

import "os"

// terminalWidth: no way to ask here (Plan 9, WebAssembly); the bar takes
// the fallback width.
func terminalWidth(*os.File) int { return 0 }
