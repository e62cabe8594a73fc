package stylize_test

import (
	"fmt"

	"github.com/neuralstyle/neuralstyle/internal/stylize"
)

func ExampleCheckpointName() {
	for _, format := range []string{"out_{}.jpg", "out_{:05}.jpg", "out_%d.png", "out_%05d.png"} {
		name, _ := stylize.CheckpointName(format, 1000)
		fmt.Println(name)
	}
	// Output:
	// out_1000.jpg
	// out_01000.jpg
	// out_1000.png
	// out_01000.png
}
