package stylize

import "testing"

func TestCheckpointName(t *testing.T) {
	tests := []struct {
		format string
		itr    int
		want   string
	}{
		{"out_{}.jpg", 7, "out_7.jpg"},
		{"out_{}.jpg", 1000, "out_1000.jpg"},
		{"out_{:05}.png", 42, "out_00042.png"},
		{"out_{:05d}.png", 42, "out_00042.png"},
		{"out_{0}.png", 3, "out_3.png"},
		{"out_{:>4}.png", 3, "out_   3.png"},
		{"out_{:<4}.png", 3, "out_3   .png"},
		{"out_{:x^5}.png", 3, "out_xx3xx.png"},
		{"out_{:,}.png", 1234567, "out_1,234,567.png"},
		{"{{x}}_{}.png", 1, "{x}_1.png"},
		{"out_%d.jpg", 7, "out_7.jpg"},
		{"out_%05d.jpg", 7, "out_00007.jpg"},
		{"out_%5d.jpg", 7, "out_    7.jpg"},
		{"out_%-3d.jpg", 7, "out_7  .jpg"},
		{"out_%i.jpg", 7, "out_7.jpg"},
		{"out_%.5d.jpg", 7, "out_00007.jpg"},
		{"out_{0}_{0}.jpg", 7, "out_7_7.jpg"},
		{"out_%s.jpg", 7, "out_7.jpg"},
		{"100%%_%d.jpg", 7, "100%_7.jpg"},
		{"dir/{:03}/x.jpg", 0, "dir/000/x.jpg"},
	}
	for _, tt := range tests {
		got, err := CheckpointName(tt.format, tt.itr)
		if err != nil {
			t.Errorf("CheckpointName(%q, %d): %v", tt.format, tt.itr, err)
			continue
		}
		if got != tt.want {
			t.Errorf("CheckpointName(%q, %d) = %q, want %q", tt.format, tt.itr, got, tt.want)
		}
	}
}

func TestCheckpointNameInvalid(t *testing.T) {
	for _, format := range []string{
		"out.jpg",         // no placeholder
		"out_{name}.jpg",  // a named field
		"out_{:.2f}.jpg",  // float spec
		"out_{.jpg",       // unbalanced (no closing brace: falls to %, which is absent)
		"out_%d_%d.jpg",   // two values
		"out_%f.jpg",      // float conversion
		"out_{:05}}x.jpg", // stray brace
		"out_{}{}.jpg",    // str.format has one value for two automatic fields
	} {
		if got, err := CheckpointName(format, 1); err == nil {
			t.Errorf("CheckpointName(%q) = %q, want an error", format, got)
		}
	}
}
