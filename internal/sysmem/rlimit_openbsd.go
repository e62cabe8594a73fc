package sysmem

// rlimitAS: OpenBSD has no RLIMIT_AS (its RLIMIT_DATA limits the heap
// alone, which the physical memory bounds anyway).
func rlimitAS() Limit { return Limit{} }
