package imageio

import (
	"image"
	"image/color"
	"slices"
	"sort"
)

// GIF output. Pillow (the reference's writer) turns RGB into a GIF with an
// adaptive median-cut palette and no dithering; Go's encoder would otherwise
// use the fixed Plan 9 palette with error diffusion, which looks quite
// different. medianCut is a plain median cut in that spirit (not Pillow's
// exact box choice): an image of at most 256 colours is kept exactly.

type colorCount struct {
	c   [3]uint8
	pos int32 // index in the sorted list of distinct colours
	n   int
}

// medianCut returns a paletted copy of m with at most 256 colours.
func medianCut(m *image.RGBA) *image.Paletted {
	b := m.Bounds()
	w := b.Dx()
	key := func(p []uint8) uint32 { return uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2]) }
	keys := make([]uint32, 0, w*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[m.PixOffset(b.Min.X, y):][:4*w]
		for x := 0; x < len(row); x += 4 {
			keys = append(keys, key(row[x:]))
		}
	}
	slices.Sort(keys)
	var all []colorCount
	distinct := keys[:0] // compacted in place: keys is not needed afterwards
	for i := 0; i < len(keys); {
		j := i
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		k := keys[i]
		all = append(all, colorCount{c: [3]uint8{uint8(k >> 16), uint8(k >> 8), uint8(k)}, pos: int32(len(distinct)), n: j - i})
		distinct = append(distinct, k)
		i = j
	}

	scratch := make([]colorCount, len(all))
	boxes := []cutBox{newCutBox(all)}
	for len(boxes) < 256 {
		// Split the box with the widest channel range, weighted by pixel count.
		best := -1
		for i, bx := range boxes {
			if bx.score > 0 && (best < 0 || bx.score > boxes[best].score) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		bx := boxes[best].cols
		sortByChannel(bx, scratch[:len(bx)], boxes[best].ch)
		// Cut at the pixel-count median, keeping both halves non-empty.
		cut, acc := 1, 0
		for i, e := range bx[:len(bx)-1] {
			acc += e.n
			cut = i + 1
			if 2*acc >= boxes[best].n {
				break
			}
		}
		boxes[best] = newCutBox(bx[:cut])
		boxes = append(boxes, newCutBox(bx[cut:]))
	}

	pal := make(color.Palette, len(boxes))
	index := make([]uint8, len(distinct))
	for i, cb := range boxes {
		var sum [3]int
		for _, e := range cb.cols {
			for ch := range 3 {
				sum[ch] += int(e.c[ch]) * e.n
			}
			index[e.pos] = uint8(i)
		}
		n := cb.n
		pal[i] = color.RGBA{uint8((sum[0] + n/2) / n), uint8((sum[1] + n/2) / n), uint8((sum[2] + n/2) / n), 255}
	}
	p := image.NewPaletted(b, pal)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[m.PixOffset(b.Min.X, y):][:4*w]
		out := p.Pix[p.PixOffset(b.Min.X, y):]
		for x := 0; x < len(row); x += 4 {
			k := key(row[x:])
			out[x/4] = index[sort.Search(len(distinct), func(i int) bool { return distinct[i] >= k })]
		}
	}
	return p
}

// sortByChannel is a stable counting sort of cols on channel ch.
func sortByChannel(cols, scratch []colorCount, ch int) {
	var start [257]int
	for _, e := range cols {
		start[int(e.c[ch])+1]++
	}
	for v := 1; v < len(start); v++ {
		start[v] += start[v-1]
	}
	for _, e := range cols {
		v := e.c[ch]
		scratch[start[v]] = e
		start[v]++
	}
	copy(cols, scratch)
}

// cutBox is a set of colours with its pixel count and the channel it would
// be split along; score 0 means it cannot be split.
type cutBox struct {
	cols  []colorCount
	n, ch int
	score int
}

func newCutBox(cols []colorCount) cutBox {
	lo, hi := [3]int{255, 255, 255}, [3]int{}
	n := 0
	for _, e := range cols {
		for ch := range 3 {
			lo[ch], hi[ch] = min(lo[ch], int(e.c[ch])), max(hi[ch], int(e.c[ch]))
		}
		n += e.n
	}
	b := cutBox{cols: cols, n: n}
	for ch := range 3 {
		if s := (hi[ch] - lo[ch]) * n; s > b.score {
			b.ch, b.score = ch, s
		}
	}
	return b
}
