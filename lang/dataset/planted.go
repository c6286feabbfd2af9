package dataset

import (
	"fmt"
	"math"

	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// Teacher is the planted network behind a `planted` data set: the model of §11
// (docs/math/11-fixed-output.md) — one hidden filter w* of unit norm, ReLU, and fixed
// non-negative output weights c_k over the K positions of a convolution:
//
//	y_i = Σ_k c_k (x_ikᵀ w*)_+ + Noise·e_i.
//
// The convolution is the model's own first layer when it is a conv or circconv
// (Layer > 0: its kernel, stride, padding and wrap-around), otherwise the filter
// spans the whole sample (Layer = 0, K = 1: one ReLU neuron, y_i = (x_iᵀw*)_+ + …).
type Teacher struct {
	// Filter is w*, ‖w*‖₂ = 1, in (C, kh, kw) row-major order: the layout of a conv
	// weight [1, C, kh, kw] (of a linear weight [1, D] when Layer = 0).
	Filter []float64
	// Layer is the index of the model layer the filter belongs to (0: none).
	Layer int
	// C is the output weight c_k of each position (length K).
	C []float64
	// Noise is σ.
	Noise float64
}

// K is the number of positions.
func (t *Teacher) K() int { return len(t.C) }

// planted generates the planted-filter model of §11, deterministic given seed:
//
//	parameters  n (default 100) samples, seed (0), noise σ (0), and d — the vector
//	            length when no model shape is given.
//	positions   the model's first layer when it is a conv or circconv: its K output
//	            positions with its kernel, stride and zero padding (circconv:
//	            wrap-around with left offset ⌊(k−1)/2⌋), patch entries in (C, kh, kw)
//	            order, padded entries 0. Any other model (or none): K = 1, the
//	            patch is the whole sample.
//	weights     c_k = v at every position for `relu · linear 1 fixed=v` after the
//	            conv, v/K after `avgpool global`, v·Σ_{windows l ∋ k} 1/|l| after
//	            `avgpool W`; c_k = 1/K for every other model (the setting of §11's
//	            table: a one-filter CNN with global average pooling).
//	randomness  r = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)); draws in this
//	            order: the h entries of w* (r.NormFloat64(), then scaled to unit
//	            norm), then for each sample i its entries x_i ~ N(0, I) in row-major
//	            (C, H, W) order followed by one draw e_i ~ N(0, 1) (drawn even when
//	            σ = 0, so X and w* do not depend on σ, and the first n samples do not
//	            depend on n).
//	targets     y_i = Σ_k c_k (x_ikᵀ w*)_+ + σ·e_i, real numbers.
//
// The teacher comes back in Dataset.Teacher.
func (p params) planted(shape []int, m *ir.Model) *raw {
	n, ok1 := p.integer("n", 100, 1, MaxElements)
	seed, ok2 := p.integer("seed", 0, math.MinInt64/2, math.MaxInt64/2)
	noise, ok3 := p.real("noise", 0, 0, false)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	rg := p.l.srcRange()
	dv, hasD := p.m["d"]
	if len(shape) == 0 {
		if !hasD {
			p.l.errf(CodeGenParam, rg, "Give the sample length with d=N, or load the data for a model (its input shape is used).", "synthetic planted: no input shape and no d=")
			return nil
		}
		d, ok := p.integer("d", 0, 1, MaxElements)
		if !ok {
			return nil
		}
		shape = []int{int(d)}
	} else if hasD {
		sz, _ := mulBounded(shape, MaxElements)
		if dv != float64(sz) {
			p.l.errf(CodeGenParam, rg, "", "synthetic planted: d=%g disagrees with the model input shape %s (%d values)", dv, fmtDims(shape), sz)
			return nil
		}
	}
	size, okS := mulBounded(shape, MaxElements)
	if !okS || size == 0 || int64(size)*n > MaxElements {
		p.l.errf(CodeGenParam, rg, "", "synthetic planted: n=%d samples of shape %s are more than %d values", n, fmtDims(shape), MaxElements)
		return nil
	}
	if !p.l.fits(budget.Floats(2, n, int64(size)), fmt.Sprintf("synthetic planted: %d samples of shape %s", n, fmtDims(shape))) {
		return nil
	}
	t := &Teacher{Noise: noise}
	// The index table holds K·h int32 entries (positions × filter entries); it is
	// sized from the model's first convolution and checked before it is built.
	// The generator evaluates the hidden filter on every patch of the model's first
	// convolution: n·K·h multiply-adds over the same n·K·h patch values the program
	// will hold, so it is refused, at the conv layer, exactly when those patches do
	// not fit the budget.
	if e, conv := plantedTableEntries(shape, m); conv != nil {
		if !p.l.fitsAt(budget.Floats(n, e), fmt.Sprintf("synthetic planted: the patches of this convolution (%d samples × %d values)", n, e), conv.Range,
			"The planted generator evaluates the hidden filter at every position of the model's first convolution; use a smaller padding, a larger stride or fewer samples.") {
			return nil
		}
	}
	idx, h, conv := plantedPositions(shape, m)
	if conv != nil {
		t.Layer = conv.Index
	}
	// The teacher's work is n·K·h multiply-adds; refuse what would not finish.
	if float64(n)*float64(len(idx))*float64(h) > 1<<34 {
		p.l.errf(CodeGenParam, rg, "Use fewer samples or a larger stride.", "synthetic planted: n=%d samples × %d positions × %d filter entries is too much work", n, len(idx), h)
		return nil
	}
	t.C = plantedWeights(m, conv, len(idx))
	r := newRand(seed)
	w := make([]float64, h)
	var nrm float64
	for i := range w {
		w[i] = r.NormFloat64()
		nrm += w[i] * w[i]
	}
	nrm = math.Sqrt(nrm)
	for i := range w {
		w[i] /= nrm
	}
	t.Filter = w
	N := int(n)
	X := make([]float64, N*size)
	y := make([]float64, N)
	for i := 0; i < N; i++ {
		x := X[i*size : (i+1)*size]
		for q := range x {
			x[q] = r.NormFloat64()
		}
		e := r.NormFloat64()
		var yi float64
		for k, pos := range idx {
			if t.C[k] == 0 {
				continue
			}
			var z float64
			for q, at := range pos {
				if at >= 0 {
					z += x[at] * w[q]
				}
			}
			if z > 0 {
				yi += t.C[k] * z
			}
		}
		y[i] = yi + noise*e
	}
	desc := fmt.Sprintf("synthetic planted n=%d seed=%d noise=%g: one unit-norm filter of %d values at %d positions", n, seed, noise, h, len(idx))
	return &raw{
		n: N, shape: append([]int(nil), shape...), feat: &f64rows{p: size, v: X}, y: y, yc: 1,
		where:   func(i int) string { return fmt.Sprintf("generated sample %d", i) },
		source:  desc,
		teacher: t,
	}
}

// plantedPositions returns, for each position k of the model's first convolution
// (or the single whole-sample position), the flat sample index of every filter
// entry (−1: zero padding), the filter length h and the conv layer (nil: none).
func plantedPositions(shape []int, m *ir.Model) ([][]int32, int, *ir.Layer) {
	return plantedGeometry(shape, m, false)
}

// plantedTableEntries is the number of int32 entries (positions × filter entries)
// plantedPositions would allocate, computed without allocating, and the conv layer
// that sets it (nil: the whole sample is one position, already checked as data).
func plantedTableEntries(shape []int, m *ir.Model) (int64, *ir.Layer) {
	_, e, conv := plantedGeometry(shape, m, true)
	return int64(e), conv
}

// plantedGeometry is plantedPositions; with sizeOnly it returns (nil, K·h, conv)
// for a convolution (or the whole-sample table) without allocating.
func plantedGeometry(shape []int, m *ir.Model, sizeOnly bool) ([][]int32, int, *ir.Layer) {
	size := 1
	for _, v := range shape {
		size *= v
	}
	whole := func() ([][]int32, int, *ir.Layer) {
		if sizeOnly {
			return nil, size, nil
		}
		pos := make([]int32, size)
		for q := range pos {
			pos[q] = int32(q)
		}
		return [][]int32{pos}, size, nil
	}
	if m == nil || len(m.Layers) < 2 {
		return whole()
	}
	conv := m.Layers[1]
	if conv.Kind != ir.Conv && conv.Kind != ir.CircConv {
		return whole()
	}
	in := []int(shape)
	if len(in) == 1 {
		in = []int{1, in[0]}
	}
	if len(in) != 2 && len(in) != 3 || len(conv.Kernel) != len(in)-1 {
		return whole()
	}
	C := in[0]
	H, W := 1, in[1]
	kh, kw := 1, conv.Kernel[0]
	sh, sw, ph, pw := 1, 1, 0, 0
	circ := conv.Kind == ir.CircConv
	get := func(v []int, i, def int) int {
		if i < len(v) && v[i] > 0 {
			return v[i]
		}
		return def
	}
	if len(in) == 3 {
		H, W = in[1], in[2]
		kh, kw = conv.Kernel[0], conv.Kernel[1]
		sh, sw = get(conv.Stride, 0, 1), get(conv.Stride, 1, 1)
		if len(conv.Padding) == 2 {
			ph, pw = conv.Padding[0], conv.Padding[1]
		}
	} else {
		sw = get(conv.Stride, 0, 1)
		if len(conv.Padding) == 1 {
			pw = conv.Padding[0]
		}
	}
	var oh, ow int
	if circ {
		sh, sw = 1, 1
		ph, pw = (kh-1)/2, (kw-1)/2
		if len(in) == 2 {
			ph = 0
		}
		oh, ow = H, W
	} else {
		oh, ow = (H+2*ph-kh)/sh+1, (W+2*pw-kw)/sw+1
	}
	if oh <= 0 || ow <= 0 {
		return whole()
	}
	h := C * kh * kw
	if sizeOnly {
		return nil, oh * ow * h, conv
	}
	out := make([][]int32, 0, oh*ow)
	for a := 0; a < oh; a++ {
		for b := 0; b < ow; b++ {
			pos := make([]int32, 0, h)
			for c := 0; c < C; c++ {
				for dr := 0; dr < kh; dr++ {
					for dc := 0; dc < kw; dc++ {
						r, q := a*sh+dr-ph, b*sw+dc-pw
						if circ {
							r, q = ((r%H)+H)%H, ((q%W)+W)%W
						}
						if r < 0 || r >= H || q < 0 || q >= W {
							pos = append(pos, -1)
							continue
						}
						pos = append(pos, int32((c*H+r)*W+q))
					}
				}
			}
			out = append(out, pos)
		}
	}
	return out, h, conv
}

// plantedWeights returns the output weights c_k (see planted): the model's fixed
// output behind its first conv, else 1/K.
func plantedWeights(m *ir.Model, conv *ir.Layer, K int) []float64 {
	c := make([]float64, K)
	for k := range c {
		c[k] = 1 / float64(K)
	}
	if conv == nil || m == nil {
		return c
	}
	rest := m.Layers[conv.Index+1:]
	if len(rest) < 2 || rest[0].Kind != ir.ReLU {
		return c
	}
	out := rest[len(rest)-1]
	if out.Kind != ir.Linear || out.Width != 1 || out.Fixed == nil {
		return c
	}
	v := *out.Fixed
	var pool *ir.Layer
	for _, l := range rest[1 : len(rest)-1] {
		switch l.Kind {
		case ir.AvgPool:
			pool = l
		case ir.Flatten:
		default:
			return c // not the fixed-output architecture
		}
	}
	switch {
	case pool == nil:
		for k := range c {
			c[k] = v
		}
	case pool.Global:
		for k := range c {
			c[k] = v / float64(K)
		}
	default:
		sp := []int(conv.Out[1:])
		for k := range c {
			c[k] = 0
		}
		for _, win := range avgWindows(sp, pool.Kernel, pool.Stride) {
			for _, k := range win {
				c[k] += v / float64(len(win))
			}
		}
	}
	return c
}

// avgWindows lists the positions (row-major over the grid out) of each pooling
// window of size kernel at stride (nil: the kernel), windows row-major.
func avgWindows(out, kernel, stride []int) [][]int {
	if len(out) != len(kernel) || len(out) == 0 || len(out) > 2 {
		return nil
	}
	st := func(i int) int {
		if i < len(stride) && stride[i] > 0 {
			return stride[i]
		}
		return kernel[i]
	}
	H, W, kh, kw, sh, sw := 1, out[0], 1, kernel[0], 1, st(0)
	if len(out) == 2 {
		H, W, kh, kw, sh, sw = out[0], out[1], kernel[0], kernel[1], st(0), st(1)
	}
	var wins [][]int
	for a := 0; a+kh <= H; a += sh {
		for b := 0; b+kw <= W; b += sw {
			var win []int
			for dr := 0; dr < kh; dr++ {
				for dc := 0; dc < kw; dc++ {
					win = append(win, (a+dr)*W+b+dc)
				}
			}
			wins = append(wins, win)
		}
	}
	return wins
}
