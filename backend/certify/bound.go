package certify

import (
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/cnnc-org/cnnc/backend/convex"

	"gonum.org/v1/gonum/mat"
)

// unit is the unit roundoff of float64 (2⁻⁵³).
const unit = 0x1p-53

// gamma is γ_m = m·u/(1 − m·u): |fl(Σ_{k≤m} a_k b_k) − Σ a_k b_k| ≤ γ_m Σ|a_k b_k| for
// any order of summation, with or without fused multiply–adds (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1). For m·u ≥ ½ it returns +Inf.
func gamma(m int) float64 {
	mu := float64(m) * unit
	if mu >= 0.5 {
		return math.Inf(1)
	}
	return mu / (1 - mu)
}

// Gamma exports γ_m for solvers that compute the certificate's products with their own
// kernels and must add the same rounding margins (see NormUp, SafeBound).
func Gamma(m int) float64 { return gamma(m) }

// NormUp returns an upper bound on the exact Euclidean norm of the floating-point
// vector v: sqrt(Σvᵢ²) evaluated in floating point is within γ_{h+2} (relative) of the
// exact norm (h squares and sums, one square root), so the result is enlarged by
// γ_{h+3}.
func NormUp(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s) * (1 + gamma(len(v)+3))
}

// up rounds a nonnegative bound up by a relative 4u (the few roundings of the
// arithmetic that combines bounds).
func up(x float64) float64 { return x * (1 + 4*unit) }

// Bound is a lower bound on a template program's optimum computed from a dual point λ,
// so that it holds in floating point (package doc, "Bounds that hold in floating
// point").
type Bound struct {
	// Value is the certified lower bound: D(θλ) − Margin − BiasTerm, and at least 0
	// (every loss and every block cost is nonnegative, so 0 always bounds the optimum).
	Value float64
	// Dual is D(θλ) as computed.
	Dual float64
	// Theta is the scaling of λ: 0 ≤ θ ≤ 1/Rho, inside the loss's domain, chosen to
	// maximise D(θλ).
	Theta float64
	// Rho is the upper bound on ρ(λ) the scaling rests on (the caller's, at least 0).
	Rho float64
	// Margin bounds the rounding error of Dual.
	Margin float64
	// BiasTerm is θ·|1ᵀλ|·B: the cost of the residual of the bias constraint 1ᵀλ = 0
	// (|b₀| ≤ B on the program's level set). 0 without an output bias.
	BiasTerm float64
	// Trivial is true when the computed bound was below 0 (or not finite) and Value is
	// the trivial bound 0.
	Trivial bool
}

// SafeBound turns a dual point into a lower bound on the optimum of the template
// program p over the patterns of fams (nil: p.Families) that holds in floating point.
//
// λ must be in the loss's domain (Loss.Clip; with an output bias, centred by
// Loss.Center). rhoUp must be an upper bound, valid in exact arithmetic, on
// ρ(λ) = max_b R°_b(s𝒫_bᵀλ + 𝒞_bᵀμ_b)/β over the blocks b of fams for some μ_b ≥ 0
// (R°_b the dual norm of the block cost: ‖·‖₂ for CostL2), as CertifyDual and
// ConeMaxUp compute it. Then θλ with θ ≤ 1/rhoUp satisfies every dual constraint, and
//
//	p* ≥ D(θλ) − θ·|1ᵀλ|·B
//
// (the last term only with an output bias; B bounds |b₀| over the points whose
// objective is at most ℓ(0), which contain every optimum). SafeBound picks
// θ = BestScale(λ, (1 − 8u)/rhoUp), evaluates D(θλ) with Loss.DualScaled's rounding
// margin, bounds |1ᵀλ| by |fl(1ᵀλ)| + γ_n‖λ‖₁, and subtracts both.
func SafeBound(p *convex.Program, fams []*convex.Family, lam []float64, rhoUp float64) Bound {
	loss, err := ProgramLoss(p)
	if err != nil || len(lam) != len(p.Y) {
		return Bound{Value: math.NaN(), Dual: math.NaN(), Rho: rhoUp}
	}
	if fams == nil {
		fams = p.Families
	}
	b := Bound{Rho: math.Max(0, rhoUp)}
	thetaMax := math.Inf(1)
	if b.Rho > 0 {
		thetaMax = (1 - 8*unit) / b.Rho
	}
	if math.IsInf(thetaMax, 1) {
		thetaMax = math.MaxFloat64
	}
	b.Theta = loss.BestScale(lam, thetaMax)
	b.Dual, b.Margin = loss.DualScaled(lam, b.Theta)
	if p.OutputBias && b.Theta > 0 {
		s, a := 0.0, 0.0
		for _, v := range lam {
			s += v
			a += math.Abs(v)
		}
		res := up(math.Abs(s) + gamma(len(lam))*a)
		if res > 0 {
			B := BiasRange(p, fams, loss.UpperValue())
			b.BiasTerm = up(b.Theta * res * B)
			if math.IsNaN(b.BiasTerm) {
				b.BiasTerm = math.Inf(1)
			}
		}
	}
	v := b.Dual - b.Margin - b.BiasTerm
	v -= 4 * unit * math.Abs(v) // the two subtractions
	if !(v >= 0) {
		v, b.Trivial = 0, true
	}
	b.Value = v
	return b
}

// BiasRange returns B ≥ |b₀| for every point (x, b₀) of the template program p (with
// the patterns of fams) whose objective is at most U: on that set βΣ_b R_b(x_b) ≤ U,
// so Σ_b c_f‖x_b‖ ≤ U/β with c_f ≤ R_b(x)/‖x‖ (1 for ‖·‖₂; for CostMaps the smallest
// singular value of the stacked maps w_jT_j), and every prediction of the blocks is
// bounded: |(Σ_b s𝒫_b x_b)_i| ≤ S_i = (U/β)·max_f a_{f,i}/c_f with
// a_{f,i} = Σ_{r: Sample[r]=i} |w_r|·‖A_r‖, w_r the row's pooling weight (every
// pattern's Weight on row r is 0 or w_r). The loss bounds ŷᵢ = (…)ᵢ + b₀:
//
//	squared   |ŷᵢ − yᵢ| ≤ √(2U)                 ⇒ |b₀| ≤ |yᵢ| + √(2U) + S_i
//	hinge     yᵢŷᵢ ≥ 1 − U
//	logistic  yᵢŷᵢ ≥ −log(e^U − 1)             ⇒ b₀ ≥ m/yᵢ − S_i (yᵢ > 0), b₀ ≤ m/yᵢ + S_i (yᵢ < 0)
//
// (m the right-hand side). With labels of one sign only the hinge and logistic
// losses do not bound b₀ and B = +Inf. The result is enlarged by 1e-9 relative (it
// multiplies a rounding residual, so only its order of magnitude matters).
func BiasRange(p *convex.Program, fams []*convex.Family, U float64) float64 {
	if fams == nil {
		fams = p.Families
	}
	if len(p.Terms) > 0 || len(p.Vars) > 0 || !(p.Beta > 0) {
		return math.Inf(1)
	}
	S := make([]float64, p.N)
	for _, f := range fams {
		c := costFloor(f)
		if !(c > 0) {
			return math.Inf(1)
		}
		np, _ := f.A.Dims()
		a := make([]float64, p.N)
		for r := 0; r < np; r++ {
			// every pattern's weight on row r is 0 or the row's pooling weight, so this
			// holds for any pattern set, the full arrangement included
			w := math.Abs(f.Weight.RowWeight(r))
			a[f.Sample[r]] += w * norm(f.A.RawRowView(r))
		}
		for i := range S {
			S[i] = math.Max(S[i], a[i]/c)
		}
	}
	for i := range S {
		S[i] *= U / p.Beta
	}
	loss, err := ProgramLoss(p)
	if err != nil {
		return math.Inf(1)
	}
	B := math.Inf(1)
	switch loss.Kind {
	case Squared:
		r := math.Sqrt(2 * U)
		for i, y := range p.Y {
			B = math.Min(B, math.Abs(y)+r+S[i])
		}
	default:
		m := 1 - U
		if loss.Kind == Logistic {
			m = -math.Log(math.Expm1(U))
		}
		lo, hi := math.Inf(-1), math.Inf(1)
		for i, y := range p.Y {
			switch {
			case y > 0:
				lo = math.Max(lo, m/y-S[i])
			case y < 0:
				hi = math.Min(hi, m/y+S[i])
			}
		}
		B = math.Max(math.Abs(lo), math.Abs(hi))
	}
	return B * (1 + 1e-9)
}

// costFloor returns c > 0 with R(x) ≥ c‖x‖₂ for the family's block cost: 1 for ‖·‖₂;
// for CostMaps R(x) = Σ_j w_j‖T_j x‖ ≥ ‖[w_jT_j]_j x‖ ≥ σ_min([w_jT_j]_j)‖x‖, reduced by
// 1e-9 relative for the SVD's rounding (0 when the stacked maps are rank-deficient).
func costFloor(f *convex.Family) float64 {
	if f.Cost.Kind != convex.CostMaps {
		return 1
	}
	rows := 0
	for _, T := range f.Cost.Maps {
		r, _ := T.Dims()
		rows += r
	}
	if rows < f.H {
		return 0
	}
	F := mat.NewDense(rows, f.H, nil)
	o := 0
	for j, T := range f.Cost.Maps {
		r, _ := T.Dims()
		for i := 0; i < r; i++ {
			for k := 0; k < f.H; k++ {
				F.Set(o+i, k, f.Cost.Weights[j]*T.At(i, k))
			}
		}
		o += r
	}
	var svd mat.SVD
	if !svd.Factorize(F, mat.SVDNone) {
		return 0
	}
	s := svd.Values(nil)
	smin := s[len(s)-1]
	if !(smin > 1e-12*s[0]) {
		return 0
	}
	return smin * (1 - 1e-9)
}

// ConeMaxUp returns an upper bound, valid in exact arithmetic, on
// max_{u ∈ B₂ ∩ 𝒦} g_trueᵀu for every vector g_true within gErr (Euclidean) of the
// floating-point g, where 𝒦 = {u : Mu ≥ 0} (M nil: Rʰ), together with ConeMax's value
// and maximiser. By Moreau, max ≤ ‖g + Mᵀλ‖ for every λ ≥ 0 (and = for the optimal
// λ). λ is recovered on ConeMax's active rows A by least squares,
// M_Aᵀλ_A ≈ val·u − g (clipped at 0: any λ ≥ 0 gives a bound); w = fl(g + Mᵀλ) is
// within γ_{m+1}(‖g‖ + Σ_jλ_j‖M_j‖) of g + Mᵀλ, so
//
//	bound = NormUp(w) + γ_{m+1}(‖g‖ + Σ_j λ_j‖M_j‖)↑ + gErr.
func ConeMaxUp(g []float64, M *mat.Dense, gErr float64) (bound, val float64, u []float64, ok bool) {
	bound, val, u, _, ok = coneMaxUp(g, M, gErr)
	return bound, val, u, ok
}

// coneMaxUp is ConeMaxUp that also returns ConeMax's active rows.
func coneMaxUp(g []float64, M *mat.Dense, gErr float64) (bound, val float64, u []float64, active []int, ok bool) {
	val, u, active, ok = ConeMax(g, M)
	if M == nil || len(active) == 0 {
		return up(NormUp(g) + gErr), val, u, active, ok
	}
	_, h := M.Dims()
	// λ_A = argmin ‖M_Aᵀλ − (val·u − g)‖ (M_Aᵀ is h × |A|, |A| ≤ h for a
	// Lawson–Hanson active set of independent rows)
	r := make([]float64, h)
	for k := range r {
		r[k] = val*u[k] - g[k]
	}
	lam := activeMultipliers(M, active, r)
	w := append([]float64(nil), g...)
	lm := 0.0
	for a, j := range active {
		if lam[a] <= 0 {
			continue
		}
		row := M.RawRowView(j)
		for k := 0; k < h; k++ {
			w[k] += lam[a] * row[k]
		}
		lm += lam[a] * NormUp(row)
	}
	e := gamma(len(active)+1) * up(NormUp(g)+lm)
	return up(NormUp(w) + e + gErr), val, u, active, ok
}

// activeMultipliers returns λ ≥ 0 (one per active row) with M_Aᵀλ close to r: the
// least-squares solution, clipped at 0 (nil entries are 0 when M_A is
// rank-deficient).
func activeMultipliers(M *mat.Dense, active []int, r []float64) []float64 {
	_, h := M.Dims()
	lam := make([]float64, len(active))
	if len(active) > h {
		return lam
	}
	E := mat.NewDense(h, len(active), nil)
	for a, j := range active {
		E.SetCol(a, M.RawRowView(j))
	}
	var qr mat.QR
	qr.Factorize(E)
	var s mat.VecDense
	if err := qr.SolveVecTo(&s, false, mat.NewVecDense(h, r)); err != nil {
		return lam
	}
	for a := range lam {
		if v := s.AtVec(a); v > 0 && !math.IsInf(v, 0) {
			lam[a] = v
		}
	}
	return lam
}

// gradientErr bounds the rounding error of Gradient(f, q, λ) in the Euclidean norm:
// g = Σ_r c_r A_r with c_r = fl(Weight[r,q]·λ_{Sample[r]}), each coordinate a sum of at
// most Np products, so ‖fl(g) − g‖ ≤ γ_{Np+1}·Σ_r |Weight[r,q]·λ_{Sample[r]}|·‖A_r‖
// (Minkowski over the coordinates). an holds the row norms ‖A_r‖ (rowNormsUp).
func gradientErr(f *convex.Family, q int, lam, an []float64) float64 {
	s := 0.0
	for r, a := range an {
		if w := f.Weight.At(r, q); w != 0 {
			s += math.Abs(w*lam[f.Sample[r]]) * a
		}
	}
	return gamma(len(an)+1) * up(s)
}

// rowNormsUp returns upper bounds on the Euclidean norms of the rows of A.
func rowNormsUp(A *mat.Dense) []float64 {
	if A == nil {
		return nil
	}
	r, _ := A.Dims()
	out := make([]float64, r)
	for i := range out {
		out[i] = NormUp(A.RawRowView(i))
	}
	return out
}

// CostFloor returns c > 0 with R(x) ≥ c‖x‖₂ for the family's block cost (1 for ‖·‖₂;
// for CostMaps σ_min of the stacked weighted maps, reduced by 1e-9 relative), or 0 when
// the stacked maps are rank-deficient.
func CostFloor(f *convex.Family) float64 { return costFloor(f) }

// gradChunk is the number of rows of A per product in gradientsAll (a multiple of
// 64, so a chunk starts on a word of the pattern masks).
const gradChunk = 4096

// gradientsAll returns Gradient(f, q, λ) for every pattern q of f (P × H, row q) and
// gradientErr's bound for each, computed as products of chunks of rows: for the
// rows r in [lo, hi), the P × (hi − lo) matrix with entries Weight[r,q]·λ_{Sample[r]}
// times A's rows (one Gemm), and Σ_r |Weight[r,q]·λ_{Sample[r]}|·‖A_r‖ alongside. Each
// coordinate is still a sum of at most Np products, so gradientErr's γ_{Np+1} bound
// holds whatever the order. Chunks run on up to GOMAXPROCS goroutines into their own
// buffers, summed in chunk order: the result does not depend on the number of cores.
// At n = 10 000 Fashion-MNIST images (490 000 patch rows, 200 patterns) this is a
// few tenths of a second where the per-pattern loop took over a second.
func gradientsAll(f *convex.Family, lam, an []float64) (G [][]float64, errs []float64) {
	np, h := f.A.Dims()
	P := f.Patterns()
	G = make([][]float64, P)
	errs = make([]float64, P)
	if P == 0 {
		return G, errs
	}
	nch := (np + gradChunk - 1) / gradChunk
	parts := make([][]float64, nch) // per chunk: P×H products, then P error sums
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < max(1, min(runtime.GOMAXPROCS(0), nch)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc := make([]float64, P*gradChunk)
			for {
				c := int(next.Add(1) - 1)
				if c >= nch {
					return
				}
				lo, hi := c*gradChunk, min(np, (c+1)*gradChunk)
				m := hi - lo
				clear(wc[:P*m])
				out := make([]float64, P*h+P)
				es := out[P*h:]
				for q := 0; q < P; q++ {
					words := f.Weight.Mask.Words(q)
					row := wc[q*m : (q+1)*m]
					s := 0.0
					for wi := lo >> 6; wi<<6 < hi; wi++ {
						for b := words[wi]; b != 0; b &= b - 1 {
							r := wi<<6 + bits.TrailingZeros64(b)
							v := f.Weight.RowWeight(r) * lam[f.Sample[r]]
							row[r-lo] = v
							s += math.Abs(v) * an[r]
						}
					}
					es[q] = s
				}
				raw := f.A.RawMatrix()
				blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
					blas64.General{Rows: P, Cols: m, Stride: m, Data: wc[:P*m]},
					blas64.General{Rows: m, Cols: h, Stride: raw.Stride, Data: raw.Data[lo*raw.Stride:]},
					0, blas64.General{Rows: P, Cols: h, Stride: h, Data: out[:P*h]})
				parts[c] = out
			}
		}()
	}
	wg.Wait()
	for q := 0; q < P; q++ {
		G[q] = make([]float64, h)
	}
	for _, out := range parts {
		for q := 0; q < P; q++ {
			g := G[q]
			for k, v := range out[q*h : (q+1)*h] {
				g[k] += v
			}
			errs[q] += out[P*h+q]
		}
	}
	gm := gamma(np + 1)
	for q := range errs {
		errs[q] = gm * up(errs[q])
	}
	return G, errs
}
