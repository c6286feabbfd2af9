package convex

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Anchored is the anchored convex relaxation of a one-hidden-layer CNN with one
// shared filter w ∈ Rᴴ, ReLU and fixed non-negative output weights c_k (§11,
// docs/math/11-fixed-output.md). The network's output on sample i is
//
//	f_i(w) = Σ_k c_k (x_ikᵀ w)_+        (k = 1..K positions, x_ik the patches)
//
// and the program, with the anchor a and the noise budget ε ≥ 0, is
//
//	minimize   −aᵀw
//	subject to t_ik ≥ 0,  t_ik ≥ x_ikᵀw,  Σ_k c_k t_ik ≤ y_i + s_i  (i = 1..N),  ‖s‖₂ ≤ ε
//
// with variables w (H), t (N·K) and s (N, only when ε > 0; with ε = 0 the rows read
// Σ_k c_k t_ik ≤ y_i and the program is an LP). It is minimised as −aᵀw so that every
// back end (conic exports, solvers) sees a minimisation; the relaxation's value is
// aᵀw. Its projection on w is {w : ‖(f(w) − y)_+‖₂ ≤ ε}, a convex set (each f_i is
// convex because c ≥ 0) that contains every network with zero training loss.
//
// A Program carrying an Anchored part has no families, generic parts or loss: the
// solution lives in Solution.Vars under the names "w", "t" and "s" (t position-major:
// entry k·N + i is t_ik, the row order of X).
type Anchored struct {
	Layer  int        // provenance: the conv layer the filter becomes
	K      int        // positions per sample
	H      int        // filter length (C·∏kernel, +1 when the conv has a bias)
	X      *mat.Dense // N·K × H patches, position-major: row k·N + i is x_ikᵀ
	C      []float64  // K fixed output weights c_k ≥ 0 (pooling weight × fixed value)
	Anchor []float64  // a ∈ Rᴴ
	Eps    float64    // noise budget ε ≥ 0 (0: the LP)
}

// Names of the anchored program's variables in Solution.Vars.
const (
	AnchoredW = "w"
	AnchoredT = "t"
	AnchoredS = "s"
)

// F returns f_i(w) = Σ_k c_k (x_ikᵀw)_+ for every sample (length n).
func (a *Anchored) F(w []float64, n int) []float64 {
	f := make([]float64, n)
	if len(w) != a.H {
		for i := range f {
			f[i] = math.NaN()
		}
		return f
	}
	for k := 0; k < a.K; k++ {
		ck := a.C[k]
		if ck == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			z := dotVec(a.X.RawRowView(k*n+i), w)
			if z > 0 {
				f[i] += ck * z
			}
		}
	}
	return f
}

// Value is aᵀw, the relaxation's objective (maximised).
func (a *Anchored) Value(w []float64) float64 {
	if len(w) != a.H {
		return math.NaN()
	}
	return dotVec(a.Anchor, w)
}

// violation is the largest violation of the anchored constraints at s (see
// Program.Violation): rows t ≥ 0, t − Xw ≥ 0, y + s − Σ_k c_k t ≥ 0 (s absent: 0)
// and ε − ‖s‖₂ ≥ 0.
func (a *Anchored) violation(p *Program, s *Solution) float64 {
	n := p.N
	w, t, sv := s.Vars[AnchoredW], s.Vars[AnchoredT], s.Vars[AnchoredS]
	if len(w) != a.H || len(t) != n*a.K || (a.Eps > 0 && len(sv) != n) {
		return math.Inf(1)
	}
	worst := 0.0
	for r := 0; r < n*a.K; r++ {
		worst = math.Max(worst, -t[r])
		worst = math.Max(worst, dotVec(a.X.RawRowView(r), w)-t[r])
	}
	for i := 0; i < n; i++ {
		e := -p.Y[i]
		for k := 0; k < a.K; k++ {
			e += a.C[k] * t[k*n+i]
		}
		if a.Eps > 0 {
			e -= sv[i]
		}
		worst = math.Max(worst, e)
	}
	if a.Eps > 0 {
		worst = math.Max(worst, mat.Norm(mat.NewVecDense(n, sv), 2)-a.Eps)
	}
	return worst
}

// sizes counts the anchored program: H + N·K (+ N) variables, 2N·K + N linear rows,
// one second-order cone of size N + 1 when ε > 0.
func (a *Anchored) sizes(n int) Sizes {
	z := Sizes{Samples: n, Variables: a.H + n*a.K, Constraints: 2*n*a.K + n}
	if a.Eps > 0 {
		z.Variables += n
		z.Norms = 1
		z.NormSizes = []int{n}
	}
	return z
}

// describe writes the anchored program for `cnnc explain`.
func (a *Anchored) describe(w io.Writer, p *Program) {
	fmt.Fprintf(w, "model %s: %s (%s, docs/math/11-fixed-output.md)\n\n", p.Model, p.Theorem, p.Section)
	fmt.Fprintf(w, "  maximize   aᵀw   over the filter w ∈ R^%d (a = the least-squares anchor)\n", a.H)
	fmt.Fprintf(w, "  subject to t_ik ≥ 0,  t_ik ≥ x_ikᵀw,  ")
	if a.Eps > 0 {
		fmt.Fprintf(w, "Σ_k c_k t_ik ≤ y_i + s_i,  ‖s‖₂ ≤ ε = %g   (an SOCP)\n", a.Eps)
	} else {
		fmt.Fprintf(w, "Σ_k c_k t_ik ≤ y_i   (an LP: noise budget ε = 0)\n")
	}
	fmt.Fprintf(w, "  for        i = 1..%d samples, k = 1..%d positions, c = %s\n", p.N, a.K, fmtWeights(a.C))
	fmt.Fprintf(w, "  so that    w ranges over {w : ‖(f(w) − y)₊‖₂ ≤ ε}, f_i(w) = Σ_k c_k (x_ikᵀw)₊ (convex: c ≥ 0),\n")
	fmt.Fprintf(w, "             a convex set holding every network with zero training loss\n")
	if p.Regularizer != "" {
		fmt.Fprintf(w, "\nImplicit regulariser: %s\n", p.Regularizer)
	}
	z := a.sizes(p.N)
	fmt.Fprintf(w, "\nSizes: %d samples, %d variables, %d linear constraints", z.Samples, z.Variables, z.Constraints)
	if a.Eps > 0 {
		fmt.Fprintf(w, ", 1 second-order cone (size %d)", p.N+1)
	}
	fmt.Fprintln(w)
}

// fmtWeights prints c compactly: "1/K·(1, …, 1)"-style constants as one number.
func fmtWeights(c []float64) string {
	same := true
	for _, v := range c {
		same = same && v == c[0]
	}
	if same && len(c) > 0 {
		return fmt.Sprintf("%g at every position", c[0])
	}
	if len(c) <= 8 {
		return fmt.Sprint(c)
	}
	return fmt.Sprintf("%v … (%d weights)", c[:8], len(c))
}

func dotVec(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
