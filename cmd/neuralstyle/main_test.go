package main

import (
	"os"
	"testing"
)

// childEnv, set in a child's environment, makes the test binary run Main
// on its arguments instead of the tests: tests that need a real process
// (signals, a closed stdout) re-execute themselves so.
const childEnv = "NEURALSTYLE_TEST_CHILD"

// childSetup, when set (by a platform's test file), prepares a child
// process before it runs Main.
var childSetup func()

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if childSetup != nil {
			childSetup()
		}
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
