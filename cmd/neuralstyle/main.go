// Command neuralstyle paints a photo in the style of other pictures with the
// optimisation method of Gatys et al., as the TensorFlow program
// neural_style.py does, with the same flags and the same numbers out.
//
//	neuralstyle --content cat.jpg --styles style.jpg --output out.jpg
package main

import (
	"os"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}
