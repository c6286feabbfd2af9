package conictest

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// AcceptTol is the tolerance at which SolveCVXOPT accepts the point of a run that
// CVXOPT ended with status "unknown" (it stopped short of its own targets,
// typically with a singular KKT system near the optimum): every measure of
// Residuals at most AcceptTol. The cross-checks compare optima to 1e-6 relative;
// a point feasible to 1e-7 with a relative gap of 1e-7 is within that by a factor
// of ten. (Measured: compiler/canon's LSQ′ case n = 9, d = 1 stops after 12
// iterations at primal 1.4e-13, dual 1.1e-13, gap 2.2e-8.)
const AcceptTol = 1e-7

// Residuals measure how optimal a point (x, y, s) of p is in SCS's conventions
// (minimize cᵀx + ½xᵀPx s.t. Ax + s = b, s ∈ K; dual Px + Aᵀy + c = 0, y ∈ K*),
// each relative as in SCS's stopping rule:
//
//	Primal = ‖Ax + s − b‖∞ / (1 + max(‖Ax‖∞, ‖s‖∞, ‖b‖∞))
//	Dual   = ‖Px + Aᵀy + c‖∞ / (1 + max(‖Px‖∞, ‖Aᵀy‖∞, ‖c‖∞))
//	Gap    = |xᵀPx + cᵀx + bᵀy| / (1 + max(|xᵀPx|, |cᵀx|, |bᵀy|))
//	ConeS, ConeY = the largest violation of s ∈ K and y ∈ K* (a negative entry of
//	       the orthant, t − ‖u‖ below 0 for a second-order block, the smallest
//	       eigenvalue of a PSD block below 0; zero-cone rows of s must vanish), over
//	       1 + ‖s‖∞ (resp. 1 + ‖y‖∞).
//
// At such a point the primal objective is within about Gap (relative) of the
// optimum, whatever the status of the solver that produced it.
type Residuals struct {
	Primal, Dual, Gap, ConeS, ConeY float64
}

// Max is the largest of the measures.
func (r Residuals) Max() float64 {
	return math.Max(math.Max(r.Primal, r.Dual), math.Max(r.Gap, math.Max(r.ConeS, r.ConeY)))
}

func (r Residuals) String() string {
	return fmt.Sprintf("primal %.2e, dual %.2e, gap %.2e, cone(s) %.2e, cone(y) %.2e", r.Primal, r.Dual, r.Gap, r.ConeS, r.ConeY)
}

// Judge computes the Residuals of r's point for p. It fails when the point is
// missing or has the wrong size, or p has cones Judge does not know (only the
// cones CVXOPT solves: zero, orthant, second-order, PSD).
func Judge(p *conic.Problem, r Result) (Residuals, error) {
	k := p.Cones
	if k.BSize > 0 || len(k.CS) > 0 || k.EP+k.ED > 0 || len(k.P) > 0 {
		return Residuals{}, fmt.Errorf("judge: cones other than zero, orthant, SOC and PSD")
	}
	if len(r.X) != p.N || len(r.Y) != p.M || len(r.S) != p.M {
		return Residuals{}, fmt.Errorf("judge: the point has |x| = %d, |y| = %d, |s| = %d; the problem n = %d, m = %d", len(r.X), len(r.Y), len(r.S), p.N, p.M)
	}
	for _, v := range [][]float64{r.X, r.Y, r.S} {
		for _, a := range v {
			if math.IsNaN(a) || math.IsInf(a, 0) {
				return Residuals{}, fmt.Errorf("judge: the point is not finite")
			}
		}
	}
	ax := make([]float64, p.M)
	p.A.MulVec(ax, r.X)
	aty := make([]float64, p.N)
	p.A.MulTVec(aty, r.Y)
	px := make([]float64, p.N)
	if p.P != nil {
		symMulVec(p.P, px, r.X)
	}
	var res Residuals
	pr := make([]float64, p.M)
	for i := range pr {
		pr[i] = ax[i] + r.S[i] - p.B[i]
	}
	res.Primal = inf(pr) / (1 + max(inf(ax), inf(r.S), inf(p.B)))
	du := make([]float64, p.N)
	for j := range du {
		du[j] = px[j] + aty[j] + p.C[j]
	}
	res.Dual = inf(du) / (1 + max(inf(px), inf(aty), inf(p.C)))
	xpx, cx, by := dot(r.X, px), dot(p.C, r.X), dot(p.B, r.Y)
	res.Gap = math.Abs(xpx+cx+by) / (1 + max(math.Abs(xpx), math.Abs(cx), math.Abs(by)))
	res.ConeS = coneViolation(k, r.S, true) / (1 + inf(r.S))
	res.ConeY = coneViolation(k, r.Y, false) / (1 + inf(r.Y))
	return res, nil
}

// coneViolation is the largest violation of v ∈ K (primal) or v ∈ K* (dual: the
// zero cone's dual is free; the others are self-dual).
func coneViolation(k conic.Cones, v []float64, primal bool) float64 {
	worst, r := 0.0, 0
	for ; r < k.Z; r++ {
		if primal {
			worst = math.Max(worst, math.Abs(v[r]))
		}
	}
	for i := 0; i < k.L; i, r = i+1, r+1 {
		worst = math.Max(worst, -v[r])
	}
	for _, q := range k.Q {
		if q > 0 {
			var u float64
			for _, a := range v[r+1 : r+q] {
				u += a * a
			}
			worst = math.Max(worst, math.Sqrt(u)-v[r])
		}
		r += q
	}
	for _, d := range k.S {
		size := d * (d + 1) / 2
		worst = math.Max(worst, -minEigSvec(v[r:r+size], d))
		r += size
	}
	return worst
}

// minEigSvec is the smallest eigenvalue of the symmetric matrix whose svec (lower
// triangle by columns, off-diagonals ×√2) is v.
func minEigSvec(v []float64, d int) float64 {
	if d == 0 {
		return 0
	}
	m := mat.NewSymDense(d, nil)
	t := 0
	for j := 0; j < d; j++ {
		for i := j; i < d; i++ {
			a := v[t]
			if i != j {
				a /= math.Sqrt2
			}
			m.SetSym(i, j, a)
			t++
		}
	}
	var e mat.EigenSym
	if !e.Factorize(m, false) {
		return math.Inf(-1)
	}
	return e.Values(nil)[0]
}

func inf(v []float64) float64 {
	m := 0.0
	for _, a := range v {
		m = math.Max(m, math.Abs(a))
	}
	return m
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
