// Package certify owns the global optimality certificate of §1.3
// (docs/math/01-machinery.md, docs/certificates.md) for
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
// (compiler/derive.PatternColumn for CNN families, the FC layout by default) and,
// for its batched gradient ascent (ascent.go), gates to weight columns with a
// WeightFunc (compiler/derive.PatternWeights; the FC threshold by default).
// ConeMax (nnls.go) is the cone projection every exact evaluation uses; the
// certificate visits patterns by decreasing ‖𝒫ᵀv‖ and stops projecting once that
// upper bound falls below the maximum found. CertifyDualMult (mult.go) replaces the
// projections by the bound ‖s𝒫ᵀv + 𝒞ᵀμ‖ of a solver's cone multipliers μ ≥ 0 (weak
// duality of the same Moreau decomposition): looser, but a product per pattern, for
// certifying a stopped run on a program with millions of cone rows within a second or
// two. The gradients 𝒫ᵀv of all patterns are chunked matrix products (gradientsAll).
//
// Measured (BenchmarkConeMax*, shared 2-core machine at load ≈ 20, so ±40 %): one
// projection of a random direction onto an FC cone of 200 rows in R¹¹ 0.09–0.19 ms,
// onto a CNN cone of 9800 rows in R¹⁷ 12–15 ms. Before: 0.84 ms and 38.5 ms with
// gonum's QR refactored and condition-estimated at every active-set step; 0.26–0.29
// ms and 33–34 ms with the Householder solve but a row-by-row loop for M·u (now
// Gemv, measured in the same run).
//
// The certificate. Let v = −∇_ŷ ℓ(ŷ) (squared loss: v = y − ŷ; with an output bias, v is
// centred onto 1ᵀv = 0, the dual constraint of the free bias), or any other dual point
// (CertifyDual: a solver's). The candidate is globally optimal iff
//
//	M(v) = max_p max_{u ∈ B₂ ∩ 𝒦_p} |vᵀ 𝒫_p u| ≤ β,   𝒦_p = {u : Sign_p ⊙ C u ≥ 0},
//
// over every pattern p of the full arrangement (FC: 𝒫_p = D_p X, 𝒦_p = {(2D_p − I)Xu ≥ 0};
// gated: 𝒦_p = Rʰ). Each inner maximum is ‖Π_{𝒦_p}(±𝒫_pᵀ v)‖ (ConeMax). The ratio
// ρ = M(v)/β says how far v is from dual feasibility.
//
// # Losses and their conjugates
//
// Every template program is min_{x, b₀} ℓ(ŷ) + βΣ_b R_b(x_b) with ŷ = Σ_b s_b𝒫_b x_b
// (+ b₀1 with an unpenalised output bias) and 𝒞_b x_b ≥ 0. With λ the multiplier of
// the prediction equation and μ_b ≥ 0 of the cones, the Lagrangian
//
//	ℓ(z) + λᵀz − λᵀ(Σ_b s_b𝒫_b x_b + b₀1) + βΣ_b R_b(x_b) − Σ_b μ_bᵀ𝒞_b x_b
//
// minimised over z gives D(λ) = −ℓ*(−λ) = min_z ℓ(z) + λᵀz (Loss: squared
// λᵀy − ½‖λ‖²; hinge Σ λᵢ/yᵢ with λᵢ/yᵢ ∈ [0, 1]; logistic Σ H(λᵢ/yᵢ), H the binary
// entropy, λᵢ/yᵢ ∈ [0, 1]); over a block x_b it is 0 when R°_b(s_b𝒫_bᵀλ + 𝒞_bᵀμ_b) ≤ β
// (R° the dual norm: ‖·‖₂ for R = ‖·‖₂) and −∞ otherwise; over b₀ it is 0 when 1ᵀλ = 0.
// So the dual of the program is
//
//	maximise D(λ)  s.t.  R°_b(s_b𝒫_bᵀλ + 𝒞_bᵀμ_b) ≤ β, μ_b ≥ 0 (every block b), 1ᵀλ = 0 (bias),
//
// and for R = ‖·‖₂, min_{μ_b ≥ 0} ‖g + 𝒞_bᵀμ_b‖₂ = max_{u ∈ B₂ ∩ 𝒦_b} gᵀu (Moreau),
// the cone maximum above: the dual constraints of all blocks together are exactly
// M(λ) ≤ β. The constraints are positively homogeneous in λ and the domains of the three conjugates are boxes that
// contain 0, so θλ is dual feasible for every θ ≤ 1/ρ (ρ = M(λ)/β), and D(θλ) is a
// lower bound on the optimum over the patterns whose ρ was taken. With the exact
// pattern set this is the global optimum of the non-convex problem (§1.3). The best θ
// is Loss.BestScale; at an optimum λ = −∇ℓ(ŷ) with ρ = 1, and the bound is tight.
//
// # Bounds that hold in floating point
//
// A bound printed as certified must be a lower bound in floating point, not a value
// that is a lower bound only in exact arithmetic. SafeBound therefore
//
//  1. takes ρ from an upper bound that holds in exact arithmetic: per pattern,
//     ‖fl(g + Mᵀμ)‖ enlarged by the rounding error of every product that formed it
//     (γ_m = mu/(1 − mu) per dot product of length m, u = 2⁻⁵³; ConeMaxUp, NormUp),
//     with μ ≥ 0 the active-set method's multipliers — any μ ≥ 0 gives an upper bound
//     (Moreau), so the NNLS need not be exact;
//  2. scales by θ ≤ (1 − 8u)/ρ, so θλ is dual feasible in exact arithmetic;
//  3. evaluates D(θλ) with a bound on its own rounding error (Loss.DualScaled:
//     γ_{n+6}·Σ|terms| plus, for the logarithms, a few ulps per term) and subtracts it;
//  4. with an output bias, bounds the residual |1ᵀλ| ≤ |fl(1ᵀλ)| + γ_n‖λ‖₁ and
//     subtracts θ·|1ᵀλ|·B, where B bounds |b₀| on the set of points whose objective
//     is at most ℓ(0) (BiasRange): by weak duality with the bias term kept,
//     p* ≥ D(θλ) − θ(1ᵀλ)b₀* ≥ D(θλ) − θ|1ᵀλ|·B.
//
// The margins are of the order of 1e-15 relative: invisible in a gap of 1e-9, but they
// make the bound a theorem about the computed numbers.
//
// Critical β (BetaMax): the all-zero network (plus the best bias) is optimal iff
// β ≥ β_max = M(−∇ℓ(0)) (squared: M(y), or M(y − ȳ) with an output bias).
package certify

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/cnnc-org/cnnc/backend/convex"

	"gonum.org/v1/gonum/mat"
)

// Result is the outcome of a certificate computation.
type Result struct {
	// Max is an upper bound, valid in exact arithmetic, on M(λ) over the patterns
	// checked (ConeMaxUp); Ratio = Max/β rounded up is the ρ of the certificate.
	Max   float64
	Ratio float64
	// Argmax: the family, pattern (column of that family) and sign (+1: λᵀ𝒫u, −1: −λᵀ𝒫u)
	// attaining M, and the unit vector u attaining it.
	Family, Pattern int
	Sign            float64
	U               []float64
	// Lambda is the dual point the certificate was evaluated at.
	Lambda []float64
	// Bound is the floating-point-safe lower bound SafeBound(λ, Ratio) on the optimum
	// over the patterns checked; LowerBound is Bound.Value (NaN when the loss has none).
	Bound      Bound
	LowerBound float64
	// Checked counts the (pattern, sign) maximisations (patterns whose gradient bound
	// is at most the best value found are not maximised: their value cannot exceed
	// it); Inexact counts those whose active-set solve hit its iteration cap (their
	// bound is still an upper bound).
	Checked, Inexact int
}

// Residual returns the dual point of a prediction, λ = −∇_ŷ ℓ(ŷ, y) (Loss.Residual:
// squared y − ŷ; logistic yᵢσ(−yᵢŷᵢ); hinge yᵢ·1[yᵢŷᵢ ≤ 1]). With an output bias it
// is centred onto 1ᵀλ = 0 inside the loss's domain (Loss.Center).
func Residual(p *convex.Program, yhat []float64) []float64 {
	loss, err := ProgramLoss(p)
	if err != nil {
		loss = Loss{Squared, p.Y}
	}
	v := loss.Residual(yhat)
	if p.OutputBias {
		loss.Center(v)
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
	_, val, sign, u, ok = patternMaxUp(f, q, v, nil, 0)
	return val, sign, u, ok
}

// patternMaxUp is PatternMax with an upper bound on the maximum that holds in exact
// arithmetic (ConeMaxUp with Gradient's rounding bound; an: the row norms of A, nil to
// compute them). A sign is skipped when NormUp(g) + gErr ≤ floor, a bound the caller
// already has (the maximum over that sign cannot exceed it).
func patternMaxUp(f *convex.Family, q int, v, an []float64, floor float64) (bnd, val, sign float64, u []float64, ok bool) {
	if an == nil {
		an = rowNormsUp(f.A)
	}
	g := Gradient(f, q, v)
	ge := gradientErr(f, q, v, an)
	M := ConeRows(f, q)
	ok = true
	sign = 1
	gn := up(NormUp(g) + ge)
	for _, s := range signsOf(f) {
		if gn <= math.Max(floor, val) {
			continue
		}
		gs := g
		if s < 0 {
			gs = make([]float64, len(g))
			for k := range g {
				gs[k] = -g[k]
			}
		}
		b, vv, uu, good := ConeMaxUp(gs, M, ge)
		ok = ok && good
		b = math.Max(b, vv)
		if b > bnd {
			bnd = b
		}
		if vv > val || u == nil {
			val, sign, u = vv, s, uu
		}
	}
	return bnd, val, sign, u, ok
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
// certifies optimality over the restricted pattern set only) at the prediction's own
// dual point λ = Residual(ŷ). It is CertifyDual(p, Residual(p, ŷ), fams).
func Certify(p *convex.Program, yhat []float64, fams []*convex.Family) (*Result, error) {
	if len(yhat) != p.N {
		return nil, fmt.Errorf("certify: %d predictions for %d samples", len(yhat), p.N)
	}
	return CertifyDual(p, Residual(p, yhat), fams)
}

// CertifyDual computes the certificate of the dual point λ over the patterns of fams
// (nil: the program's own): ρ = Max/β with Max an upper bound on
// M(λ) = max_p max_{u ∈ B₂ ∩ 𝒦_p} |λᵀ𝒫_p u| that holds in exact arithmetic, and the
// floating-point-safe bound SafeBound(λ, ρ). λ must be in the loss's domain and, with
// an output bias, centred (Loss.Clip, Loss.Center); a λ outside the domain gives
// LowerBound NaN.
func CertifyDual(p *convex.Program, lam []float64, fams []*convex.Family) (*Result, error) {
	if err := supported(p); err != nil {
		return nil, err
	}
	if len(lam) != p.N {
		return nil, fmt.Errorf("certify: dual point of length %d for %d samples", len(lam), p.N)
	}
	if fams == nil {
		fams = p.Families
	}
	res := &Result{Family: -1, Pattern: -1, Lambda: append([]float64(nil), lam...)}
	argVal := 0.0
	// Patterns in decreasing order of their gradient bound ‖𝒫ᵀλ‖ (rounded up), which
	// bounds the value from above: once it is at most the best value found, no later
	// pattern can exceed that (nor res.Max ≥ it) and the projections stop. The bound
	// is the same as checking every pattern.
	type cand struct {
		f, q int
		gn   float64
	}
	var order []cand
	ans := make([][]float64, len(fams))
	for fi, f := range fams {
		ans[fi] = rowNormsUp(f.A)
		G, ge := gradientsAll(f, lam, ans[fi])
		for q := range G {
			order = append(order, cand{fi, q, up(NormUp(G[q]) + ge[q])})
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].gn > order[j].gn })
	// batches of GOMAXPROCS patterns maximised in parallel, each with the floor
	// known when the batch starts, folded in order (the same Max as one at a time:
	// a skipped sign's bound is at most the floor ≤ the best value ≤ Max; Checked can
	// differ with the number of processors, the result does not)
	type out struct {
		b, val, s float64
		u         []float64
		ok        bool
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	for i := 0; i < len(order) && order[i].gn > argVal; {
		j := i
		for j < len(order) && j < i+workers && order[j].gn > argVal {
			j++
		}
		batch := order[i:j]
		outs := make([]out, len(batch))
		floor := argVal
		var wg sync.WaitGroup
		for k := range batch {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				c := batch[k]
				o := &outs[k]
				o.b, o.val, o.s, o.u, o.ok = patternMaxUp(fams[c.f], c.q, lam, ans[c.f], floor)
			}(k)
		}
		wg.Wait()
		for k, c := range batch {
			o := outs[k]
			res.Checked += len(signsOf(fams[c.f]))
			if !o.ok {
				res.Inexact++
			}
			if o.b > res.Max {
				res.Max = o.b
			}
			if o.val > argVal {
				argVal, res.Family, res.Pattern, res.Sign, res.U = o.val, c.f, c.q, o.s, o.u
			}
		}
		i = j
	}
	return finish(p, fams, lam, res), nil
}

// CertifyDualNorms is CertifyDual with the cheap bound only: Max is the largest
// gradient bound ‖𝒫ᵀλ‖ (rounded up, with its rounding error) over the patterns of
// fams, which bounds M(λ) from above because every cone lies in the whole space. No
// cone is maximised (Checked = 0, Family = Pattern = −1), so the cost is one product
// 𝒫ᵀλ per pattern; the bound is valid and looser than CertifyDual's. For callers that
// must finish quickly (after an interruption).
func CertifyDualNorms(p *convex.Program, lam []float64, fams []*convex.Family) (*Result, error) {
	if err := supported(p); err != nil {
		return nil, err
	}
	if len(lam) != p.N {
		return nil, fmt.Errorf("certify: dual point of length %d for %d samples", len(lam), p.N)
	}
	if fams == nil {
		fams = p.Families
	}
	res := &Result{Family: -1, Pattern: -1, Lambda: append([]float64(nil), lam...)}
	for _, f := range fams {
		G, ge := gradientsAll(f, lam, rowNormsUp(f.A))
		for q := range G {
			res.Max = math.Max(res.Max, up(NormUp(G[q])+ge[q]))
		}
	}
	return finish(p, fams, lam, res), nil
}

// finish sets the ratio ρ = Max/β (rounded up) and the floating-point-safe bound of
// res at λ, NaN when λ is outside the loss's domain.
func finish(p *convex.Program, fams []*convex.Family, lam []float64, res *Result) *Result {
	res.Ratio = up(res.Max / p.Beta)
	res.Bound = SafeBound(p, fams, lam, res.Ratio)
	res.LowerBound = res.Bound.Value
	if loss, _ := ProgramLoss(p); !inDomain(loss, lam) {
		res.LowerBound = math.NaN()
		res.Bound.Value = math.NaN()
	}
	return res
}

func inDomain(l Loss, lam []float64) bool {
	for i, v := range lam {
		lo, hi := l.Interval(i)
		if !(v >= lo && v <= hi) {
			return false
		}
	}
	return true
}

// DualBound is the floating-point-safe dual bound at v for a ratio ρ that bounds
// M(v)/β from above (SafeBound over the program's own families).
func DualBound(p *convex.Program, v []float64, rho float64) float64 {
	return SafeBound(p, nil, v, rho).Value
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
