// Package tfbackend evaluates the style-transfer objective with TensorFlow,
// through the TensorFlow Go bindings and tfgo: the reference's graph (VGG-19
// up to relu5_2, the content, style and total-variation losses, their
// gradient by TensorFlow's own backpropagation, and TensorFlow's
// ResourceApplyAdam) runs in one session per problem, on the CPU or on a GPU
// when the linked TensorFlow library is a GPU build.
//
// The package is compiled only with the build tag "tensorflow", since it
// needs cgo and the TensorFlow C library; scripts/tf.sh fetches the library
// (the tensorflow-cpu wheel from PyPI, once per machine) and builds or tests
// with the right flags (make tf, make test-tf). Without the tag the package
// is empty and the rest of the program stays pure Go.
//
// For a GPU, point TENSORFLOW_ROOT at a GPU build of the C library (the
// official libtensorflow-gpu tarball, with include/ and lib/) before make tf;
// TensorFlow then places the graph on the first GPU by itself, given the
// CUDA and cuDNN libraries it was built against.
//
// TensorFlow logs to stderr: TF_CPP_MIN_LOG_LEVEL=1 in the environment hides
// most of its INFO lines, though not the oneDNN notice it prints while the
// library loads.
package tfbackend
