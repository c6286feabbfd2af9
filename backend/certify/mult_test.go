package certify

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/compiler/derive"

	"gonum.org/v1/gonum/mat"
)

// TestCertifyDualMult checks the multiplier bound against the cone maximisation on a
// random FC program: with no multipliers it is the gradient-norm bound
// (CertifyDualNorms); with the active-set multipliers of ConeMax it is within a
// rounding margin of CertifyDual's bound; with arbitrary nonnegative multipliers it
// never falls below the exact cone maximum (it is an upper bound), and a multiplier
// list that is malformed is refused.
func TestCertifyDualMult(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	n, d := 40, 4
	X := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		y[i] = rng.NormFloat64()
	}
	A := derive.DesignMatrix(X, true)
	s := pattern.Sample(A, 30, 3)
	p := &convex.Program{Loss: "squared", Y: y, N: n, Beta: 0.05, Families: []*convex.Family{derive.FCFamily(A, s, 1, false)}}
	lam := make([]float64, n)
	for i := range lam {
		lam[i] = 0.3 * rng.NormFloat64()
	}
	full, err := CertifyDual(p, lam, nil)
	if err != nil {
		t.Fatal(err)
	}
	norms, err := CertifyDualNorms(p, lam, nil)
	if err != nil {
		t.Fatal(err)
	}
	none, err := CertifyDualMult(p, lam, nil)
	if err != nil {
		t.Fatal(err)
	}
	if none.Max != norms.Max || none.LowerBound != norms.LowerBound {
		t.Errorf("no multipliers: max %.17g bound %.17g, gradient-norm certificate %.17g %.17g", none.Max, none.LowerBound, norms.Max, norms.LowerBound)
	}
	// the active-set multipliers of every pattern and sign, and random ones
	f := p.Families[0]
	var best, random []BlockMult
	exact := 0.0 // the largest cone maximum (NNLS value, not a bound)
	for q := 0; q < f.Patterns(); q++ {
		var rows []int
		f.Sign.On.Each(q, func(r int) { rows = append(rows, r) })
		M := ConeRows(f, q)
		g := Gradient(f, q, lam)
		for _, sg := range []float64{1, -1} {
			gs := make([]float64, len(g))
			for k := range g {
				gs[k] = sg * g[k]
			}
			val, u, active, ok := ConeMax(gs, M)
			if !ok {
				t.Fatalf("pattern %d: ConeMax failed", q)
			}
			exact = math.Max(exact, val)
			bm := BlockMult{Family: 0, Pattern: q, Sign: sg}
			if len(active) > 0 {
				r := make([]float64, d+1)
				for k := range r {
					r[k] = val*u[k] - gs[k]
				}
				mu := activeMultipliers(M, active, r)
				for a, j := range active {
					bm.Rows, bm.Mu = append(bm.Rows, rows[j]), append(bm.Mu, mu[a])
				}
			}
			best = append(best, bm)
			rm := BlockMult{Family: 0, Pattern: q, Sign: sg}
			for _, r := range rows {
				if rng.Intn(3) == 0 {
					rm.Rows, rm.Mu = append(rm.Rows, r), append(rm.Mu, math.Abs(rng.NormFloat64()))
				}
			}
			random = append(random, rm)
		}
	}
	got, err := CertifyDualMult(p, lam, best)
	if err != nil {
		t.Fatal(err)
	}
	if got.Max < exact || got.Max > full.Max*(1+1e-9) {
		t.Errorf("active-set multipliers: max %.15g, cone maximum %.15g, CertifyDual's bound %.15g", got.Max, exact, full.Max)
	}
	if got.LowerBound < full.LowerBound-1e-9*math.Abs(full.LowerBound) || got.Max >= none.Max {
		t.Errorf("active-set multipliers: bound %.15g, CertifyDual %.15g (max %.6g vs gradient norms %.6g)", got.LowerBound, full.LowerBound, got.Max, none.Max)
	}
	rnd, err := CertifyDualMult(p, lam, random)
	if err != nil {
		t.Fatal(err)
	}
	if rnd.Max < exact || rnd.Max > none.Max {
		t.Errorf("random multipliers: max %.15g outside [cone maximum %.15g, gradient norms %.15g]", rnd.Max, exact, none.Max)
	}
	for _, bad := range [][]BlockMult{
		{{Family: 1, Pattern: 0, Sign: 1}},
		{{Family: 0, Pattern: f.Patterns(), Sign: 1}},
		{{Family: 0, Pattern: 0, Sign: 1, Rows: []int{0}, Mu: []float64{-1}}},
		{{Family: 0, Pattern: 0, Sign: 1, Rows: []int{n}, Mu: []float64{1}}},
		{{Family: 0, Pattern: 0, Sign: 1, Rows: []int{0}, Mu: nil}},
	} {
		if _, err := CertifyDualMult(p, lam, bad); err == nil {
			t.Errorf("multipliers %+v accepted", bad)
		}
	}
}

// TestGradientsAll: the chunked products agree with Gradient pattern by pattern, the
// difference is within the two computations' rounding bounds, and the error bound is
// gradientErr's (rows across several chunks, chunk boundaries inside mask words'
// ranges, row weights other than 1, several rows per sample).
func TestGradientsAll(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	np, h, P, n := 3*gradChunk+517, 5, 7, 1000
	A := mat.NewDense(np, h, nil)
	row := make([]float64, np)
	sample := make([]int, np)
	for r := 0; r < np; r++ {
		for k := 0; k < h; k++ {
			A.Set(r, k, rng.NormFloat64())
		}
		row[r] = 0.5 + rng.Float64()
		sample[r] = rng.Intn(n)
	}
	w := convex.NewPatternWeights(np, row)
	for q := 0; q < P; q++ {
		frac := rng.Float64()
		w.Mask.AppendCol(func(int) bool { return rng.Float64() < frac })
	}
	f := &convex.Family{H: h, A: A, Sample: sample, Weight: w, Signs: []float64{1}}
	lam := make([]float64, n)
	for i := range lam {
		lam[i] = rng.NormFloat64()
	}
	an := rowNormsUp(A)
	G, ge := gradientsAll(f, lam, an)
	if len(G) != P {
		t.Fatalf("%d gradients for %d patterns", len(G), P)
	}
	for q := 0; q < P; q++ {
		g := Gradient(f, q, lam)
		e := gradientErr(f, q, lam, an)
		if math.Abs(ge[q]-e) > 1e-12*e {
			t.Errorf("pattern %d: error bound %.17g, gradientErr %.17g", q, ge[q], e)
		}
		d := 0.0
		for k := range g {
			d += (g[k] - G[q][k]) * (g[k] - G[q][k])
		}
		if math.Sqrt(d) > ge[q]+e || math.Sqrt(d) > 1e-10*NormUp(g) {
			t.Errorf("pattern %d: ‖difference‖ %.3g, bounds %.3g + %.3g", q, math.Sqrt(d), ge[q], e)
		}
	}
}
