package anchored

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/native/cone"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// planted builds the §11 planted instance of the package tests: a signal of length
// d with N(0,1) entries, patches of length h at the given stride (K of them), a
// unit-norm hidden filter w*, c = 1/K, y = Σ_k c_k (x_ikᵀw*)_+ + σ e_i; the anchor is
// the least-squares fit of y on [Σ_k c_k x_ik, 1] (its first h entries).
func planted(n, d, h, stride int, sigma float64, seed uint64) (*convex.Anchored, []float64, []float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	K := (d-h)/stride + 1
	S := make([]float64, n*d)
	for i := range S {
		S[i] = r.NormFloat64()
	}
	w0 := make([]float64, h)
	nrm := 0.0
	for j := range w0 {
		w0[j] = r.NormFloat64()
		nrm += w0[j] * w0[j]
	}
	for j := range w0 {
		w0[j] /= math.Sqrt(nrm)
	}
	X := mat.NewDense(n*K, h, nil)
	for k := 0; k < K; k++ {
		for i := 0; i < n; i++ {
			copy(X.RawRowView(k*n+i), S[i*d+k*stride:i*d+k*stride+h])
		}
	}
	c := make([]float64, K)
	for k := range c {
		c[k] = 1 / float64(K)
	}
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for k := 0; k < K; k++ {
			y[i] += c[k] * math.Max(0, dot(X.RawRowView(k*n+i), w0))
		}
		y[i] += sigma * r.NormFloat64()
	}
	// anchor: least squares on [Z, 1]
	Z := mat.NewDense(n, h+1, nil)
	for i := 0; i < n; i++ {
		for k := 0; k < K; k++ {
			axpy(c[k], X.RawRowView(k*n+i), Z.RawRowView(i)[:h])
		}
		Z.Set(i, h, 1)
	}
	var coef mat.VecDense
	if err := coef.SolveVec(Z, mat.NewVecDense(n, y)); err != nil {
		panic(err)
	}
	a := make([]float64, h)
	for j := range a {
		a[j] = coef.AtVec(j)
	}
	eps := sigma * math.Sqrt(float64(n))
	return &convex.Anchored{K: K, H: h, X: X, C: c, Anchor: a, Eps: eps}, y, w0
}

// conicOf builds the conic form of the package doc by hand (the rows of prob).
func conicOf(a *convex.Anchored, y []float64) *conic.Problem {
	pr := newProb(a, y)
	// dense-by-columns via G applied to unit vectors is fine for test sizes
	A := conic.CSC{M: pr.m, N: pr.nx, ColPtr: make([]int, pr.nx+1)}
	e := make([]float64, pr.nx)
	col := make([]float64, pr.m)
	for j := 0; j < pr.nx; j++ {
		e[j] = 1
		pr.mulG(e, col)
		e[j] = 0
		for i, v := range col {
			if v != 0 {
				A.RowIdx = append(A.RowIdx, i)
				A.Val = append(A.Val, v)
			}
		}
		A.ColPtr[j+1] = len(A.Val)
	}
	q := []int{}
	if pr.soc {
		q = []int{pr.n + 1}
	}
	return &conic.Problem{M: pr.m, N: pr.nx, A: A, B: append([]float64(nil), pr.hv...), C: append([]float64(nil), pr.cost...),
		Cones: conic.Cones{L: pr.lp, Q: q, S: []int{}}, ObjScale: 1}
}

func dist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

// The structured KKT solve agrees with a dense solve of the same system.
func TestKKTAgainstDense(t *testing.T) {
	for _, eps := range []float64{0, 0.05} {
		a, y, _ := planted(7, 12, 4, 2, eps, 3)
		pr := newProb(a, y)
		nt := newScaling(pr)
		k := newKKT(pr, nt)
		r := rand.New(rand.NewPCG(1, 2))
		// a random interior point and its scaling
		z := make([]float64, pr.m)
		yy := make([]float64, pr.m)
		for i := range z {
			z[i] = 0.1 + r.Float64()
			yy[i] = 0.1 + r.Float64()
		}
		if pr.soc {
			z[pr.lp] += 3 * math.Sqrt(float64(pr.n))
			yy[pr.lp] += 3 * math.Sqrt(float64(pr.n))
		}
		lam := make([]float64, pr.m)
		if !nt.update(z, yy, lam) {
			t.Fatal("update left the interior")
		}
		if err := k.factor(); err != nil {
			t.Fatal(err)
		}
		bx := make([]float64, pr.nx)
		by := make([]float64, pr.m)
		for i := range bx {
			bx[i] = r.NormFloat64()
		}
		for i := range by {
			by[i] = r.NormFloat64()
		}
		dx := make([]float64, pr.nx)
		dy := make([]float64, pr.m)
		k.solve(bx, by, dx, dy)
		// dense: [0 Gᵀ; G −Ĥ]
		N := pr.nx + pr.m
		Kd := mat.NewDense(N, N, nil)
		e := make([]float64, pr.nx)
		col := make([]float64, pr.m)
		for j := 0; j < pr.nx; j++ {
			e[j] = 1
			pr.mulG(e, col)
			e[j] = 0
			for i, v := range col {
				Kd.Set(pr.nx+i, j, v)
				Kd.Set(j, pr.nx+i, v)
			}
		}
		ei := make([]float64, pr.m)
		hc := make([]float64, pr.m)
		for i := 0; i < pr.m; i++ {
			ei[i] = 1
			nt.applyH(ei, hc)
			ei[i] = 0
			for l, v := range hc {
				Kd.Set(pr.nx+l, pr.nx+i, -v)
			}
		}
		rhs := mat.NewVecDense(N, append(append([]float64(nil), bx...), by...))
		var sol mat.VecDense
		if err := sol.SolveVec(Kd, rhs); err != nil {
			t.Fatal(err)
		}
		got := append(append([]float64(nil), dx...), dy...)
		if d := dist(got, sol.RawVector().Data) / (1 + mat.Norm(&sol, 2)); d > 1e-10 {
			t.Errorf("ε = %g: structured KKT solve differs from the dense one by %.3e (relative)", eps, d)
		}
	}
}

// The structured IPM reaches the optimum of the native conic IPM and of CVXOPT on
// the same conic data, for the LP and the SOCP.
func TestSolveAgainstConic(t *testing.T) {
	for _, c := range []struct {
		n, d, h, stride int
		sigma           float64
	}{{30, 40, 10, 10, 0}, {25, 20, 10, 5, 0}, {30, 40, 10, 10, 0.01}, {12, 16, 4, 3, 0.05}} {
		a, y, _ := planted(c.n, c.d, c.h, c.stride, c.sigma, 11)
		res, err := Solve(a, y, Settings{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != solver.Optimal {
			t.Fatalf("%+v: status %s", c, res.Status)
		}
		p := conicOf(a, y)
		ref, err := cone.Solve(p, cone.Settings{Method: "ipm", EpsAbs: 1e-10, EpsRel: 1e-10}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Status != solver.Optimal {
			t.Fatalf("%+v: cone status %s", c, ref.Status)
		}
		if d := math.Abs(res.Primal - ref.UserObjective); d > 1e-7*(1+math.Abs(ref.UserObjective)) {
			t.Errorf("%+v: structured %.12g, conic IPM %.12g", c, res.Primal, ref.UserObjective)
		}
		cv, ok := cvxopt(t, p)
		if !ok {
			continue
		}
		if cv.Status != "optimal" {
			t.Fatalf("%+v: CVXOPT %s (objective %.10g, gap %.2e, pinf %.2e, dinf %.2e, tol %g); ours %.10g", c, cv.Status, cv.Objective, cv.Gap, cv.PrimalInfeas, cv.DualInfeas, cv.Tolerance, res.Primal)
		}
		if d := math.Abs(res.Primal - cv.Objective); d > 1e-6 {
			t.Errorf("%+v: structured %.12g, CVXOPT %.12g (|Δ| = %.2e)", c, res.Primal, cv.Objective, d)
		}
		t.Logf("%+v: %d iterations, objective %.10g, CVXOPT %.10g, conic IPM %.10g", c, res.Iterations, res.Primal, cv.Objective, ref.UserObjective)
	}
}

// At n/h = 5 (the spec's 10/10 setting) the LP recovers the planted filter.
func TestRecoversPlanted(t *testing.T) {
	a, y, w0 := planted(50, 40, 10, 10, 0, 5)
	res, err := Solve(a, y, Settings{}, nil)
	if err != nil || res.Status != solver.Optimal {
		t.Fatalf("status %v, err %v", res.Status, err)
	}
	if d := dist(res.W, w0); d > 1e-6 {
		t.Errorf("‖ŵ − w*‖ = %.3e", d)
	}
}

// cvxopt solves p with CVXOPT at its default tolerance 1e-10 and, when CVXOPT stops
// short ("unknown": on these degenerate LPs its dual residual can stall near 1e-2 at
// 1e-10), again at 1e-8 and 1e-7 (CNNC_CVXOPT_TOL).
func cvxopt(t *testing.T, p *conic.Problem) (conictest.Result, bool) {
	t.Helper()
	var cv conictest.Result
	var ok bool
	for _, tol := range []string{"", "1e-8", "1e-7"} {
		if tol != "" {
			t.Setenv("CNNC_CVXOPT_TOL", tol)
		}
		if cv, ok = conictest.SolveCVXOPT(t, p); !ok || cv.Status == "optimal" {
			return cv, ok
		}
	}
	return cv, ok
}

// Fewer patch rows than filter weights (N·K = 8 < H = 10): Xd = 0 has solutions d.
// (The least-squares anchor lies in X's row space, so it is orthogonal to them and
// the program stays bounded.) With an anchor that has a component along such a d the
// relaxation is unbounded, and the solver says so with a certificate.
func TestUnbounded(t *testing.T) {
	a, y, _ := planted(2, 40, 10, 10, 0, 3)
	var svd mat.SVD
	if !svd.Factorize(a.X, mat.SVDFullV) {
		t.Fatal("svd")
	}
	var V mat.Dense
	svd.VTo(&V)
	for j := range a.Anchor {
		a.Anchor[j] += V.At(j, a.H-1) // the last right singular vector: Xd = 0
	}
	res, err := Solve(a, y, Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != solver.Unbounded {
		t.Fatalf("status %s, want unbounded", res.Status)
	}
	// the certificate: a direction with aᵀd > 0 along which the constraints hold
	if v := dot(a.Anchor, res.W); !(v > 0) {
		t.Errorf("aᵀd = %g, want > 0", v)
	}
}

// A negative target with ε = 0 cannot be reached (f ≥ 0): infeasible.
func TestInfeasible(t *testing.T) {
	a, y, _ := planted(30, 40, 10, 10, 0, 3)
	y[4] = -0.5
	res, err := Solve(a, y, Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != solver.Infeasible {
		t.Fatalf("status %s, want infeasible", res.Status)
	}
}

// A cancelled context stops the solver at once with status interrupted; a deadline
// gives time_limit.
func TestContext(t *testing.T) {
	a, y, _ := planted(200, 400, 25, 25, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	res, err := Solve(a, y, Settings{Context: ctx}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != solver.Interrupted || res.Iterations > 1 || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled: status %s after %d iterations, %v", res.Status, res.Iterations, time.Since(start))
	}
	dl, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if res, _ := Solve(a, y, Settings{Context: dl}, nil); res.Status != solver.TimeLimit {
		t.Errorf("expired deadline: status %s", res.Status)
	}
}
