package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Generators lists the synthetic generators and the keys each accepts, for the
// checker and for error messages. Every generator is deterministic given `seed`.
var Generators = map[string][]string{
	"planted": {"n", "seed", "noise", "d", "kernel", "stride", "width"},
	"spiral":  {"n", "seed", "noise", "turns"},
}

// Teacher is the planted network behind a `planted` data set.
type Teacher struct {
	// Kernel and Stride are per spatial dimension of the input (nil for a vector
	// input, where the teacher is a two-layer fully connected ReLU network).
	Kernel, Stride []int
	// Patches is K, the number of patches per sample (1 for a vector input).
	Patches int
	// W[j] is filter (or hidden neuron) j, unit norm, flattened in (C, kh, kw)
	// row-major order — the layout of a conv weight [F, C, kh, kw].
	W [][]float64
	// A[j] is the output weight of filter j: +1, −1, +1, … (alternating).
	A []float64
}

// seedStream is the second PCG word; the first is the `seed` parameter.
const seedStream = 0x9e3779b97f4a7c15

// newRand returns the generator's random source: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)).
func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), seedStream))
}

// synthetic dispatches `synthetic NAME key=value…`.
func (l *loader) synthetic() *raw {
	src := l.d.Source
	rg := l.srcRange()
	keys, ok := Generators[src.Generator]
	if !ok {
		var names []string
		for k := range Generators {
			names = append(names, k)
		}
		sort.Strings(names)
		l.errf(CodeGenerator, rg, "Known generators: "+strings.Join(names, ", ")+".", "unknown synthetic generator %q", src.Generator)
		return nil
	}
	var bad []string
	for k := range src.Params {
		found := false
		for _, a := range keys {
			found = found || a == k
		}
		if !found {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		l.errf(CodeGenParam, rg, fmt.Sprintf("synthetic %s accepts: %s.", src.Generator, strings.Join(keys, ", ")), "synthetic %s: unknown parameter %s", src.Generator, strings.Join(bad, ", "))
		return nil
	}
	p := params{l: l, gen: src.Generator, m: src.Params}
	switch src.Generator {
	case "planted":
		return p.planted(l.shape)
	default:
		return p.spiral()
	}
}

// params reads and validates generator parameters.
type params struct {
	l   *loader
	gen string
	m   map[string]float64
}

func (p params) bad(key string, v float64, want string) {
	p.l.errf(CodeGenParam, p.l.srcRange(), "", "synthetic %s: %s=%g must be %s", p.gen, key, v, want)
}

// integer returns m[key] (def when absent), which must be an integer ≥ lo and ≤ hi.
func (p params) integer(key string, def, lo, hi int64) (int64, bool) {
	v, ok := p.m[key]
	if !ok {
		return def, true
	}
	if v != math.Trunc(v) || v < float64(lo) || v > float64(hi) {
		p.bad(key, v, fmt.Sprintf("an integer in [%d, %d]", lo, hi))
		return 0, false
	}
	return int64(v), true
}

// real returns m[key] (def when absent), finite and ≥ lo (> lo when strict).
func (p params) real(key string, def, lo float64, strict bool) (float64, bool) {
	v, ok := p.m[key]
	if !ok {
		return def, true
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || (strict && v == lo) {
		rel := "≥"
		if strict {
			rel = ">"
		}
		p.bad(key, v, fmt.Sprintf("a finite number %s %g", rel, lo))
		return 0, false
	}
	return v, true
}

// planted generates the planted-filter model (§11, docs/math/11-fixed-output.md; the harness
// described there), deterministic given seed:
//
//	parameters  n (default 100) samples, seed (0), noise (0), and
//	            d — the vector length when no model shape is given;
//	            kernel k (default min(3, spatial sizes)), stride s (default k) for
//	            [C,L] and [C,H,W] inputs; width m (default 1 filter for conv
//	            inputs, 3 hidden neurons for vector inputs).
//	randomness  r = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)); draws in this
//	            order: the m teacher vectors (entries r.NormFloat64(), each then
//	            scaled to unit norm), then for each sample i its entries
//	            x_i ~ N(0, I) in row-major (C, H, W) order followed by one draw
//	            e_i ~ N(0, 1) (drawn even when noise = 0, so X does not depend on
//	            noise).
//	conv input  patches x_{ik} ∈ R^{C·k^s} are the k×k (k for 1-D) windows at
//	            positions 0, s, 2s, … along each spatial axis with no padding,
//	            K of them, flattened in (C, kh, kw) order;
//	            y_i = Σ_j a_j Σ_k (x_{ik}ᵀ w*_j)_+ + noise·e_i.
//	vector      y_i = Σ_j a_j (x_iᵀ w*_j)_+ + noise·e_i (a two-layer ReLU teacher).
//
// with a_j = +1, −1, +1, … The targets are real numbers (Classification false);
// the teacher comes back in Dataset.Teacher.
func (p params) planted(shape []int) *raw {
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
	t := &Teacher{Patches: 1}
	var h int              // teacher vector length
	var patchIdx [][]int32 // patchIdx[k][t]: flat sample index of entry t of patch k
	defWidth := int64(3)
	if len(shape) >= 2 {
		if len(shape) > 3 {
			p.l.errf(CodeGenParam, rg, "Inputs are D, CxL or CxHxW.", "synthetic planted: input shape %s has too many dimensions", fmtDims(shape))
			return nil
		}
		sp := shape[1:]
		kdef := int64(3)
		for _, v := range sp {
			kdef = min(kdef, int64(v))
		}
		k, okK := p.integer("kernel", kdef, 1, int64(sp[0]))
		if okK && len(sp) == 2 && k > int64(sp[1]) {
			p.bad("kernel", float64(k), fmt.Sprintf("at most the spatial size %s", fmtDims(sp)))
			okK = false
		}
		if !okK {
			return nil
		}
		s, okSt := p.integer("stride", k, 1, 1<<20)
		if !okSt {
			return nil
		}
		defWidth = 1
		patchIdx, h = patches(shape, int(k), int(s))
		t.Patches = len(patchIdx)
		for range sp {
			t.Kernel = append(t.Kernel, int(k))
			t.Stride = append(t.Stride, int(s))
		}
	} else {
		for _, key := range []string{"kernel", "stride"} {
			if v, ok := p.m[key]; ok {
				p.l.errf(CodeGenParam, rg, "kernel= and stride= apply to CxL and CxHxW inputs.", "synthetic planted: %s=%g given for a vector input", key, v)
				return nil
			}
		}
		h = size
	}
	m, okW := p.integer("width", defWidth, 1, 1<<12)
	if !okW {
		return nil
	}
	r := newRand(seed)
	for j := 0; j < int(m); j++ {
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
		t.W = append(t.W, w)
		t.A = append(t.A, float64(1-2*(j%2)))
	}
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
		for j, w := range t.W {
			var sj float64
			if patchIdx == nil {
				sj = math.Max(0, dot(x, w))
			} else {
				for _, idx := range patchIdx {
					var z float64
					for q, at := range idx {
						z += x[at] * w[q]
					}
					sj += math.Max(0, z)
				}
			}
			yi += t.A[j] * sj
		}
		y[i] = yi + noise*e
	}
	desc := fmt.Sprintf("synthetic planted n=%d seed=%d noise=%g width=%d", n, seed, noise, m)
	if t.Kernel != nil {
		desc += fmt.Sprintf(" kernel=%d stride=%d patches=%d", t.Kernel[0], t.Stride[0], t.Patches)
	}
	return &raw{
		n: N, shape: append([]int(nil), shape...), feat: &f64rows{p: size, v: X}, y: y, yc: 1,
		where:   func(i int) string { return fmt.Sprintf("generated sample %d", i) },
		source:  desc,
		teacher: t,
	}
}

// patches lists, for a [C, L] or [C, H, W] sample, the flat indices of each
// k-wide (k×k) window at stride s, no padding, windows in row-major order of their
// top-left corner, entries in (C, kh, kw) order. It returns the windows and the
// patch length C·k^(spatial dims).
func patches(shape []int, k, s int) ([][]int32, int) {
	C := shape[0]
	H, W := 1, shape[1]
	kh := 1
	if len(shape) == 3 {
		H, W, kh = shape[1], shape[2], k
	}
	var out [][]int32
	for r0 := 0; r0+kh <= H; r0 += s {
		for c0 := 0; c0+k <= W; c0 += s {
			idx := make([]int32, 0, C*kh*k)
			for c := 0; c < C; c++ {
				for dr := 0; dr < kh; dr++ {
					for dc := 0; dc < k; dc++ {
						idx = append(idx, int32((c*H+r0+dr)*W+c0+dc))
					}
				}
			}
			out = append(out, idx)
		}
		if len(shape) == 2 {
			break
		}
	}
	return out, C * kh * k
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// spiral generates two interleaved spirals in the plane, deterministic given seed:
//
//	parameters  n (default 100) samples, seed (0), noise (0), turns (1.5).
//	rows        row i belongs to class c = i mod 2 (so any `limit` stays balanced)
//	            and is the j-th point of its arm, j = ⌊i/2⌋, of m_c = the number
//	            of rows of class c;
//	            t = (j + 1)/m_c ∈ (0, 1], θ = 2π·turns·t + π·c,
//	            x = t·(cos θ, sin θ) + noise·(e₁, e₂),
//	            with e₁, e₂ ~ N(0, 1) drawn in row order from
//	            rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) (always drawn).
//	targets     class 0 → −1, class 1 → +1 (as `classes 0 1`; Classification true,
//	            Labels 0/1, Classes [0 1]).
func (p params) spiral() *raw {
	n, ok1 := p.integer("n", 100, 2, MaxElements/2)
	seed, ok2 := p.integer("seed", 0, math.MinInt64/2, math.MaxInt64/2)
	noise, ok3 := p.real("noise", 0, 0, false)
	turns, ok4 := p.real("turns", 1.5, 0, true)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil
	}
	N := int(n)
	m := [2]int{(N + 1) / 2, N / 2}
	r := newRand(seed)
	X := make([]float64, 2*N)
	y := make([]float64, N)
	labels := make([]int, N)
	for i := 0; i < N; i++ {
		c := i % 2
		t := float64(i/2+1) / float64(m[c])
		th := 2*math.Pi*turns*t + math.Pi*float64(c)
		e1, e2 := r.NormFloat64(), r.NormFloat64()
		X[2*i] = t*math.Cos(th) + noise*e1
		X[2*i+1] = t*math.Sin(th) + noise*e2
		y[i] = float64(2*c - 1)
		labels[i] = c
	}
	return &raw{
		n: N, shape: []int{2}, feat: &f64rows{p: 2, v: X}, y: y, yc: 1,
		labels: labels, classes: []int{0, 1},
		where:  func(i int) string { return fmt.Sprintf("generated sample %d", i) },
		source: fmt.Sprintf("synthetic spiral n=%d seed=%d noise=%g turns=%g", n, seed, noise, turns),
	}
}
