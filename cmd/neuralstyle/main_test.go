package main

import (
	"os"
	"testing"
)

// childEnv, set in a child's environment, makes the test binary run Main
// on its arguments instead of the tests: tests that need a real process
// (signals, a closed stdout) re-execute themselves so.
const childEnv = "NEURALSTYLE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
