package stylize

import (
	"context"
	"errors"
	"fmt"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
)

// The run's images are sized from their headers before their pixels are
// decoded: the sizes the reference's resizing gives them follow from the
// headers alone, and a run that will not fit its memory is refused (or its
// networks planned in tiles) before a 1 x 300 content at --width 500
// decodes and resizes into a 500 x 150000 image of 900 MB.

// headers are a run's images opened, their headers read.
type headers struct {
	content *imageio.Header
	styles  []*imageio.Header
	initial *imageio.Header // nil without Options.Initial
}

func (h *headers) close() {
	for _, x := range append([]*imageio.Header{h.content, h.initial}, h.styles...) {
		if x != nil {
			x.Close()
		}
	}
}

// scaleSizes are the sizes the reference gives a run's images at one scale.
type scaleSizes struct {
	content Size
	styles  []Size
}

// readImages reads the images and gives them the reference's sizes at
// every scale: the content the scale's width wide (--width without
// Scales), each style scaled to that content's width times its scale, the
// initial image at the first scale's content size. Between the headers and
// the pixels it checks the run's memory (checkMemory), whose tiling limit
// it returns.
func readImages(ctx context.Context, r *resolved) ([]*images, int64, error) {
	inputs, tileLimit, err := readScaledImages(ctx, r)
	if errors.Is(err, imageio.ErrOverMemory) {
		return nil, 0, &OptionError{Option: "MaxMemory", Usage: true,
			Msg: "is exceeded: " + err.Error()}
	}
	return inputs, tileLimit, err
}

// readScaledImages is readImages without the mapping of memory refusals.
func readScaledImages(ctx context.Context, r *resolved) ([]*images, int64, error) {
	ropts := imageio.ReadOptions{MaxPixels: r.MaxPixels, MaxMemory: MemoryLimit(r.MaxMemory)}
	var hs headers
	defer hs.close()
	sizes, err := r.openImages(ctx, &hs, ropts)
	if err != nil {
		return nil, 0, err
	}
	// The last scale is the largest.
	last := sizes[len(sizes)-1]
	tileLimit, err := r.checkMemory(last.content, last.styles)
	if err != nil {
		return nil, 0, err
	}
	inputs, err := r.decodeImages(&hs, sizes)
	if err != nil {
		return nil, 0, err
	}
	return inputs, tileLimit, nil
}

// openImages opens the run's images into hs, reads their headers and
// returns the images' sizes at each scale, refusing an output format that
// cannot hold the last scale's content size and a size that is empty or
// over the pixel limit.
func (r *resolved) openImages(ctx context.Context, hs *headers, ropts imageio.ReadOptions) ([]scaleSizes, error) {
	var err error
	if hs.content, err = imageio.OpenContext(ctx, r.Content, ropts); err != nil {
		return nil, err
	}
	contents := make([]Size, len(r.scales))
	for k, sc := range r.scales {
		contents[k] = Size{hs.content.W, hs.content.H}
		if sc.width > 0 {
			w, h := imageio.WidthSize(hs.content.W, hs.content.H, sc.width)
			contents[k] = Size{w, h}
		}
	}
	// The output has the last scale's content size: refuse one its format
	// cannot hold before any more work.
	last := contents[len(contents)-1]
	if err := checkEncodable(r, last.W, last.H); err != nil {
		return nil, err
	}
	for _, path := range r.Styles {
		h, err := imageio.OpenContext(ctx, path, ropts)
		if err != nil {
			return nil, err
		}
		hs.styles = append(hs.styles, h)
	}
	why := "Width"
	if r.Scales != nil {
		why = "Scales"
	}
	sizes := make([]scaleSizes, len(r.scales))
	for k, sc := range r.scales {
		c := contents[k]
		if sc.width > 0 {
			if err := checkResize(r.Content, why, c, ropts); err != nil {
				return nil, err
			}
		}
		sizes[k] = scaleSizes{content: c, styles: make([]Size, len(hs.styles))}
		for i, s := range hs.styles {
			f := imageio.StyleScaleFactor(r.styleScales[i], c.W, s.W)
			w, h := imageio.ScaledSize(s.W, s.H, f)
			if err := checkResize(r.Styles[i], "StyleScales", Size{w, h}, ropts); err != nil {
				return nil, err
			}
			sizes[k].styles[i] = Size{w, h}
		}
	}
	if r.Initial != "" {
		if hs.initial, err = imageio.OpenContext(ctx, r.Initial, ropts); err != nil {
			return nil, err
		}
	}
	return sizes, nil
}

// decodeImages decodes the images opened in hs and resizes them to their
// sizes at each scale, one original at a time.
func (r *resolved) decodeImages(hs *headers, sizes []scaleSizes) ([]*images, error) {
	original, err := hs.content.Decode()
	if err != nil {
		return nil, err
	}
	inputs := make([]*images, len(sizes))
	for k, sc := range r.scales {
		im := &images{content: original, styles: make([]*imageio.Image, len(hs.styles))}
		if c := sizes[k].content; sc.width > 0 {
			im.content = imageio.Resize(original, c.W, c.H)
		}
		inputs[k] = im
	}
	for i, h := range hs.styles {
		s, err := h.Decode()
		if err != nil {
			return nil, err
		}
		for k, im := range inputs {
			im.styles[i] = imageio.Resize(s, sizes[k].styles[i].W, sizes[k].styles[i].H)
		}
	}
	if hs.initial != nil {
		initial, err := hs.initial.Decode()
		if err != nil {
			return nil, err
		}
		c := inputs[0].content
		inputs[0].initial = imageio.Resize(initial, c.W, c.H)
	}
	return inputs, nil
}

// checkResize refuses resizing the image read from path to s, as the
// option named by why asks, when s is empty or over the pixel limit: a big
// Width or StyleScales must not exhaust memory any more than a big file
// may.
func checkResize(path, why string, s Size, ropts imageio.ReadOptions) error {
	if s.W < 1 || s.H < 1 {
		return &OptionError{Option: why, Msg: fmt.Sprintf("gives an empty %dx%d image from %s", s.W, s.H, path)}
	}
	if err := ropts.CheckSize(s.W, s.H); err != nil {
		return &OptionError{Option: why, Msg: fmt.Sprintf("gives %s from %s (see MaxPixels)", err, path)}
	}
	return nil
}
