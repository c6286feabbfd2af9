package certify

import (
	"fmt"
	"math/rand"
	"sort"

	"cnnc/compiler/convex"
	"cnnc/compiler/pattern"

	"gonum.org/v1/gonum/mat"
)

// Candidate is a pattern that violates the dual constraint: Value = max_{u ∈ B₂ ∩ 𝒦_D}
// |vᵀ D A u| > β. Gate is a point of the (closed) cone of D: the maximiser u.
type Candidate struct {
	D     []float64
	Gate  []float64
	Value float64
}

// SearchOptions controls Search.
type SearchOptions struct {
	// Full, when non-nil, is the exact arrangement: every pattern of it is checked and
	// the search is exhaustive (the certificate is then global).
	Full *pattern.Set
	// Samples is the number of seeded Gaussian gates to try (default 2000); Seed seeds them.
	Samples int
	Seed    int64
	// Ascent is the number of local-ascent steps from each of the 10 best sampled
	// patterns (default 20).
	Ascent int
	// Tol: a pattern violates when its value exceeds β·(1 + Tol) (default 1e-6).
	Tol float64
}

// SearchStats records the effort of a search.
type SearchStats struct {
	Evaluations int     // patterns evaluated (each: both signs)
	Exhaustive  bool    // every pattern of the arrangement was checked
	Max         float64 // the largest value found over the new patterns (0 if none)
}

// Search looks for patterns of family f of p (an FC-layout family: A = C, Sample[r] = r)
// that are not in have and violate the dual constraint at ŷ; it returns them with the
// largest value first.
//
// The search: with o.Full, every pattern of the exact arrangement (exhaustive). Otherwise
// (large rank, where enumeration is impossible): (1) o.Samples seeded Gaussian gates g,
// pattern D = 1[A g ≥ 0]; (2) local ascent on the certificate objective from the 10
// best: from pattern D with maximiser u on the faces J (rows with a positive multiplier in
// ConeMax), try the neighbouring patterns across each face (D with row j ∈ J flipped) and
// the pattern 1[A u ≥ 0] of the maximiser itself, move to the best if it improves, for
// at most o.Ascent steps. Every pattern evaluated is exact (ConeMax); only the coverage
// of the arrangement is heuristic, so a search that finds nothing proves optimality only
// when Exhaustive is true.
func Search(p *convex.Program, yhat []float64, f int, have *pattern.Set, o SearchOptions) ([]Candidate, SearchStats, error) {
	var st SearchStats
	if err := supported(p); err != nil {
		return nil, st, err
	}
	if f < 0 || f >= len(p.Families) {
		return nil, st, fmt.Errorf("certify: no family %d", f)
	}
	fam := p.Families[f]
	n, h := fam.A.Dims()
	if n != p.N || (fam.C != nil && fam.C != fam.A) {
		return nil, st, fmt.Errorf("certify: adaptive search needs an FC-layout family (A = C = X); family %s is not", fam.Name)
	}
	for r, s := range fam.Sample {
		if s != r {
			return nil, st, fmt.Errorf("certify: adaptive search needs Sample[r] = r")
		}
	}
	if o.Samples <= 0 {
		o.Samples = 2000
	}
	if o.Ascent <= 0 {
		o.Ascent = 20
	}
	if o.Tol <= 0 {
		o.Tol = 1e-6
	}
	v := Residual(p, yhat)
	thr := p.Beta * (1 + o.Tol)
	seen := map[string]bool{}
	var found []Candidate
	type eval struct {
		val    float64
		u      []float64
		active []int
	}
	evaluate := func(D []float64) eval {
		st.Evaluations++
		single := &convex.Family{A: fam.A, C: fam.C, Sample: fam.Sample, Signs: fam.Signs, H: h}
		single.Weight = colMatrix(D)
		if fam.C != nil {
			sg := make([]float64, n)
			for i, d := range D {
				sg[i] = 2*d - 1
			}
			single.Sign = colMatrix(sg)
		}
		g := Gradient(single, 0, v)
		M := ConeRows(single, 0)
		best := eval{}
		for _, s := range signsOf(single) {
			gs := append([]float64(nil), g...)
			for k := range gs {
				gs[k] *= s
			}
			if norm(gs) <= best.val {
				continue
			}
			val, u, act, _ := ConeMax(gs, M)
			if val > best.val {
				best = eval{val, u, act}
			}
		}
		if best.val > st.Max {
			st.Max = best.val
		}
		if best.val > thr {
			found = append(found, Candidate{D: append([]float64(nil), D...), Gate: best.u, Value: best.val})
		}
		return best
	}
	consider := func(D []float64) (eval, bool) {
		k := keyOf(D)
		if seen[k] || allZero(D) || (have != nil && have.Has(D)) {
			return eval{}, false
		}
		seen[k] = true
		return evaluate(D), true
	}
	if o.Full != nil {
		for q := 0; q < o.Full.Len(); q++ {
			consider(o.Full.Pattern(q))
		}
		st.Exhaustive = o.Full.Exhaustive
	} else {
		rng := rand.New(rand.NewSource(o.Seed))
		type start struct {
			D []float64
			e eval
		}
		var starts []start
		g := make([]float64, h)
		for k := 0; k < o.Samples; k++ {
			for j := range g {
				g[j] = rng.NormFloat64()
			}
			D := pattern.Of(fam.A, g)
			if e, ok := consider(D); ok {
				starts = append(starts, start{D, e})
			}
		}
		sort.SliceStable(starts, func(i, j int) bool { return starts[i].e.val > starts[j].e.val })
		if len(starts) > 10 {
			starts = starts[:10]
		}
		for _, s := range starts {
			D, e := s.D, s.e
			for step := 0; step < o.Ascent && e.u != nil; step++ {
				bestD, bestE := []float64(nil), e
				try := func(D2 []float64) {
					if e2, ok := consider(D2); ok && e2.val > bestE.val {
						bestD, bestE = D2, e2
					}
				}
				try(pattern.Of(fam.A, e.u))
				if fam.C != nil {
					for _, j := range e.active {
						D2 := append([]float64(nil), D...)
						D2[j] = 1 - D2[j]
						try(D2)
					}
				}
				if bestD == nil {
					break
				}
				D, e = bestD, bestE
			}
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Value > found[j].Value })
	return found, st, nil
}

func colMatrix(d []float64) *mat.Dense {
	return mat.NewDense(len(d), 1, append([]float64(nil), d...))
}

func keyOf(d []float64) string {
	b := make([]byte, len(d))
	for i, v := range d {
		b[i] = '0'
		if v != 0 {
			b[i] = '1'
		}
	}
	return string(b)
}

func allZero(d []float64) bool {
	for _, v := range d {
		if v != 0 {
			return false
		}
	}
	return true
}
