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
	"planted": {"n", "seed", "noise", "d"},
	"spiral":  {"n", "seed", "noise", "turns"},
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
		return p.planted(l.shape, l.model)
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
