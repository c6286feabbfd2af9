package conictest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// csc builds a CSC matrix from a dense row-major m×n table (test helper).
func csc(m, n int, rows [][]float64) conic.CSC {
	a := conic.CSC{M: m, N: n, ColPtr: make([]int, n+1)}
	for j := range n {
		for i := range m {
			if v := rows[i][j]; v != 0 {
				a.RowIdx = append(a.RowIdx, i)
				a.Val = append(a.Val, v)
			}
		}
		a.ColPtr[j+1] = len(a.Val)
	}
	return a
}

func near(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d entries %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol {
			t.Errorf("%s[%d] = %.12g, want %.12g (tol %g)", what, i, got[i], want[i], tol)
		}
	}
}

const tol = 1e-7

// LP: minimise −x₁ − x₂ s.t. x₁ + 2x₂ ≤ 4, 3x₁ + x₂ ≤ 6, x ≥ 0.
// The two constraints meet at x = (8/5, 6/5), objective −14/5. Duals from
// c + Aᵀy = 0 with y₃ = y₄ = 0 (x > 0): y₁ + 3y₂ = 1, 2y₁ + y₂ = 1, so
// y = (2/5, 1/5, 0, 0); dual objective −bᵀy = −(8+6)/5 = −14/5.
func TestCVXOPTLinearProgram(t *testing.T) {
	p := &conic.Problem{M: 4, N: 2, Cones: conic.Cones{L: 4},
		A: csc(4, 2, [][]float64{{1, 2}, {3, 1}, {-1, 0}, {0, -1}}),
		B: []float64{4, 6, 0, 0}, C: []float64{-1, -1}}
	r, ok := SolveCVXOPT(t, p)
	if !ok {
		return
	}
	if r.Status != "optimal" {
		t.Fatalf("status %q (%s)", r.Status, r.Message)
	}
	near(t, "objective", []float64{r.Objective}, []float64{-14.0 / 5}, tol)
	near(t, "x", r.X, []float64{8.0 / 5, 6.0 / 5}, tol)
	near(t, "y", r.Y, []float64{2.0 / 5, 1.0 / 5, 0, 0}, tol)
	near(t, "s", r.S, []float64{0, 0, 8.0 / 5, 6.0 / 5}, tol)
}

// SOCP (the worked example of spec/formats.md plus one equality): minimise
// −x₁ − x₂ s.t. x₁ − x₂ = 0, ‖(x₁, x₂)‖ ≤ 1. Optimum x = (1/√2, 1/√2), −√2.
// Rows: zero row (1, −1 | b 0); SOC rows (0,0 | 1), (−1,0 | 0), (0,−1 | 0).
// Duals: −1 + y₀ − y₂ = 0, −1 − y₀ − y₃ = 0; complementarity with
// s = (1, 1/√2, 1/√2) gives y₁ = −(y₂+y₃)/√2 = √2, and y ∈ SOC forces
// √2 ≥ √(2 + 2y₀²), so y₀ = 0, y = (0, √2, −1, −1).
func TestCVXOPTSecondOrderCone(t *testing.T) {
	p := &conic.Problem{M: 4, N: 2, Cones: conic.Cones{Z: 1, Q: []int{3}},
		A: csc(4, 2, [][]float64{{1, -1}, {0, 0}, {-1, 0}, {0, -1}}),
		B: []float64{0, 1, 0, 0}, C: []float64{-1, -1}}
	r, ok := SolveCVXOPT(t, p)
	if !ok {
		return
	}
	if r.Status != "optimal" {
		t.Fatalf("status %q (%s)", r.Status, r.Message)
	}
	h := 1 / math.Sqrt2
	near(t, "objective", []float64{r.Objective}, []float64{-math.Sqrt2}, tol)
	near(t, "x", r.X, []float64{h, h}, tol)
	near(t, "y", r.Y, []float64{0, math.Sqrt2, -1, -1}, 1e-6)
}

// SDP: maximise λ s.t. M − λI ⪰ 0 with M = [[4,0,2],[0,5,0],[2,0,4]], i.e.
// minimise −λ. The eigenvalues of M are 2, 5, 6 (block [[4,2],[2,4]] gives
// 4 ± 2), so λ* = 2 and the optimum is −2. svec rows in SCS order
// (1,1),(2,1),(3,1),(2,2),(3,2),(3,3): b = svec(M) = (4, 0, 2√2, 5, 0, 4) and
// A = (1, 0, 0, 1, 0, 1)ᵀ (the slack is svec(M) − λ·svec(I)). The dual is
// Y = vvᵀ for the eigenvector v = (1, 0, −1)/√2 of eigenvalue 2 (tr Y = 1
// from c + Aᵀy = 0): y = svec(Y) = (½, 0, −½·√2, 0, 0, ½). Reading the svec
// row-major instead would pair (3,1) with (2,2) and give another optimum.
func TestCVXOPTSemidefinite(t *testing.T) {
	r2 := math.Sqrt2
	p := &conic.Problem{M: 6, N: 1, Cones: conic.Cones{S: []int{3}},
		A: csc(6, 1, [][]float64{{1}, {0}, {0}, {1}, {0}, {1}}),
		B: []float64{4, 0, 2 * r2, 5, 0, 4}, C: []float64{-1}}
	r, ok := SolveCVXOPT(t, p)
	if !ok {
		return
	}
	if r.Status != "optimal" {
		t.Fatalf("status %q (%s)", r.Status, r.Message)
	}
	near(t, "objective", []float64{r.Objective}, []float64{-2}, tol)
	near(t, "x", r.X, []float64{2}, tol)
	near(t, "y", r.Y, []float64{0.5, 0, -0.5 * r2, 0, 0, 0.5}, 1e-6)
	// s = svec(M − 2I) = (2, 0, 2√2, 3, 0, 2).
	near(t, "s", r.S, []float64{2, 0, 2 * r2, 3, 0, 2}, 1e-6)
}

// QP: minimise ½(x₁² + x₂²) − x₁ − x₂ s.t. x₁ + x₂ ≤ 1. The unconstrained
// minimiser (1, 1) is infeasible; by symmetry the optimum is x = (½, ½) with
// value ¼ − 1 = −¾, and Px + Aᵀy + c = 0 gives ½ + y − 1 = 0, y = ½. With
// objective scale 2 and offset 1 the user objective is 2·(−¾) + 1 = −½.
func TestCVXOPTQuadraticProgram(t *testing.T) {
	p := &conic.Problem{M: 1, N: 2, Cones: conic.Cones{L: 1},
		A: csc(1, 2, [][]float64{{1, 1}}), B: []float64{1}, C: []float64{-1, -1},
		ObjScale: 2, ObjOffset: 1}
	pm := csc(2, 2, [][]float64{{1, 0}, {0, 1}})
	p.P = &pm
	r, ok := SolveCVXOPT(t, p)
	if !ok {
		return
	}
	if r.Status != "optimal" {
		t.Fatalf("status %q (%s)", r.Status, r.Message)
	}
	near(t, "objective", []float64{r.Objective}, []float64{-0.5}, tol)
	near(t, "raw objective", []float64{r.RawObjective}, []float64{-0.75}, tol)
	near(t, "x", r.X, []float64{0.5, 0.5}, tol)
	near(t, "y", r.Y, []float64{0.5}, tol)
}

// Infeasible LP: x ≤ −1 and x ≥ 0 (rows x ≤ −1, −x ≤ 0).
func TestCVXOPTInfeasible(t *testing.T) {
	p := &conic.Problem{M: 2, N: 1, Cones: conic.Cones{L: 2},
		A: csc(2, 1, [][]float64{{1}, {-1}}), B: []float64{-1, 0}, C: []float64{1}}
	r, ok := SolveCVXOPT(t, p)
	if !ok {
		return
	}
	if r.Status != "primal infeasible" {
		t.Fatalf("status %q, want primal infeasible", r.Status)
	}
}

// Exponential cones have no CVXOPT counterpart: the helper must skip.
func TestCVXOPTSkipsExponential(t *testing.T) {
	p := &conic.Problem{M: 3, N: 1, Cones: conic.Cones{EP: 1},
		A: csc(3, 1, [][]float64{{-1}, {0}, {0}}), B: []float64{0, 1, 2}, C: []float64{1}}
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		SolveCVXOPT(t, p)
		t.Errorf("SolveCVXOPT returned instead of skipping")
	})
	if !skipped {
		t.Errorf("exponential cone problem was not skipped")
	}
}

// Random strictly feasible problems with SOC and PSD blocks (and P): CVXOPT's
// answer, mapped back to SCS conventions by the script, must satisfy the SCS
// KKT conditions: Px + Aᵀy + c = 0, s = b − Ax, y and s in the (self-dual)
// cone, sᵀy = 0 and cᵀx + ½xᵀPx = −bᵀy − ½xᵀPx. This checks the svec↔matrix
// mapping of the duals, which the hand examples check only at single points.
func TestCVXOPTRandomKKT(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 7))
		k := conic.Cones{Z: 1, L: 3, Q: []int{3, 2}, S: []int{2, 3}}
		p := Feasible(rng, 5, k, seed%2 == 1)
		r, ok := SolveCVXOPT(t, p)
		if !ok {
			return
		}
		if r.Status != "optimal" {
			t.Fatalf("seed %d: status %q (%s)", seed, r.Status, r.Message)
		}
		res := append([]float64(nil), p.C...)
		px := make([]float64, p.N)
		if p.P != nil {
			symMulVec(p.P, px, r.X)
		}
		for i := range res {
			res[i] += px[i]
		}
		p.A.MulTVec(res, r.Y)
		near(t, "Px+Aᵀy+c", res, make([]float64, p.N), 1e-6)
		s := append([]float64(nil), p.B...)
		ax := make([]float64, p.M)
		p.A.MulVec(ax, r.X)
		for i := range s {
			s[i] -= ax[i]
		}
		near(t, "s", r.S, s, 1e-6)
		sy, xpx, by := 0.0, 0.0, 0.0
		for i := range s {
			sy += s[i] * r.Y[i]
			by += p.B[i] * r.Y[i]
		}
		for i := range px {
			xpx += r.X[i] * px[i]
		}
		near(t, "sᵀy", []float64{sy}, []float64{0}, 1e-6)
		primal := r.RawObjective
		dual := -by - 0.5*xpx
		near(t, "primal−dual objective", []float64{primal - dual}, []float64{0}, 1e-6)
		// y and s in the PSD cone: smallest eigenvalue of each 2×2 / 3×3
		// block ≥ −1e-8, by Sylvester on the leading minors of Y + εI.
		off := k.Z + k.L + 5
		for _, d := range k.S {
			for _, v := range [][]float64{r.Y[off : off+d*(d+1)/2], r.S[off : off+d*(d+1)/2]} {
				if !psdSvec(v, d, 1e-8) {
					t.Errorf("seed %d: svec block %v not PSD", seed, v)
				}
			}
			off += d * (d + 1) / 2
		}
	}
}

// psdSvec reports whether mat(v) + εI is positive definite (Cholesky).
func psdSvec(v []float64, d int, eps float64) bool {
	m := make([]float64, d*d)
	t := 0
	for j := range d {
		for i := j; i < d; i++ {
			x := v[t]
			if i != j {
				x /= math.Sqrt2
			}
			m[i+j*d], m[j+i*d] = x, x
			t++
		}
	}
	for i := range d {
		m[i+i*d] += eps
	}
	for j := range d {
		s := m[j+j*d]
		for k := range j {
			s -= m[j+k*d] * m[j+k*d]
		}
		if s <= 0 {
			return false
		}
		m[j+j*d] = math.Sqrt(s)
		for i := j + 1; i < d; i++ {
			s := m[i+j*d]
			for k := range j {
				s -= m[i+k*d] * m[j+k*d]
			}
			m[i+j*d] = s / m[j+j*d]
		}
	}
	return true
}
