// Package tfbackend evaluates the style-transfer objective with TensorFlow,
// through the TensorFlow Go bindings and tfgo: the reference's graph (VGG-19
// up to relu5_2, the content, style and total-variation losses, their
// gradient by TensorFlow's own backpropagation, and TensorFlow's
// ResourceApplyAdam) runs in one session per problem, on the CPU or on a GPU
// when the linked TensorFlow library is a GPU build.
//
// The package is compiled only with the build tag "tensorflow", since it
// needs cgo and the TensorFlow C library; scripts/tf.sh fetches the library
// and builds or tests with the right flags (make tf, make test-tf). Without
// the tag the package is empty and the rest of the program stays pure Go.
package tfbackend
