package jpeg

// seqRows holds the coefficients of a sequential scan's MCU rows between
// the entropy decoder and the inverse DCT. On large images the IDCT runs on
// another goroutine, a few MCU rows behind the (inherently serial) entropy
// decoder, so that the two overlap; on small ones it runs inline.
type seqRows struct {
	sc    []scanComp
	rows  [][]int16 // ring of MCU-row coefficient buffers
	off   [maxComponents]int
	width [maxComponents]int // blocks across, per scan component
	high  [maxComponents]int // block rows in an MCU row
	cur   int                // the ring slot being decoded into
	free  chan int
	jobs  chan [2]int // slot, MCU row
	done  chan struct{}
}

const seqRing = 4

func newSeqRows(sc []scanComp, mcusX int, concurrent bool) *seqRows {
	q := &seqRows{sc: sc}
	n := 0
	for i := range sc {
		c := sc[i].c
		q.off[i] = n
		if len(sc) == 1 {
			q.width[i], q.high[i] = c.wib, 1
		} else {
			q.width[i], q.high[i] = mcusX*c.h, c.v
		}
		n += q.width[i] * q.high[i] * 64
	}
	slots := 1
	if concurrent {
		slots = seqRing
	}
	q.rows = make([][]int16, slots)
	for i := range q.rows {
		q.rows[i] = make([]int16, n)
	}
	if concurrent {
		q.free = make(chan int, slots)
		for i := range slots {
			q.free <- i
		}
		q.jobs = make(chan [2]int, slots)
		q.done = make(chan struct{})
		go func() {
			defer close(q.done)
			for j := range q.jobs {
				q.transform(j[0], j[1])
				q.free <- j[0]
			}
		}()
	}
	return q
}

// start claims a buffer for the next MCU row.
func (q *seqRows) start() {
	if q.free != nil {
		q.cur = <-q.free
	}
}

// block is block (bx, by) of scan component i within the current MCU row.
func (q *seqRows) block(i, bx, by int) *[64]int16 {
	return (*[64]int16)(q.rows[q.cur][q.off[i]+(by*q.width[i]+bx)*64:][:64])
}

// submit hands the current buffer, MCU row my, to the IDCT.
func (q *seqRows) submit(my int) {
	if q.jobs != nil {
		q.jobs <- [2]int{q.cur, my}
		return
	}
	q.transform(q.cur, my)
}

// stop waits for the IDCT to finish; it may be called more than once.
func (q *seqRows) stop() {
	if q == nil || q.jobs == nil {
		return
	}
	close(q.jobs)
	<-q.done
	q.jobs = nil
}

// transform inverse-transforms MCU row my from ring slot into the planes.
func (q *seqRows) transform(slot, my int) {
	for i := range q.sc {
		c := q.sc[i].c
		quant := &c.quant
		stride := c.bw * 8
		for by := 0; by < q.high[i]; by++ {
			row := my*q.high[i] + by
			for bx := 0; bx < q.width[i]; bx++ {
				blk := (*[64]int16)(q.rows[slot][q.off[i]+(by*q.width[i]+bx)*64:][:64])
				idctISLOW(blk, quant, c.plane[row*8*stride+bx*8:], stride)
			}
		}
	}
}

// concurrentMinMCUs is the scan size (MCUs times components) from which the
// IDCT runs beside the entropy decoder; a variable so tests can cover both.
var concurrentMinMCUs = 2048
