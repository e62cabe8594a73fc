package nn

// PortableDirect returns the portable kernels with direct convolutions.
func PortableDirect() Kernels { return &portable{scratch: new(scratch), direct: true} }
