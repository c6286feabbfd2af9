package cone

import (
	"math"
	"math/rand"
	"os"
	"strconv"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// cooBuilder assembles a sparse matrix from (row, col, value) triples.
type cooBuilder struct {
	m, n int
	cols [][]struct {
		i int
		v float64
	}
}

func newCOO(m, n int) *cooBuilder {
	return &cooBuilder{m: m, n: n, cols: make([][]struct {
		i int
		v float64
	}, n)}
}

// add appends entry (i, j); rows within a column must be added in increasing order.
func (b *cooBuilder) add(i, j int, v float64) {
	if v != 0 {
		b.cols[j] = append(b.cols[j], struct {
			i int
			v float64
		}{i, v})
	}
}

func (b *cooBuilder) csc() conic.CSC {
	a := conic.CSC{M: b.m, N: b.n, ColPtr: make([]int, b.n+1)}
	for j, c := range b.cols {
		for _, e := range c {
			a.RowIdx = append(a.RowIdx, e.i)
			a.Val = append(a.Val, e.v)
		}
		a.ColPtr[j+1] = len(a.Val)
	}
	return a
}

// reluProgram builds the two-layer ReLU convex program of formulations.md §2 in its
// SCS layout (squared loss through the LSQ block, β‖·‖ through NORM blocks):
// x = [v₁…v_P | w₁…w_P | t₁…t_P | s₁…s_P | τ], c = (0; β1; 1),
// l = 2nP rows −(2Dᵢ−I)X on vᵢ and wᵢ, q = [n+2] (LSQ) then 2P blocks of size d+1.
// Gaussian X with a ones column, ±1 labels, P sampled patterns Dᵢ = 1[X gᵢ ≥ 0].
func reluProgram(n, d, P int, beta float64, seed int64) *conic.Problem {
	rng := rand.New(rand.NewSource(seed))
	X := make([][]float64, n)
	y := make([]float64, n)
	for i := range X {
		X[i] = make([]float64, d)
		for k := 0; k < d-1; k++ {
			X[i][k] = rng.NormFloat64()
		}
		X[i][d-1] = 1
		y[i] = float64(2*rng.Intn(2) - 1)
	}
	D := make([][]bool, P)
	for p := range D {
		g := make([]float64, d)
		for k := range g {
			g[k] = rng.NormFloat64()
		}
		D[p] = make([]bool, n)
		for i := range X {
			s := 0.0
			for k := range g {
				s += X[i][k] * g[k]
			}
			D[p][i] = s >= 0
		}
	}
	nv := 2*d*P + 2*P + 1
	tau := nv - 1
	lRows := 2 * n * P
	m := lRows + (n + 2) + 2*P*(d+1)
	A := newCOO(m, nv)
	b := make([]float64, m)
	c := make([]float64, nv)
	for k := 2 * d * P; k < 2*d*P+2*P; k++ {
		c[k] = beta
	}
	c[tau] = 1
	lsq := lRows
	normRow := func(blk int) int { return lsq + n + 2 + blk*(d+1) }
	// Column by column, rows increasing.
	for half := 0; half < 2; half++ { // v then w
		sign := 1.0
		if half == 1 {
			sign = -1
		}
		for p := 0; p < P; p++ {
			for k := 0; k < d; k++ {
				j := half*d*P + p*d + k
				base := half*n*P + p*n
				for i := 0; i < n; i++ {
					s := -1.0
					if D[p][i] {
						s = 1
					}
					A.add(base+i, j, -s*X[i][k]) // −(2D−I)X
				}
				for i := 0; i < n; i++ { // LSQ rows: −2G
					if D[p][i] {
						A.add(lsq+1+i, j, -2*sign*X[i][k])
					}
				}
				A.add(normRow(half*P+p)+1+k, j, -1) // NORM: −I on vᵢ / wᵢ
			}
		}
	}
	for blk := 0; blk < 2*P; blk++ {
		A.add(normRow(blk), 2*d*P+blk, -1) // NORM: −t
	}
	A.add(lsq, tau, -2)
	A.add(lsq+n+1, tau, -2)
	b[lsq] = 1
	for i := 0; i < n; i++ {
		b[lsq+1+i] = -2 * y[i]
	}
	b[lsq+n+1] = -1
	q := []int{n + 2}
	for blk := 0; blk < 2*P; blk++ {
		q = append(q, d+1)
	}
	return &conic.Problem{M: m, N: nv, A: A.csc(), B: b, C: c, Cones: conic.Cones{L: lRows, Q: q}}
}

// randomSOCP builds a feasible, bounded random SOCP with m rows: Gaussian sparse A
// (density 10%), cones l = m/4 and SOC blocks of size 10, b = Ax₀ + s₀ with s₀ in
// the interior of K, c = −Aᵀy₀ with y₀ in the interior of K* (so both primal and
// dual are strictly feasible and an optimum exists).
func randomSOCP(m, n int, seed int64) *conic.Problem {
	rng := rand.New(rand.NewSource(seed))
	l := m / 4
	q := []int{}
	for r := m - l; r > 0; r -= 10 {
		q = append(q, min(10, r))
	}
	A := newCOO(m, n)
	dense := make([][]float64, n)
	for j := 0; j < n; j++ {
		dense[j] = make([]float64, m)
		for i := 0; i < m; i++ {
			if rng.Float64() < 0.1 {
				v := rng.NormFloat64()
				A.add(i, j, v)
				dense[j][i] = v
			}
		}
	}
	interior := func() []float64 {
		v := make([]float64, m)
		for i := 0; i < l; i++ {
			v[i] = rng.Float64() + 0.1
		}
		r := l
		for _, k := range q {
			nn := 0.0
			for i := 1; i < k; i++ {
				v[r+i] = rng.NormFloat64()
				nn += v[r+i] * v[r+i]
			}
			v[r] = math.Sqrt(nn) + rng.Float64() + 0.1
			r += k
		}
		return v
	}
	s0, y0 := interior(), interior()
	x0 := make([]float64, n)
	for j := range x0 {
		x0[j] = rng.NormFloat64()
	}
	b := append([]float64(nil), s0...)
	c := make([]float64, n)
	for j := 0; j < n; j++ {
		for i := 0; i < m; i++ {
			b[i] += dense[j][i] * x0[j]
			c[j] -= dense[j][i] * y0[i]
		}
	}
	return &conic.Problem{M: m, N: n, A: A.csc(), B: b, C: c, Cones: conic.Cones{L: l, Q: q}}
}

func benchSolve(b *testing.B, p *conic.Problem, set Settings) {
	b.ReportAllocs()
	var r *Result
	for i := 0; i < b.N; i++ {
		var err error
		r, err = Solve(p, set, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.Iterations), "iters")
	b.ReportMetric(r.SetupTime.Seconds(), "setup-s")
	if r.Status != solver.Optimal {
		b.Logf("status %s (res %g %g %g)", r.Status, r.PrimalRes, r.DualRes, r.Gap)
	}
}

// BenchmarkSolveReLU: the exported two-layer ReLU program at the size the pipeline
// benchmarks (n = 200 samples, d = 10, P = 100 patterns: 2201 variables, 42 402 rows,
// 607 562 nonzeros), ε = 1e-6, capped at 2000 iterations: this program needs tens of
// thousands of iterations to reach 1e-6 (see the package report), so the benchmark
// measures setup (assembly + Cholesky, reported as setup-s) and per-iteration cost.
func BenchmarkSolveReLU(b *testing.B) {
	benchSolve(b, reluProgram(200, 10, 100, 1e-3, 1), Settings{EpsAbs: 1e-6, EpsRel: 1e-6, MaxIters: 2000})
}

func BenchmarkSolveReLUNoAccel(b *testing.B) {
	benchSolve(b, reluProgram(200, 10, 100, 1e-3, 1), Settings{EpsAbs: 1e-6, EpsRel: 1e-6, MaxIters: 2000, AccelLookback: -1})
}

// BenchmarkSolveSOCP: a random SOCP with 3000 rows and 300 variables, ε = 1e-6.
func BenchmarkSolveSOCP(b *testing.B) {
	benchSolve(b, randomSOCP(3000, 300, 1), Settings{EpsAbs: 1e-6, EpsRel: 1e-6})
}

func BenchmarkSolveSOCPNoAccel(b *testing.B) {
	benchSolve(b, randomSOCP(3000, 300, 1), Settings{EpsAbs: 1e-6, EpsRel: 1e-6, AccelLookback: -1})
}

// TestReLUSmall solves a small instance of the ReLU program and checks optimality
// independently: the KKT residuals recomputed here from A, b, c and the cones.
func TestReLUSmall(t *testing.T) {
	p := reluProgram(20, 3, 8, 1e-2, 2)
	var rec solver.Recorder
	if os.Getenv("CONE_VERBOSE") != "" {
		rec = &solver.Table{W: os.Stderr}
	}
	r, err := Solve(p, Settings{EpsAbs: 1e-8, EpsRel: 1e-8}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != solver.Optimal {
		t.Fatalf("status %s", r.Status)
	}
	ax := make([]float64, p.M)
	p.A.MulVec(ax, r.X)
	for i := range ax {
		if e := math.Abs(ax[i] + r.S[i] - p.B[i]); e > 1e-6 {
			t.Fatalf("primal residual %g at row %d", e, i)
		}
	}
	aty := make([]float64, p.N)
	p.A.MulTVec(aty, r.Y)
	for j := range aty {
		if e := math.Abs(aty[j] + p.C[j]); e > 1e-6 {
			t.Fatalf("stationarity residual %g at %d", e, j)
		}
	}
	if err := coneCheck(p.Cones, r.S, false, 1e-6); err != nil {
		t.Fatal(err)
	}
	if err := coneCheck(p.Cones, r.Y, true, 1e-6); err != nil {
		t.Fatal(err)
	}
	if g := math.Abs(dot(p.C, r.X) + dot(p.B, r.Y)); g > 1e-6*math.Max(1, math.Abs(dot(p.C, r.X))) {
		t.Fatalf("duality gap %g", g)
	}
	if n, _ := strconv.Atoi(os.Getenv("CONE_VERBOSE")); n > 0 {
		t.Logf("objective %.10g, %d iterations", r.PrimalObjective, r.Iterations)
	}
}
