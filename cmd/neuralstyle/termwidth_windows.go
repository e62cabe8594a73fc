package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// terminalWidth returns the width in columns of f's console window, 0 when
// f is not a console. Windows sends no SIGWINCH: each call asks again,
// which follows a resize at the next redraw (at most ten a second).
func terminalWidth(f *os.File) int {
	var info windows.ConsoleScreenBufferInfo
	if err := windows.GetConsoleScreenBufferInfo(windows.Handle(f.Fd()), &info); err != nil {
		return 0
	}
	return int(info.Window.Right-info.Window.Left) + 1
}
