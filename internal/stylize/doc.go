// Package stylize runs neural style transfer as the reference program
// neural_style.py does (docs/SPEC.md).
//
// Options start from DefaultOptions, the reference's defaults; Validate
// reports the first option that cannot work as an *OptionError naming the
// Options field. Run is the whole job in three stages: prepare (the files
// to an engine problem: images read and resized, network loaded, targets
// computed, initial image), optimise (the reference's loop, one step at a
// time through an Optimizer, writing checkpoints) and write (the output
// and the progress files, each through imageio.WriteFileAtomic). It
// reports progress through Options.Progress and stops after the current
// step when its context is cancelled, writing the best image so far.
//
// Options.Optimizer picks Adam or package optim's L-BFGS; Options.Scales
// runs the loop once per scale, coarse to fine, each starting from the
// previous one's best image resized. Every checkpoint and a cancellation
// also write the state file (StatePath, format in state.go) from which
// Options.Resume continues bit for bit on a deterministic engine.
// Nothing in this package knows about the terminal, the command line or a
// particular compute engine (Options.Engine makes one).
package stylize
