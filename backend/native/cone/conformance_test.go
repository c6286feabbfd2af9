package cone

import (
	"fmt"
	"math"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// The conformance suite: small problems whose optimum (or infeasibility /
// unboundedness) is derived by hand in the comment of each case. Every optimal case
// is checked against its closed form AND against the KKT conditions, computed here
// independently of the solver: ‖Ax + s − b‖∞, s ∈ K, y ∈ K*, |sᵀy|, ‖Px + Aᵀy + c‖∞.
// Infeasible and unbounded cases check the certificate: bᵀy = −1, ‖Aᵀy‖∞ small,
// y ∈ K*; or cᵀx = −1, ‖Ax + s‖∞ and ‖Px‖∞ small, s ∈ K.

type confCase struct {
	name   string
	cones  conic.Cones
	A      [][]float64 // dense rows
	P      [][]float64 // dense symmetric (nil: none)
	b, c   []float64
	want   solver.Status
	opt    float64
	wantX  []float64 // optional known unique primal solution
	derive string
}

var sqrt2 = math.Sqrt2

func confCases() []confCase {
	return []confCase{
		{
			name: "lp_bounds",
			// min x₁ + x₂ s.t. x₁ ≥ 1, x₂ ≥ 2. Separable: x = (1, 2), optimum 3.
			// Rows: s = b − Ax = (−1 + x₁, −2 + x₂) ≥ 0.
			cones: conic.Cones{L: 2},
			A:     [][]float64{{-1, 0}, {0, -1}},
			b:     []float64{-1, -2}, c: []float64{1, 1},
			want: solver.Optimal, opt: 3, wantX: []float64{1, 2},
		},
		{
			name: "lp_simplex",
			// min −x₁ − 2x₂ s.t. x₁ + x₂ = 1, x ≥ 0: a linear function on the simplex
			// is minimised at the vertex with the smallest cost, e₂: optimum −2.
			cones: conic.Cones{Z: 1, L: 2},
			A:     [][]float64{{1, 1}, {-1, 0}, {0, -1}},
			b:     []float64{1, 0, 0}, c: []float64{-1, -2},
			want: solver.Optimal, opt: -2, wantX: []float64{0, 1},
		},
		{
			name: "lp_vertices",
			// min 2x₁ + 3x₂ s.t. x₁ + x₂ ≥ 4, x₁ + 3x₂ ≥ 6, x ≥ 0. Vertices of the
			// feasible region: (0, 4) → 12, (3, 1) → 9, (6, 0) → 12; optimum 9 at (3, 1)
			// (dual y = (1.5, 0.5) on the two constraints: 1.5 + 0.5 = 2, 1.5 + 1.5 = 3).
			cones: conic.Cones{L: 4},
			A:     [][]float64{{-1, -1}, {-1, -3}, {-1, 0}, {0, -1}},
			b:     []float64{-4, -6, 0, 0}, c: []float64{2, 3},
			want: solver.Optimal, opt: 9, wantX: []float64{3, 1},
		},
		{
			name: "qp_halfspace",
			// min ½‖x‖² − x₁ − x₂ s.t. x₁ + x₂ ≤ 1. The unconstrained minimiser (1, 1)
			// violates the constraint, so it is active: x = (½, ½) (symmetry and
			// x₁ + x₂ = 1), optimum ½·½ − 1 = −¾.
			cones: conic.Cones{L: 1},
			A:     [][]float64{{1, 1}},
			P:     [][]float64{{1, 0}, {0, 1}},
			b:     []float64{1}, c: []float64{-1, -1},
			want: solver.Optimal, opt: -0.75, wantX: []float64{0.5, 0.5},
		},
		{
			name: "qp_equality",
			// min ½x₁² + x₂² s.t. x₁ + x₂ = 3. Lagrange: x₁ = λ, 2x₂ = λ, so
			// 3λ/2 = 3, λ = 2, x = (2, 1), optimum 2 + 1 = 3.
			cones: conic.Cones{Z: 1},
			A:     [][]float64{{1, 1}},
			P:     [][]float64{{1, 0}, {0, 2}},
			b:     []float64{3}, c: []float64{0, 0},
			want: solver.Optimal, opt: 3, wantX: []float64{2, 1},
		},
		{
			name: "qp_offdiagonal",
			// min ½xᵀPx − 1ᵀx, P = [[2, 1], [1, 2]], s.t. x₁ ≤ 10 (inactive).
			// x = P⁻¹1 = (⅓, ⅓), optimum −½·1ᵀP⁻¹1 = −⅓. Exercises P's off-diagonal
			// stored once in the upper triangle.
			cones: conic.Cones{L: 1},
			A:     [][]float64{{1, 0}},
			P:     [][]float64{{2, 1}, {1, 2}},
			b:     []float64{10}, c: []float64{-1, -1},
			want: solver.Optimal, opt: -1.0 / 3, wantX: []float64{1.0 / 3, 1.0 / 3},
		},
		{
			name: "socp_disc",
			// spec/formats.md worked example: min −x₁ − x₂ s.t. ‖x‖₂ ≤ 1.
			// By Cauchy–Schwarz −1ᵀx ≥ −‖1‖‖x‖ ≥ −√2, equality at x = (1, 1)/√2.
			cones: conic.Cones{Q: []int{3}},
			A:     [][]float64{{0, 0}, {-1, 0}, {0, -1}},
			b:     []float64{1, 0, 0}, c: []float64{-1, -1},
			want: solver.Optimal, opt: -sqrt2, wantX: []float64{1 / sqrt2, 1 / sqrt2},
		},
		{
			name: "socp_distance_to_line",
			// min t s.t. ‖x − (1, 1)‖ ≤ t, x₁ + x₂ = 0: the distance from (1, 1) to the
			// line x₁ + x₂ = 0 is |1 + 1|/√2 = √2, attained at x = (0, 0).
			// Variables (t, x₁, x₂); SOC slack (t, x₁ − 1, x₂ − 1).
			cones: conic.Cones{Z: 1, Q: []int{3}},
			A:     [][]float64{{0, 1, 1}, {-1, 0, 0}, {0, -1, 0}, {0, 0, -1}},
			b:     []float64{0, 0, -1, -1}, c: []float64{1, 0, 0},
			want: solver.Optimal, opt: sqrt2, wantX: []float64{sqrt2, 0, 0},
		},
		{
			name: "qp_socp_disc",
			// min ½‖x‖² s.t. ‖x − (3, 4)‖ ≤ 1: the point of the disc nearest the origin
			// is (3, 4)·(5 − 1)/5 = (2.4, 3.2), optimum ½·4² = 8.
			cones: conic.Cones{Q: []int{3}},
			A:     [][]float64{{0, 0}, {-1, 0}, {0, -1}},
			P:     [][]float64{{1, 0}, {0, 1}},
			b:     []float64{1, -3, -4}, c: []float64{0, 0},
			want: solver.Optimal, opt: 8, wantX: []float64{2.4, 3.2},
		},
		{
			name: "sdp_min_eigenvalue",
			// min tr(CX) s.t. tr X = 1, X ⪰ 0 equals λ_min(C); C = [[2, 1], [1, 2]] has
			// eigenvalues 1 and 3, so the optimum is 1 at X = vvᵀ, v = (1, −1)/√2.
			// x = svec(X) = (X₁₁, √2X₂₁, X₂₂); tr(CX) = 2X₁₁ + 2X₂₁ + 2X₂₂, so
			// c = (2, √2, 2); the PSD slack is s = x (A = −I, b = 0).
			cones: conic.Cones{Z: 1, S: []int{2}},
			A:     [][]float64{{1, 0, 1}, {-1, 0, 0}, {0, -1, 0}, {0, 0, -1}},
			b:     []float64{1, 0, 0, 0}, c: []float64{2, sqrt2, 2},
			want: solver.Optimal, opt: 1, wantX: []float64{0.5, -0.5 * sqrt2, 0.5},
		},
		{
			name: "sdp_maxcut_ones",
			// min −1ᵀX1 s.t. Xᵢᵢ = 1 (i = 1..3), X ⪰ 0. 1ᵀX1 ≤ λ_max(J)·… more simply
			// 1ᵀX1 ≤ ‖1‖²·λ_max(X) ≤ 3·tr X = 9, with equality at X = J (all ones):
			// optimum −9. svec order (X₁₁, √2X₂₁, √2X₃₁, X₂₂, √2X₃₂, X₃₃); the cost
			// −Σᵢⱼ Xᵢⱼ is −1 on diagonal entries and −2Xᵢⱼ = −√2·(√2Xᵢⱼ) off it.
			cones: conic.Cones{Z: 3, S: []int{3}},
			A: [][]float64{
				{1, 0, 0, 0, 0, 0}, {0, 0, 0, 1, 0, 0}, {0, 0, 0, 0, 0, 1},
				{-1, 0, 0, 0, 0, 0}, {0, -1, 0, 0, 0, 0}, {0, 0, -1, 0, 0, 0},
				{0, 0, 0, -1, 0, 0}, {0, 0, 0, 0, -1, 0}, {0, 0, 0, 0, 0, -1}},
			b:    []float64{1, 1, 1, 0, 0, 0, 0, 0, 0},
			c:    []float64{-1, -sqrt2, -sqrt2, -1, -sqrt2, -1},
			want: solver.Optimal, opt: -9, wantX: []float64{1, sqrt2, sqrt2, 1, sqrt2, 1},
		},
		{
			name: "exp_primal_fixed",
			// min t s.t. (1, 1, t) ∈ K_exp, i.e. 1·e^{1/1} ≤ t: optimum e.
			cones: conic.Cones{EP: 1},
			A:     [][]float64{{0}, {0}, {-1}},
			b:     []float64{1, 1, 0}, c: []float64{1},
			want: solver.Optimal, opt: math.E, wantX: []float64{math.E},
		},
		{
			name: "exp_negentropy",
			// min x log x: with (−t, x, 1) ∈ K_exp ⇔ x·e^{−t/x} ≤ 1 ⇔ t ≥ x log x,
			// min t. d/dx(x log x) = log x + 1 = 0 at x = 1/e, optimum −1/e.
			// Variables (t, x).
			cones: conic.Cones{EP: 1},
			A:     [][]float64{{1, 0}, {0, -1}, {0, 0}},
			b:     []float64{0, 0, 1}, c: []float64{1, 0},
			want: solver.Optimal, opt: -1 / math.E, wantX: []float64{-1 / math.E, 1 / math.E},
		},
		{
			name: "exp_dual_fixed",
			// min w s.t. (−1, 0, w) ∈ K_exp*: −u·e^{v/u} ≤ e·w with u = −1, v = 0 gives
			// 1 ≤ e·w, optimum 1/e.
			cones: conic.Cones{ED: 1},
			A:     [][]float64{{0}, {0}, {-1}},
			b:     []float64{-1, 0, 0}, c: []float64{1},
			want: solver.Optimal, opt: 1 / math.E, wantX: []float64{1 / math.E},
		},
		{
			name: "exp_soc_lp_mixed",
			// min t − 3x s.t. e^x ≤ t ((x, 1, t) ∈ K_exp), ‖x‖ ≤ 1 ((1, x) ∈ SOC₂),
			// t ≥ 0 (inactive). For fixed x the best t is e^x; d/dx(e^x − 3x) = e^x − 3 < 0
			// on [−1, 1] (ln 3 > 1), so x = 1 and the optimum is e − 3.
			// Variables (t, x); rows: l: −t; q: (1, x); ep: (x, 1, t).
			cones: conic.Cones{L: 1, Q: []int{2}, EP: 1},
			A:     [][]float64{{-1, 0}, {0, 0}, {0, -1}, {0, -1}, {0, 0}, {-1, 0}},
			b:     []float64{0, 1, 0, 0, 1, 0}, c: []float64{1, -3},
			want: solver.Optimal, opt: math.E - 3, wantX: []float64{math.E, 1},
		},
		{
			name: "power_primal",
			// max z s.t. (4, 1, z) ∈ K_{1/2}: |z| ≤ 4^{1/2}·1^{1/2} = 2, so min −z = −2.
			cones: conic.Cones{P: []float64{0.5}},
			A:     [][]float64{{0}, {0}, {-1}},
			b:     []float64{4, 1, 0}, c: []float64{-1},
			want: solver.Optimal, opt: -2, wantX: []float64{2},
		},
		{
			name: "power_dual",
			// max w s.t. (1, 1, w) ∈ K_{0.3}*: |w| ≤ (1/0.3)^{0.3}·(1/0.7)^{0.7}, so the
			// optimum of min −w is −(1/0.3)^{0.3}(1/0.7)^{0.7}.
			cones: conic.Cones{P: []float64{-0.3}},
			A:     [][]float64{{0}, {0}, {-1}},
			b:     []float64{1, 1, 0}, c: []float64{-1},
			want: solver.Optimal, opt: -math.Pow(1/0.3, 0.3) * math.Pow(1/0.7, 0.7),
		},
		{
			name: "box_cone",
			// min −x₁ − x₂ s.t. (1, x₁, x₂) ∈ Box([0, −1], [1, 2]), i.e. 0 ≤ x₁ ≤ 1,
			// −1 ≤ x₂ ≤ 2: each coordinate at its upper bound, optimum −3.
			cones: conic.Cones{BSize: 3, BL: []float64{0, -1}, BU: []float64{1, 2}},
			A:     [][]float64{{0, 0}, {-1, 0}, {0, -1}},
			b:     []float64{1, 0, 0}, c: []float64{-1, -1},
			want: solver.Optimal, opt: -3, wantX: []float64{1, 2},
		},
		{
			name: "lp_infeasible",
			// x ≥ 1 and x ≤ 0 cannot both hold. Certificate y = (1, 1)/1: Aᵀy = −1 + 1 = 0,
			// bᵀy = −1 + 0 < 0 (Farkas).
			cones: conic.Cones{L: 2},
			A:     [][]float64{{-1}, {1}},
			b:     []float64{-1, 0}, c: []float64{1},
			want: solver.Infeasible,
		},
		{
			name: "socp_infeasible",
			// ‖(x₁, x₂)‖ ≤ 1 and x₁ = 2 are incompatible.
			cones: conic.Cones{Z: 1, Q: []int{3}},
			A:     [][]float64{{1, 0}, {0, 0}, {-1, 0}, {0, -1}},
			b:     []float64{2, 1, 0, 0}, c: []float64{0, 0},
			want: solver.Infeasible,
		},
		{
			name: "lp_unbounded",
			// min −x₁ s.t. x₁ − x₂ ≥ 0... i.e. x₁ ≥ x₂, x₂ ≥ 0: the ray (1, 0) is
			// feasible with cost −1 per unit: unbounded.
			cones: conic.Cones{L: 2},
			A:     [][]float64{{-1, 1}, {0, -1}},
			b:     []float64{0, 0}, c: []float64{-1, 0},
			want: solver.Unbounded,
		},
		{
			name: "socp_unbounded",
			// min −x₁ s.t. ‖x₂‖ ≤ x₁, x₂ = 1: x₁ can grow without bound.
			cones: conic.Cones{Z: 1, Q: []int{2}},
			A:     [][]float64{{0, 1}, {-1, 0}, {0, -1}},
			b:     []float64{1, 0, 0}, c: []float64{-1, 0},
			want: solver.Unbounded,
		},
		{
			name: "qp_unbounded_flat_direction",
			// min ½(x₁ + x₂)² + x₁ − x₂ s.t. x₁ + x₂ ≤ 5: along d = (−1, 1), Pd = 0 and
			// cᵀd = −2 < 0 while A d = 0, so the objective decreases without bound.
			cones: conic.Cones{L: 1},
			A:     [][]float64{{1, 1}},
			P:     [][]float64{{1, 1}, {1, 1}},
			b:     []float64{5}, c: []float64{1, -1},
			want: solver.Unbounded,
		},
	}
}

// dense2CSC converts dense rows to CSC; upperOnly keeps entries with row ≤ col.
func dense2CSC(rows [][]float64, m, n int, upperOnly bool) conic.CSC {
	a := conic.CSC{M: m, N: n, ColPtr: make([]int, n+1)}
	for j := 0; j < n; j++ {
		for i := 0; i < m; i++ {
			if v := rows[i][j]; v != 0 && (!upperOnly || i <= j) {
				a.RowIdx = append(a.RowIdx, i)
				a.Val = append(a.Val, v)
			}
		}
		a.ColPtr[j+1] = len(a.Val)
	}
	return a
}

func (cc *confCase) problem() *conic.Problem {
	m, n := len(cc.b), len(cc.c)
	p := &conic.Problem{M: m, N: n, A: dense2CSC(cc.A, m, n, false), B: cc.b, C: cc.c, Cones: cc.cones}
	if cc.P != nil {
		q := dense2CSC(cc.P, n, n, true)
		p.P = &q
	}
	return p
}

// denseMulVec computes M x for the dense rows.
func denseMulVec(rows [][]float64, x []float64) []float64 {
	y := make([]float64, len(rows))
	for i, r := range rows {
		for j, v := range r {
			y[i] += v * x[j]
		}
	}
	return y
}

func denseMulTVec(rows [][]float64, y []float64, n int) []float64 {
	x := make([]float64, n)
	for i, r := range rows {
		for j, v := range r {
			x[j] += v * y[i]
		}
	}
	return x
}

// coneCheck walks the cones of k (independently of the solver's layout) and
// reports the first block of v that is not in K (dual=false) or K* (dual=true).
func coneCheck(k conic.Cones, v []float64, dual bool, tol float64) error {
	r := 0
	take := func(n int) []float64 { b := v[r : r+n]; r += n; return b }
	for i, x := range take(k.Z) {
		if !dual && math.Abs(x) > tol {
			return fmt.Errorf("zero cone row %d = %g", i, x)
		}
	}
	for i, x := range take(k.L) {
		if x < -tol {
			return fmt.Errorf("orthant row %d = %g", i, x)
		}
	}
	if k.BSize > 0 {
		b := take(k.BSize)
		if !dual {
			if b[0] < -tol {
				return fmt.Errorf("box t = %g", b[0])
			}
			for i := range k.BL {
				if b[1+i] < b[0]*k.BL[i]-tol || b[1+i] > b[0]*k.BU[i]+tol {
					return fmt.Errorf("box entry %d = %g outside t·[%g, %g], t = %g", i, b[1+i], k.BL[i], k.BU[i], b[0])
				}
			}
		} else {
			// (τ, w) ∈ K_box* ⇔ τt + wᵀs ≥ 0 on K_box ⇔ τ + Σ min(wᵢlᵢ, wᵢuᵢ) ≥ 0
			// (finite bounds; the test cases have no infinite ones).
			s := b[0]
			for i := range k.BL {
				s += math.Min(b[1+i]*k.BL[i], b[1+i]*k.BU[i])
			}
			if s < -tol {
				return fmt.Errorf("box dual support %g < 0", s)
			}
		}
	}
	for i, q := range k.Q {
		if !inSOCTol(take(q), tol) {
			return fmt.Errorf("SOC %d not satisfied", i)
		}
	}
	for i, o := range k.S {
		b := take(o * (o + 1) / 2)
		if o > 0 && minEigSvec(b, o) < -tol {
			return fmt.Errorf("PSD %d has eigenvalue %g", i, minEigSvec(b, o))
		}
	}
	for i := 0; i < k.EP; i++ {
		b := take(3)
		x := [3]float64{b[0], b[1], b[2]}
		if ok := (!dual && inExpTol(x, tol)) || (dual && inExpDualTol(x, tol)); !ok {
			return fmt.Errorf("exp primal triple %d = %v", i, x)
		}
	}
	for i := 0; i < k.ED; i++ {
		b := take(3)
		x := [3]float64{b[0], b[1], b[2]}
		if ok := (!dual && inExpDualTol(x, tol)) || (dual && inExpTol(x, tol)); !ok {
			return fmt.Errorf("exp dual triple %d = %v", i, x)
		}
	}
	for i, a := range k.P {
		b := take(3)
		x := [3]float64{b[0], b[1], b[2]}
		primal := (a > 0) != dual
		aa := math.Abs(a)
		if ok := (primal && inPowTol(x, aa, tol)) || (!primal && inPowDualTol(x, aa, tol)); !ok {
			return fmt.Errorf("power triple %d (p=%g) = %v", i, a, x)
		}
	}
	return nil
}

// TestConformance runs every case with the automatic linear-system choice and with
// the block elimination forced (blocksys.go), so both solve paths meet the same checks.
//
// The first-order method ("admm") runs on every case; the interior-point method
// ("ipm") on every case whose cones are zero, nonnegative and second-order.
func TestConformance(t *testing.T) {
	for _, ls := range []string{"", "block"} {
		t.Run("admm/linsys="+ls, func(t *testing.T) { conformance(t, "admm", ls) })
	}
	t.Run("ipm", func(t *testing.T) { conformance(t, "ipm", "") })
}

func conformance(t *testing.T, method, ls string) {
	const tol = 1e-6
	ran := 0
	for _, cc := range confCases() {
		t.Run(cc.name, func(t *testing.T) {
			p := cc.problem()
			if err := p.Validate(); err != nil {
				t.Fatalf("bad test problem: %v", err)
			}
			if method == "ipm" {
				L, err := newLayout(&p.Cones, p.M)
				if err != nil || ipmSupported(L) != nil {
					t.Skipf("cones %+v: not symmetric cones the IPM supports", p.Cones)
				}
			}
			ran++
			n := len(cc.c)
			r, err := Solve(p, Settings{EpsAbs: 1e-9, EpsRel: 1e-9, EpsInfeas: 1e-9, LinearSystem: ls, Method: method}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != method {
				t.Fatalf("method %q ran, want %q", r.Method, method)
			}
			t.Logf("%s: %s in %d iterations", method, r.Status, r.Iterations)
			if r.Status != cc.want {
				t.Fatalf("status %s after %d iterations, want %s (res %g %g %g)", r.Status, r.Iterations, cc.want, r.PrimalRes, r.DualRes, r.Gap)
			}
			var px []float64
			if cc.P != nil && r.X != nil {
				px = denseMulVec(cc.P, r.X)
			} else {
				px = make([]float64, n)
			}
			switch r.Status {
			case solver.Optimal:
				if math.Abs(r.PrimalObjective-cc.opt) > tol*math.Max(1, math.Abs(cc.opt)) {
					t.Errorf("objective %.12g, want %.12g", r.PrimalObjective, cc.opt)
				}
				for j, v := range cc.wantX {
					if math.Abs(r.X[j]-v) > 1e-5*math.Max(1, math.Abs(v)) {
						t.Errorf("x[%d] = %.10g, want %.10g", j, r.X[j], v)
					}
				}
				ax := denseMulVec(cc.A, r.X)
				for i := range ax {
					if e := math.Abs(ax[i] + r.S[i] - cc.b[i]); e > tol {
						t.Errorf("primal residual row %d: %g", i, e)
					}
				}
				if err := coneCheck(cc.cones, r.S, false, tol); err != nil {
					t.Errorf("s ∉ K: %v", err)
				}
				if err := coneCheck(cc.cones, r.Y, true, tol); err != nil {
					t.Errorf("y ∉ K*: %v", err)
				}
				if c := dot(r.S, r.Y); math.Abs(c) > tol {
					t.Errorf("complementarity sᵀy = %g", c)
				}
				aty := denseMulTVec(cc.A, r.Y, n)
				for j := 0; j < n; j++ {
					if e := math.Abs(px[j] + aty[j] + cc.c[j]); e > tol {
						t.Errorf("stationarity entry %d: %g", j, e)
					}
				}
			case solver.Infeasible:
				if by := dot(cc.b, r.Y); math.Abs(by+1) > 1e-9 {
					t.Errorf("bᵀy = %g, want −1", by)
				}
				if e := normInf(denseMulTVec(cc.A, r.Y, n)); e > tol {
					t.Errorf("‖Aᵀy‖∞ = %g", e)
				}
				if err := coneCheck(cc.cones, r.Y, true, tol); err != nil {
					t.Errorf("certificate y ∉ K*: %v", err)
				}
			case solver.Unbounded:
				if cx := dot(cc.c, r.X); math.Abs(cx+1) > 1e-9 {
					t.Errorf("cᵀx = %g, want −1", cx)
				}
				ax := denseMulVec(cc.A, r.X)
				for i := range ax {
					if e := math.Abs(ax[i] + r.S[i]); e > tol {
						t.Errorf("‖Ax + s‖ row %d: %g", i, e)
					}
				}
				if e := normInf(px); e > tol {
					t.Errorf("‖Px‖∞ = %g", e)
				}
				if err := coneCheck(cc.cones, r.S, false, tol); err != nil {
					t.Errorf("certificate s ∉ K: %v", err)
				}
			}
		})
	}
}
