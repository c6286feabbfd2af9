package certify

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic/conictest"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/compiler/canon"
	"github.com/cnnc-org/cnnc/compiler/derive"

	"gonum.org/v1/gonum/mat"
)

// TestConeMaxBruteForce: ConeMax against dense sampling of the cone ∩ sphere (the max
// over samples can only be ≤ the true max, and comes within 1e-2 of it in R³), and its
// maximiser lies in the cone.
func TestConeMaxBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 20; trial++ {
		h, m := 3, 6
		M := mat.NewDense(m, h, nil)
		for i := 0; i < m; i++ {
			for j := 0; j < h; j++ {
				M.Set(i, j, rng.NormFloat64())
			}
		}
		// make the cone nonempty: flip rows so that a random point is inside
		c := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		for i := 0; i < m; i++ {
			if mat.Dot(M.RowView(i), mat.NewVecDense(h, c)) < 0 {
				for j := 0; j < h; j++ {
					M.Set(i, j, -M.At(i, j))
				}
			}
		}
		g := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		val, u, _, ok := ConeMax(g, M)
		if !ok {
			t.Fatalf("trial %d: not converged", trial)
		}
		if val == 0 {
			continue
		}
		mu := mat.NewVecDense(m, nil)
		mu.MulVec(M, mat.NewVecDense(h, u))
		for i := 0; i < m; i++ {
			if mu.AtVec(i) < -1e-9 {
				t.Fatalf("trial %d: maximiser outside the cone (row %d: %g)", trial, i, mu.AtVec(i))
			}
		}
		if val > 0 && math.Abs(mat.Dot(mat.NewVecDense(h, g), mat.NewVecDense(h, u))-val) > 1e-9 {
			t.Fatalf("trial %d: gᵀu ≠ value", trial)
		}
		best := 0.0
		x := make([]float64, h)
		for k := 0; k < 200000; k++ {
			for j := range x {
				x[j] = rng.NormFloat64()
			}
			nx := norm(x)
			in := true
			for i := 0; i < m && in; i++ {
				in = mat.Dot(M.RowView(i), mat.NewVecDense(h, x)) >= 0
			}
			if in {
				best = math.Max(best, mat.Dot(mat.NewVecDense(h, g), mat.NewVecDense(h, x))/nx)
			}
		}
		if best > val+1e-9 || val-best > 2e-2*math.Max(1, val) {
			t.Errorf("trial %d: ConeMax %.6f, sampled max %.6f", trial, val, best)
		}
	}
}

// TestRatioOneGroupLasso: one unconstrained block with all samples active is the group
// lasso min ½‖Xu − y‖² + β‖u‖, whose solution u = (XᵀX + (β/t) I)⁻¹Xᵀy with t = ‖u‖
// is found here by bisection on t to machine precision; there KKT gives
// ‖Xᵀ(y − Xu)‖ = β, so the certificate ratio is 1.
func TestRatioOneGroupLasso(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	n, h := 10, 3
	X := mat.NewDense(n, h, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < h; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		y[i] = rng.NormFloat64()
	}
	beta := 0.5
	solveFor := func(tn float64) *mat.VecDense {
		var G mat.Dense
		G.Mul(X.T(), X)
		for j := 0; j < h; j++ {
			G.Set(j, j, G.At(j, j)+beta/tn)
		}
		var b, u mat.VecDense
		b.MulVec(X.T(), mat.NewVecDense(n, y))
		if err := u.SolveVec(&G, &b); err != nil {
			t.Fatal(err)
		}
		return &u
	}
	lo, hi := 1e-12, 1e6
	for it := 0; it < 200; it++ { // ‖u(t)‖ − t is decreasing in t
		mid := math.Sqrt(lo * hi)
		if mat.Norm(solveFor(mid), 2) > mid {
			lo = mid
		} else {
			hi = mid
		}
	}
	u := solveFor(lo)
	ones := mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		ones.Set(i, 0, 1)
	}
	sample := make([]int, n)
	for i := range sample {
		sample[i] = i
	}
	f := &convex.Family{Name: "u", H: h, A: X, Sample: sample, Weight: convex.MustDenseWeights(ones), Signs: []float64{1}, Cost: convex.Cost{Kind: convex.CostL2}}
	p := &convex.Program{Loss: "squared", Y: y, N: n, Beta: beta, Families: []*convex.Family{f}}
	sol := &convex.Solution{Blocks: [][]*mat.Dense{{mat.NewDense(1, h, append([]float64(nil), u.RawVector().Data...))}}}
	c, err := Certify(p, p.Predict(sol), nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.Ratio-1) > 1e-6 {
		t.Errorf("ratio %.12f at the exact group-lasso optimum, want 1", c.Ratio)
	}
	// the dual bound equals the optimum (strong duality)
	if obj := p.Objective(sol); math.Abs(c.LowerBound-obj) > 1e-6*obj {
		t.Errorf("lower bound %.12f, optimum %.12f", c.LowerBound, obj)
	}
}

// TestCertificateFC: at CVXOPT's optimum of an exact-pattern FC problem the ratio is 1
// (to the interior-point accuracy, 1e-3) and the lower bound is ≤ the optimum and close
// to it; at a suboptimal point (the optimum scaled by ½) the ratio exceeds 1 and the bound
// is still ≤ the optimum; β_max makes the zero network optimal.
func TestCertificateFC(t *testing.T) {
	t.Setenv("OMP_NUM_THREADS", "1")
	t.Setenv("CNNC_CVXOPT_TOL", "1e-9")
	rng := rand.New(rand.NewSource(9))
	n := 9
	X := mat.NewDense(n, 1, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		X.Set(i, 0, rng.NormFloat64())
		y[i] = math.Abs(X.At(i, 0)) - 0.5 + 0.1*rng.NormFloat64()
	}
	A := derive.DesignMatrix(X, true)
	s, err := pattern.Exact(A, 1000)
	if err != nil {
		t.Fatal(err)
	}
	p := &convex.Program{Loss: "squared", Y: y, N: n, Beta: 0.05, Families: []*convex.Family{derive.FCFamily(A, s, 1, false)}}
	prob, m, err := canon.Canonicalize(p)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := conictest.SolveCVXOPT(t, prob)
	if !ok {
		return
	}
	sol := m.Solution(res.X)
	opt := p.Objective(sol)
	c, err := Certify(p, p.Predict(sol), nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.Ratio-1) > 1e-3 {
		t.Errorf("ratio %.8f at the optimum", c.Ratio)
	}
	if c.LowerBound > opt+1e-7 || opt-c.LowerBound > 1e-4*opt {
		t.Errorf("bound %.10f vs optimum %.10f", c.LowerBound, opt)
	}
	half := p.Predict(sol)
	for i := range half {
		half[i] *= 0.5
	}
	c2, _ := Certify(p, half, nil)
	if c2.Ratio <= 1.01 || c2.LowerBound > opt+1e-7 {
		t.Errorf("suboptimal point: ratio %.6f, bound %.10f (optimum %.10f)", c2.Ratio, c2.LowerBound, opt)
	}
	bmax, err := BetaMax(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	// at β = β_max the zero network is optimal: its certificate ratio is 1 and the dual
	// bound equals its objective ½‖y‖²
	p.Beta = bmax
	c3, _ := Certify(p, make([]float64, n), nil)
	yy := 0.0
	for _, v := range y {
		yy += v * v
	}
	if math.Abs(c3.Ratio-1) > 1e-12 || math.Abs(c3.LowerBound-0.5*yy) > 1e-12*yy {
		t.Errorf("β_max: ratio %.12f, bound %.12f vs ½‖y‖² %.12f", c3.Ratio, c3.LowerBound, 0.5*yy)
	}
}
