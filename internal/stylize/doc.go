// Package stylize runs neural style transfer as the reference program
// neural_style.py does: it resolves the options to the reference's
// defaults, reads the images and the network, computes the targets through
// an engine, optimises the image with TensorFlow 1's Adam, and writes the
// checkpoints, the output and the progress files.
//
// Run is the whole job; it reports progress through Options.Progress and
// stops after the current step when its context is cancelled, writing the
// best image so far. Nothing in this package knows about the terminal or
// the command line.
package stylize
