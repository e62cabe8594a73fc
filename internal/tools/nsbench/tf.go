//go:build tensorflow

package main

import "github.com/neuralstyle/neuralstyle/internal/tfbackend"

func init() { tfEngine = tfbackend.New }
