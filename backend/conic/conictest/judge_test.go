package conictest

import (
	"math/rand/v2"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// TestJudge builds a problem around a known optimal primal–dual pair (complementary
// s and y in a zero, orthant, second-order and PSD cone) and checks that Judge
// finds every residual at rounding level there, and names the right measure when
// the point is spoiled.
func TestJudge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	k := conic.Cones{Z: 1, L: 2, Q: []int{3}, S: []int{2}}
	m, n := k.Rows(), 4
	// s ∈ K and y ∈ K* with sᵀy = 0 block by block.
	s := []float64{0, 2, 0, 1, 0.6, 0.8, 1, 0, 0}     // PSD: diag(1, 0)
	y := []float64{0.7, 0, 3, 1, -0.6, -0.8, 0, 0, 5} // PSD: diag(0, 5)
	A := randCSC(rng, m, n, 1, true)
	for i := range A.Val {
		A.Val[i] = rng.NormFloat64()
	}
	x := []float64{0.3, -1, 2, 0.5}
	// around makes b = Ax + s and c = −Aᵀy, so (x, y, s) is primal and dual feasible.
	around := func(y []float64) *conic.Problem {
		p := &conic.Problem{M: m, N: n, Cones: k, A: A}
		p.B = append([]float64(nil), s...)
		p.A.MulVec(p.B, x)
		p.C = make([]float64, n)
		p.A.MulTVec(p.C, y)
		for i := range p.C {
			p.C[i] = -p.C[i]
		}
		return p
	}
	p := around(y)
	res, err := Judge(p, Result{X: x, Y: y, S: s})
	if err != nil {
		t.Fatal(err)
	}
	if res.Max() > 1e-14 {
		t.Fatalf("optimal pair: %s", res)
	}
	spoil := func(what string, f func(x, y, s []float64), get func(Residuals) float64) {
		x2, y2, s2 := append([]float64(nil), x...), append([]float64(nil), y...), append([]float64(nil), s...)
		f(x2, y2, s2)
		r, err := Judge(p, Result{X: x2, Y: y2, S: s2})
		if err != nil {
			t.Fatal(err)
		}
		if get(r) < 1e-3 {
			t.Errorf("%s: %s, want that measure ≥ 1e-3", what, r)
		}
	}
	spoil("x moved", func(x, y, s []float64) { x[0] += 0.1 }, func(r Residuals) float64 { return r.Primal })
	spoil("y moved", func(x, y, s []float64) { y[0] += 0.1 }, func(r Residuals) float64 { return r.Dual })
	spoil("s negative", func(x, y, s []float64) { s[2] = -0.1 }, func(r Residuals) float64 { return r.ConeS })
	spoil("y outside the SOC", func(x, y, s []float64) { y[3] = 0.5 }, func(r Residuals) float64 { return r.ConeY })
	spoil("s not PSD", func(x, y, s []float64) { s[8] = -0.5 }, func(r Residuals) float64 { return r.ConeS })
	spoil("zero-cone slack", func(x, y, s []float64) { s[0] = 0.2 }, func(r Residuals) float64 { return r.ConeS })
	// Feasible but not complementary (y₂ = 1 > 0 beside s₂ = 2): only the gap sᵀy = 2 shows.
	y2 := append([]float64(nil), y...)
	y2[1] = 1
	if r, err := Judge(around(y2), Result{X: x, Y: y2, S: s}); err != nil || r.Gap < 0.1 || r.Primal+r.Dual+r.ConeS+r.ConeY > 1e-14 {
		t.Errorf("feasible, not complementary: %s (%v)", r, err)
	}
	if _, err := Judge(p, Result{X: x}); err == nil {
		t.Error("a point without y and s was judged")
	}
}
