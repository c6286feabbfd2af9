// Package certify owns the global optimality certificate of §1.3 (docs/math/01-machinery.md) for
// the two-layer template programs: given a candidate prediction ŷ (from any pattern set,
// exact or sampled), it measures how far the candidate is from the global optimum of
// the non-convex problem, finds the patterns that violate the dual constraint (new
// columns for the adaptive mode) and turns the measurement into a lower bound.
//
// Pipeline position: compiler/train calls it after a solve (report.json's dual bound,
// the adaptive loop); `cnnc verify` calls it on a weights file's predictions.
//
// Families: any convex.Family with ℓ2 block cost — FC (§2, §3) and the CNN families of
// §4, §5.2 (one per pooling window) and §6 (max-patterns); the certificate reads only
// the family's operators (A, Sample, Weight, C, Sign). Search (search.go) finds new
// violating columns of one family; it maps gates to columns with a ColumnFunc
// (compiler/derive.PatternColumn for CNN families, the FC layout by default).
//
// The certificate. Let v = −∇_ŷ ℓ(ŷ) (squared loss: v = y − ŷ; with an output bias, v is
// projected onto 1ᵀv = 0, the dual constraint of the free bias). The candidate is
// globally optimal iff
//
//	M(v) = max_p max_{u ∈ B₂ ∩ 𝒦_p} |vᵀ 𝒫_p u| ≤ β,   𝒦_p = {u : Sign_p ⊙ C u ≥ 0},
//
// over every pattern p of the full arrangement (FC: 𝒫_p = D_p X, 𝒦_p = {(2D_p − I)Xu ≥ 0};
// gated: 𝒦_p = Rʰ). Each inner maximum is ‖Π_{𝒦_p}(±𝒫_pᵀ v)‖ (ConeMax). The ratio
// ρ = M(v)/β says how far v is from dual feasibility.
//
// Lower bound. The dual of the convex program (squared loss) is
// max_v  vᵀy − ½‖v‖²  s.t. M(v) ≤ β (and 1ᵀv = 0 with an output bias): Lagrangian
// ½‖z − y‖² + vᵀ(z − ŷ(x)) + βΣ‖x_b‖ minimised over z gives z = y − v and vᵀy − ½‖v‖²,
// and minimised over a block x_b ∈ 𝒦_b gives 0 exactly when |vᵀ𝒫_b x_b| ≤ β‖x_b‖. Since
// M is positively homogeneous, v/max(1, ρ) is dual feasible, so
//
//	p* ≥ g(v/ρ') = vᵀy/ρ' − ‖v‖²/(2ρ'²),   ρ' = max(1, ρ)
//
// (weak duality; with the exact pattern set p* is also the non-convex optimum, §1.3).
// For logistic loss ℓᵢ(z) = log(1 + e^{−yᵢz}) the dual objective is −Σ H(yᵢvᵢ/ρ') with
// H(a) = a log a + (1−a) log(1−a) (yᵢvᵢ ∈ [0, 1]); for hinge it is Σ yᵢvᵢ/ρ' with
// yᵢvᵢ ∈ [0, 1]. With an output bias and a non-squared loss no bound is given (NaN).
//
// Critical β (BetaMax): the all-zero network (plus the best bias) is optimal iff
// β ≥ β_max = M(−∇ℓ(0)) (squared: M(y), or M(y − ȳ) with an output bias).
package certify

import (
	"fmt"
	"math"

	"github.com/cnnc-org/cnnc/backend/convex"

	"gonum.org/v1/gonum/mat"
)

// Result is the outcome of a certificate computation.
type Result struct {
	Max   float64 // M(v)
	Ratio float64 // ρ = M(v)/β
	// Argmax: the family, pattern (column of that family) and sign (+1: vᵀ𝒫u, −1: −vᵀ𝒫u)
	// attaining M, and the unit vector u attaining it.
	Family, Pattern int
	Sign            float64
	U               []float64
	// LowerBound is the dual bound g(v/max(1,ρ)) on the optimum over the patterns
	// checked (NaN when the loss has none).
	LowerBound float64
	// Checked counts the (pattern, sign) maximisations; Inexact counts those whose
	// active-set solve hit its iteration cap.
	Checked, Inexact int
}

// Residual returns v = −∇_ŷ ℓ(ŷ, y): squared y − ŷ; logistic yᵢσ(−yᵢŷᵢ); hinge
// yᵢ·1[yᵢŷᵢ < 1] (a subgradient). With an output bias it is projected onto 1ᵀv = 0.
func Residual(p *convex.Program, yhat []float64) []float64 {
	v := make([]float64, p.N)
	for i := range v {
		y := p.Y[i]
		switch p.Loss {
		case "logistic":
			v[i] = y / (1 + math.Exp(y*yhat[i]))
		case "hinge":
			if y*yhat[i] < 1 {
				v[i] = y
			}
		default:
			v[i] = y - yhat[i]
		}
	}
	if p.OutputBias {
		mean := 0.0
		for _, x := range v {
			mean += x
		}
		mean /= float64(len(v))
		for i := range v {
			v[i] -= mean
		}
	}
	return v
}

// Gradient returns gᵀ = vᵀ𝒫_p for pattern q of family f, i.e.
// g = Σ_r Weight[r,q]·v[Sample[r]]·A_rᵀ.
func Gradient(f *convex.Family, q int, v []float64) []float64 {
	_, h := f.A.Dims()
	g := make([]float64, h)
	f.Weight.Mask.Each(q, func(r int) {
		w := f.Weight.RowWeight(r) * v[f.Sample[r]]
		if w == 0 {
			return
		}
		a := f.A.RawRowView(r)
		for k := 0; k < h; k++ {
			g[k] += w * a[k]
		}
	})
	return g
}

// ConeRows returns the matrix of pattern q's cone 𝒦 = {u : M u ≥ 0} (rows Sign[r,q]·C_r
// with Sign ≠ 0), or nil for an unconstrained family.
func ConeRows(f *convex.Family, q int) *mat.Dense {
	if f.C == nil {
		return nil
	}
	_, h := f.C.Dims()
	rows := f.Sign.Count(q)
	if rows == 0 {
		return nil
	}
	data := make([]float64, 0, rows*h)
	f.Sign.On.Each(q, func(r int) {
		s := f.Sign.At(r, q)
		for _, c := range f.C.RawRowView(r) {
			data = append(data, s*c)
		}
	})
	return mat.NewDense(rows, h, data)
}

// PatternMax is max_{u ∈ B₂ ∩ 𝒦_q} |vᵀ𝒫_q u| for one pattern: the value, the sign
// attaining it, the maximiser, and whether the inner solves met their tolerance.
func PatternMax(f *convex.Family, q int, v []float64) (val, sign float64, u []float64, ok bool) {
	g := Gradient(f, q, v)
	M := ConeRows(f, q)
	ok = true
	sign = 1
	for _, s := range signsOf(f) {
		gs := g
		if s < 0 {
			gs = make([]float64, len(g))
			for k := range g {
				gs[k] = -g[k]
			}
		}
		if norm(gs) <= val { // ‖Π(g)‖ ≤ ‖g‖: cannot beat the current value
			continue
		}
		vv, uu, _, good := ConeMax(gs, M)
		ok = ok && good
		if vv > val {
			val, sign, u = vv, s, uu
		}
	}
	return val, sign, u, ok
}

// signsOf: both signs for constrained families (|·| over a cone that is not symmetric);
// one for unconstrained ones (𝒦 = Rʰ is symmetric).
func signsOf(f *convex.Family) []float64 {
	if f.C == nil {
		return []float64{1}
	}
	return []float64{1, -1}
}

// Certify computes the certificate of ŷ over the patterns of fams (families with the
// program's operators whose Weight/Sign columns list the patterns to check — the full
// arrangement for a global certificate; nil means the program's own families, which
// certifies optimality over the restricted pattern set only).
func Certify(p *convex.Program, yhat []float64, fams []*convex.Family) (*Result, error) {
	if err := supported(p); err != nil {
		return nil, err
	}
	if len(yhat) != p.N {
		return nil, fmt.Errorf("certify: %d predictions for %d samples", len(yhat), p.N)
	}
	if fams == nil {
		fams = p.Families
	}
	v := Residual(p, yhat)
	res := &Result{Family: -1, Pattern: -1}
	for fi, f := range fams {
		for q := 0; q < f.Patterns(); q++ {
			val, s, u, ok := PatternMax(f, q, v)
			res.Checked += len(signsOf(f))
			if !ok {
				res.Inexact++
			}
			if val > res.Max {
				res.Max, res.Family, res.Pattern, res.Sign, res.U = val, fi, q, s, u
			}
		}
	}
	res.Ratio = res.Max / p.Beta
	res.LowerBound = DualBound(p, v, res.Ratio)
	return res, nil
}

// DualBound is the dual objective at v/max(1, ρ) (see the package doc).
func DualBound(p *convex.Program, v []float64, rho float64) float64 {
	r := math.Max(1, rho)
	switch p.Loss {
	case "squared", "":
		vy, vv := 0.0, 0.0
		for i := range v {
			vy += v[i] * p.Y[i]
			vv += v[i] * v[i]
		}
		return vy/r - vv/(2*r*r)
	case "logistic", "hinge":
		if p.OutputBias {
			return math.NaN()
		}
		s := 0.0
		for i := range v {
			a := p.Y[i] * v[i] / r
			if a < -1e-12 || a > 1+1e-12 {
				return math.NaN()
			}
			a = math.Min(1, math.Max(0, a))
			if p.Loss == "hinge" {
				s += a
			} else {
				s -= xlogx(a) + xlogx(1-a)
			}
		}
		return s
	}
	return math.NaN()
}

func xlogx(a float64) float64 {
	if a <= 0 {
		return 0
	}
	return a * math.Log(a)
}

// BetaMax is the critical β_max = M(−∇ℓ(0)) over the patterns of fams (nil: the
// program's): for β ≥ β_max the zero network (plus bias) is optimal.
func BetaMax(p *convex.Program, fams []*convex.Family) (float64, error) {
	if err := supported(p); err != nil {
		return 0, err
	}
	if fams == nil {
		fams = p.Families
	}
	// at ŷ = 0 (Residual centres v when there is an output bias, which for squared loss
	// is exactly the residual of the best constant ȳ)
	v := Residual(p, make([]float64, p.N))
	best := 0.0
	for _, f := range fams {
		for q := 0; q < f.Patterns(); q++ {
			val, _, _, _ := PatternMax(f, q, v)
			best = math.Max(best, val)
		}
	}
	return best, nil
}

func supported(p *convex.Program) error {
	if len(p.Vars) > 0 || len(p.Terms) > 0 || len(p.Penalties) > 0 || len(p.Constraints) > 0 {
		return fmt.Errorf("certify: the certificate is implemented for the two-layer template (families only); this program has generic variables")
	}
	for _, f := range p.Families {
		if f.Cost.Kind != convex.CostL2 {
			return fmt.Errorf("certify: family %s has a non-ℓ2 block cost; its dual norm is not implemented", f.Name)
		}
	}
	if !(p.Beta > 0) {
		return fmt.Errorf("certify: β = %g, need β > 0", p.Beta)
	}
	return nil
}
