//go:build unix

package main

import (
	"os"
	"os/signal"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

var (
	watchOnce   sync.Once
	cachedWidth atomic.Int64 // columns of the watched terminal, 0 when unknown
)

// terminalWidth returns f's terminal width in columns, 0 when f is not a
// terminal. The first call starts following SIGWINCH, so that later calls
// cost no system call and see a resize at once.
func terminalWidth(f *os.File) int {
	watchOnce.Do(func() {
		cachedWidth.Store(int64(queryWidth(f)))
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, unix.SIGWINCH)
		go func() {
			for range ch {
				cachedWidth.Store(int64(queryWidth(f)))
			}
		}()
	})
	return int(cachedWidth.Load())
}

func queryWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
