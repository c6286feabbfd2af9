// Package pattern owns activation patterns (hyperplane arrangements) of a matrix A
// (§1.2, docs/math/01-machinery.md): the sets 𝒟(A) = { diag(1[A u ≥ 0]) : u ∈ Rʰ } that the
// convex programs of §2–§6 have one variable block per element of.
//
// Input: A (N × h; FC: A = X, CNN: A = the stacked patch matrix M). Output: a *Set
// holding D (N × P, entries 0/1, column p is the diagonal of D_p) and, for every
// pattern, a generating gate g_p ∈ Rʰ with 1[A g_p ≥ 0] = D_p (a point of the pattern's
// cone 𝒦_p = { u : (2D_p − I) A u ≥ 0 }); D is a bit matrix (convex.Mask, one bit per
// entry). The all-zero pattern is always dropped: it
// adds nothing to any prediction.
//
// Pipeline position: compiler/derive calls Exact or Sample on the data matrix before it
// builds a convex.Family; the adaptive mode of compiler/train grows a Set with Add.
//
// Three ways to get patterns:
//
//   - Exact: exact enumeration of the arrangement for data in general position
//     (§1.2): project onto the row space of A (rank r); every full-dimensional cell of the
//     central arrangement {A_k u = 0} in Rʳ has an extreme ray w cut out by r − 1 of the
//     hyperplanes (rows S); perturbing u = ±w + ε Σ_j s_j v_j with A_S v_j = e_j reaches
//     every cell around that ray (2ʳ sign choices). ε is chosen per ray so that no other
//     hyperplane is crossed, so the pattern of each perturbed point is known exactly:
//     1[±A_k w ≥ 0] off S and 1[s_j > 0] on S. Rays through more than r − 1 hyperplanes
//     (degenerate data) are skipped; seeded random samples are added as a safety net.
//     For data in general position the count equals Cover's 2 Σ_{k<r} C(N−1, k)
//     (CoverCount), which is checked against max before enumerating.
//   - Sample: Gaussian gates g ~ N(0, I_h), D = 1[A g ≥ 0], duplicates and the zero
//     pattern removed (what scnn and convex_nn do). The program is then a restriction.
//   - Add: one pattern at a time (adaptive column generation).
//
// Three-layer networks with two ReLU layers (§9b, docs/math/09-three-layer.md) need
// pattern *pairs* — a configuration of first-layer patterns with the signs of their
// second-layer weights, and a second-layer pattern reachable in it: PairProblem (pairs.go)
// enumerates them exactly (incremental cell splitting with strict-feasibility tests,
// ldp.go), samples them from random branches, and maps a gate to its pair (PairOf).
//
// Measured (pairs, m1 = 2; go test ./compiler/derive, ./cmd/cnnc at load 18–29 on 2
// cores — re-measure on a quiet machine): the §9b reference instance A (n = 6, d = 2):
// P1 = 12, 430 pairs (the reference script's 524 include 94 that predict nothing);
// B (n = 5, two features + bias): P1 = 21, 1482 pairs; a spiral of 8 points with bias:
// 16054 pairs, 7 s to enumerate (1.4 s CPU); 10 points: 49765 pairs.
package pattern

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/progress"
)

// Options bound the work of ExactWith and SampleWith. The zero value applies the
// default memory budget, reports no progress and never stops early.
type Options struct {
	// MaxMemory is the memory budget in bytes (package budget: 0 the default, < 0
	// none). Before allocating, the stage compares SetBytes of its largest possible
	// pattern count with it (Exact: min(max, Cover's count); Sample: min(n, Cover's
	// count for rank ≤ min(N, h))) and returns a *budget.TooLarge error above it;
	// Sample also stops with that error if the set actually outgrows the budget.
	MaxMemory int64
	// Progress receives the progress of sampling (gates drawn) and enumeration
	// (ray subsets visited); nil: none.
	Progress progress.Reporter
	// Context ends the work early (checked every 256 gates or subsets): the error
	// returned is ctx.Err(). nil: never.
	Context context.Context
}

// SetBytes is the memory a Set of P patterns of an N × h matrix holds: per pattern
// its D column as mask words and again as its map key (N/8 bytes each, rounded up
// to words), its gate twice (list and Gates matrix), and some map overhead.
func SetBytes(P, N, h int64) int64 {
	words := (N + 63) / 64
	return budget.Mul(P, budget.Add(budget.Mul(16, words), budget.Mul(16, h), 64))
}

// stopped reports ctx's error, if any.
func stopped(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}

// Set is a deterministic, duplicate-free list of activation patterns of one matrix A.
type Set struct {
	// D is N × P, stored as bits (convex.Mask): column p is the diagonal of D_p.
	D *convex.Mask
	// Gates is h × P: column p is a gate g_p with 1[A g_p ≥ 0] = D_p.
	Gates *mat.Dense
	// Rank is rank(A) as used by Exact (0 when not computed).
	Rank int
	// Exhaustive is true when the set is the full arrangement 𝒟(A) minus the zero
	// pattern (Exact on data whose enumeration met no degenerate ray).
	Exhaustive bool
	// Evaluations counts the candidate points whose pattern was formed.
	Evaluations int
	// SawZero is true when the all-zero pattern occurred (and was dropped).
	SawZero bool

	n, h  int
	keys  map[string]int
	gates [][]float64
	words []uint64 // scratch: one column
}

// NewSet returns an empty pattern set for an N × h matrix.
func NewSet(n, h int) *Set {
	s := &Set{n: n, h: h, keys: map[string]int{}, D: convex.NewMask(n, 0)}
	s.words = make([]uint64, s.D.Stride())
	s.build()
	return s
}

// Len is the number of patterns P.
func (s *Set) Len() int { _, p := s.D.Dims(); return p }

// Pattern returns column p of D as 0/1 floats (a fresh slice).
func (s *Set) Pattern(p int) []float64 {
	d := make([]float64, s.n)
	s.D.Each(p, func(r int) { d[r] = 1 })
	return d
}

// Gate returns the gate of pattern p (a fresh slice).
func (s *Set) Gate(p int) []float64 { return append([]float64(nil), s.gates[p]...) }

// Has reports whether the pattern d (0/1 entries) is in the set.
func (s *Set) Has(d []float64) bool {
	if len(d) != s.n {
		return false
	}
	_, ok := s.keys[wordsKey(toWords(d, s.words))]
	return ok
}

// HasWords reports whether the pattern given as mask words (convex.Mask layout) is in the set.
func (s *Set) HasWords(w []uint64) bool {
	_, ok := s.keys[wordsKey(w)]
	return ok
}

// Add appends the pattern d (0/1 entries, length N) with its gate g (length h) unless
// it is already present or all zero; it reports whether it was added. Gates is
// rebuilt (h × P); D grows by one column.
func (s *Set) Add(d, g []float64) bool {
	if len(d) != s.n || len(g) != s.h {
		return false
	}
	if !s.addWords(toWords(d, s.words), g) {
		return false
	}
	s.build()
	return true
}

// addWords appends the pattern given as mask words unless present or zero.
func (s *Set) addWords(w []uint64, g []float64) bool {
	zero := true
	for _, x := range w {
		if x != 0 {
			zero = false
			break
		}
	}
	if zero {
		s.SawZero = true
		return false
	}
	k := wordsKey(w)
	if _, ok := s.keys[k]; ok {
		return false
	}
	s.keys[k] = s.Len()
	s.D.AppendWords(w)
	s.gates = append(s.gates, append([]float64(nil), g...))
	return true
}

// build materialises Gates from the gate list.
func (s *Set) build() {
	p := len(s.gates)
	if p == 0 {
		s.Gates = nil
		return
	}
	s.Gates = mat.NewDense(s.h, p, nil)
	for j := range s.gates {
		s.Gates.SetCol(j, s.gates[j])
	}
}

// toWords packs the 0/1 column d into w (mask layout).
func toWords(d []float64, w []uint64) []uint64 {
	for k := range w {
		w[k] = 0
	}
	for i, v := range d {
		if v != 0 {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
	return w
}

// wordsKey is the map key of a column: its words as bytes.
func wordsKey(w []uint64) string {
	b := make([]byte, 8*len(w))
	for k, x := range w {
		binary.LittleEndian.PutUint64(b[8*k:], x)
	}
	return string(b)
}

// Of returns the pattern 1[A u ≥ 0] of the gate u.
func Of(A mat.Matrix, u []float64) []float64 {
	n, _ := A.Dims()
	z := mat.NewVecDense(n, nil)
	z.MulVec(A, mat.NewVecDense(len(u), u))
	d := make([]float64, n)
	for i := range d {
		if z.AtVec(i) >= 0 {
			d[i] = 1
		}
	}
	return d
}

// OfWords sets w (mask layout, ⌈N/64⌉ words) to the pattern 1[A u ≥ 0] of the gate u;
// z (length N) is scratch.
func OfWords(A *mat.Dense, u, z []float64, w []uint64) {
	n, _ := A.Dims()
	zv := mat.NewVecDense(n, z)
	zv.MulVec(A, mat.NewVecDense(len(u), u))
	for k := range w {
		w[k] = 0
	}
	for i, v := range z[:n] {
		if v >= 0 {
			w[i>>6] |= 1 << (uint(i) & 63)
		}
	}
}

// CoverCount is Cover's count of the cells of a central arrangement of N hyperplanes
// in general position in Rʳ: 2 Σ_{k=0}^{r−1} C(N−1, k) (including the all-negative
// cell, i.e. the zero pattern). It is returned as float64 because it overflows int
// quickly; it is exact while below 2⁵³.
func CoverCount(N, r int) float64 {
	if N <= 0 || r <= 0 {
		return 1
	}
	sum, c := 0.0, 1.0 // c = C(N−1, k)
	for k := 0; k < r && k <= N-1; k++ {
		sum += c
		c = c * float64(N-1-k) / float64(k+1)
	}
	return 2 * sum
}

// binom is C(n, k) as float64.
func binom(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	c := 1.0
	for i := 0; i < k; i++ {
		c = c * float64(n-i) / float64(i+1)
	}
	return math.Round(c)
}

// MaxWork bounds the enumeration cost C(N, r−1)·N·r (scalar operations) that Exact
// accepts, independently of max: about 10 seconds of work.
const MaxWork = 4e9

// safetySamples is the number of seeded random gates Exact adds (seed 0).
const safetySamples = 4000

// Exact is ExactWith with the zero Options (the default memory budget).
func Exact(A *mat.Dense, max int) (*Set, error) { return ExactWith(A, max, Options{}) }

// ExactWith enumerates 𝒟(A) (without the zero pattern), refusing with an error when
// Cover's count for (N, rank A) exceeds max, the enumeration would cost more than
// MaxWork, or the set (and the SVD of A) would not fit the memory budget of o.
// Patterns are sorted lexicographically (row 0 first, 1 before 0), so the result is
// deterministic.
func ExactWith(A *mat.Dense, max int, o Options) (*Set, error) {
	N, h := A.Dims()
	if N == 0 || h == 0 {
		return nil, fmt.Errorf("patterns exact: the matrix is empty (%d×%d)", N, h)
	}
	// The thin SVD holds U (N × min(N, h)), V (h × h) and a copy of A.
	svdBytes := budget.Floats(budget.Add(budget.Mul(int64(N), int64(min(N, h))), budget.Mul(int64(h), int64(h)), budget.Mul(int64(N), int64(h))))
	if err := budget.Check(o.MaxMemory, svdBytes, fmt.Sprintf("patterns exact: the SVD of the %d × %d data matrix", N, h),
		"Use fewer samples (`limit N`) or a smaller kernel, or `patterns sample N`."); err != nil {
		return nil, err
	}
	B, r, err := rowSpace(A, "patterns exact")
	if err != nil {
		return nil, err
	}
	set := NewSet(N, h)
	set.Rank = r
	if r == 0 { // A = 0: every u gives 1[0 ≥ 0] = all ones
		ones := make([]float64, N)
		for i := range ones {
			ones[i] = 1
		}
		g := make([]float64, h)
		g[0] = 1
		set.Add(ones, g)
		set.Exhaustive = true
		return set, nil
	}
	var Ar mat.Dense
	Ar.Mul(A, B) // N × r
	// Distinct hyperplanes: rows that are (±) multiples of each other cut the same
	// hyperplane, and zero rows (Aᵣu = 0 always) are constant 1; enumerate on the
	// distinct ones and expand (a negative multiple takes the complement on open cells).
	uniq, rep, sgn := hyperplanes(&Ar)
	Nu := len(uniq)
	if c := CoverCount(Nu, r); c-1 > float64(max) {
		return nil, fmt.Errorf("patterns exact: the data (%d distinct hyperplanes, rank %d) have up to %.4g activation patterns (Cover's count 2Σ_{k<%d}C(%d,k)), more than max=%d; raise max, or use `patterns sample N` or `patterns adaptive`", Nu, r, c, r, Nu-1, max)
	}
	if w := binom(Nu, r-1) * float64(Nu*r); w > MaxWork {
		return nil, fmt.Errorf("patterns exact: enumerating the arrangement of %d hyperplanes in rank %d needs C(%d,%d)·2^%d = %.3g ray evaluations, too many; use `patterns sample N` or `patterns adaptive`", Nu, r, Nu, r-1, r, binom(Nu, r-1)*math.Pow(2, float64(r)))
	}
	// The enumeration collects every pattern once, then copies them in sorted order.
	maxP := int64(math.Min(CoverCount(Nu, r), float64(max)+1) + safetySamples)
	if err := budget.Check(o.MaxMemory, 2*SetBytes(maxP, int64(N), int64(h)),
		fmt.Sprintf("patterns exact: up to %d activation patterns of %d rows", maxP, N),
		"Lower `max`, use fewer samples (`limit N`), or use `patterns sample N` or `patterns adaptive`."); err != nil {
		return nil, err
	}
	Au := mat.NewDense(max1(Nu), r, nil)
	rowNorm := make([]float64, Nu)
	maxNorm := 0.0
	for a, i := range uniq {
		Au.SetRow(a, Ar.RawRowView(i))
		rowNorm[a] = mat.Norm(Au.RowView(a), 2)
		maxNorm = math.Max(maxNorm, rowNorm[a])
	}
	toGate := func(u []float64) []float64 {
		g := mat.NewVecDense(h, nil)
		g.MulVec(B, mat.NewVecDense(r, u))
		return g.RawVector().Data
	}
	raw := NewSet(N, h) // collect without rebuilding D each time
	full := make([]float64, N)
	emit := func(du, u []float64) {
		for i := 0; i < N; i++ {
			switch {
			case rep[i] < 0:
				full[i] = 1
			case sgn[i] > 0:
				full[i] = du[rep[i]]
			default:
				full[i] = 1 - du[rep[i]]
			}
		}
		raw.addWords(toWords(full, raw.words), toGate(u))
		raw.Evaluations++
	}
	degenerate := false
	if r == 1 {
		for _, s0 := range []float64{1, -1} {
			u := []float64{s0}
			emit(Of(Au, u), u)
		}
	} else {
		task := progress.Start(o.Progress, "patterns exact", int64(binom(Nu, r-1)), "hyperplane subsets")
		var err error
		degenerate, err = enumerateRays(Au, rowNorm, maxNorm, emit, task, o.Context)
		task.End()
		if err != nil {
			return nil, err
		}
	}
	// safety net: seeded Gaussian gates in the row space
	rng := rand.New(rand.NewSource(0))
	u := make([]float64, r)
	for k := 0; k < safetySamples; k++ {
		for j := range u {
			u[j] = rng.NormFloat64()
		}
		if raw.addWords(toWords(Of(&Ar, u), raw.words), toGate(u)) && !degenerate {
			degenerate = true // the ray enumeration missed a cell: data not in general position
		}
		raw.Evaluations++
	}
	sortInto(raw, set)
	set.Evaluations = raw.Evaluations
	set.SawZero = raw.SawZero
	set.Exhaustive = !degenerate
	return set, nil
}

// hyperplanes groups the rows of Ar by the hyperplane they define: uniq lists one
// representative row per hyperplane; rep[i] is the index into uniq of row i's
// hyperplane (−1 for a zero row) and sgn[i] = ±1 says whether row i is a positive or
// negative multiple of its representative.
func hyperplanes(Ar *mat.Dense) (uniq, rep []int, sgn []float64) {
	N, r := Ar.Dims()
	rep = make([]int, N)
	sgn = make([]float64, N)
	index := map[string]int{}
	unit := make([]float64, r)
	maxNorm := 0.0
	for i := 0; i < N; i++ {
		maxNorm = math.Max(maxNorm, mat.Norm(Ar.RowView(i), 2))
	}
	for i := 0; i < N; i++ {
		row := Ar.RawRowView(i)
		nrm := mat.Norm(Ar.RowView(i), 2)
		if nrm <= 1e-12*maxNorm {
			rep[i] = -1
			continue
		}
		// canonical direction: first clearly nonzero coordinate positive
		s := 1.0
		for _, v := range row {
			if math.Abs(v) > 1e-9*nrm {
				if v < 0 {
					s = -1
				}
				break
			}
		}
		b := make([]byte, 0, 8*r)
		for j, v := range row {
			unit[j] = s * v / nrm
			if math.Abs(unit[j]) < 5e-10 {
				unit[j] = 0
			}
			b = fmt.Appendf(b, "%.9f,", unit[j]) // rounding merges numerically equal directions
		}
		k := string(b)
		a, ok := index[k]
		if !ok {
			a = len(uniq)
			index[k] = a
			uniq = append(uniq, i)
			sgn[i] = 1
			rep[i] = a
			continue
		}
		rep[i] = a
		// sign relative to the representative
		if mat.Dot(Ar.RowView(i), Ar.RowView(uniq[a])) >= 0 {
			sgn[i] = 1
		} else {
			sgn[i] = -1
		}
	}
	return uniq, rep, sgn
}

// rowSpace checks that A is finite and returns an orthonormal basis B (h × r) of its
// row space, r its numerical rank (singular values above 1e-10 of the largest; B is nil
// when r = 0). what prefixes the errors.
func rowSpace(A *mat.Dense, what string) (B *mat.Dense, r int, err error) {
	N, h := A.Dims()
	for i := 0; i < N; i++ {
		for j := 0; j < h; j++ {
			if v := A.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, 0, fmt.Errorf("%s: entry (%d,%d) is %v", what, i, j, v)
			}
		}
	}
	var svd mat.SVD
	if !svd.Factorize(A, mat.SVDThin) {
		return nil, 0, fmt.Errorf("%s: SVD of the %d×%d data matrix failed", what, N, h)
	}
	sv := svd.Values(nil)
	for _, v := range sv {
		if v > 1e-10*sv[0] {
			r++
		}
	}
	if r == 0 {
		return nil, 0, nil
	}
	var V mat.Dense
	svd.VTo(&V)
	return mat.DenseCopyOf(V.Slice(0, h, 0, r)), r, nil
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// enumerateRays runs the (r−1)-subset ray enumeration on Ar (N × r, rank r ≥ 2, one
// row per hyperplane), calling emit(d, u) with an interior point u of every cell of the
// central arrangement and its pattern d = 1[Ar u > 0].
//
// Why it is complete: Ar has rank r, so every cell is a pointed cone with an extreme
// ray, a one-dimensional intersection of hyperplanes, i.e. the null space of some r − 1
// independent rows S. Near such a ray ±w every cell touching it is fixed on the rows
// off the ray (sign of ±Ar w) and is a cell of the local arrangement of the rows
// through the ray. In general position only S passes through w and the local cells
// are the 2^(r−1) sign choices on S (a dual basis V, A_S V = I, moves u = ±w + εVs into
// each). When more rows pass through w (a degenerate ray: max pooling's difference
// rows, ties, integer data) the local arrangement — those rows projected on w⊥, rank
// r − 1 — is enumerated by the same method one dimension lower (localCells), once per
// ray. Dependent subsets S span no ray and are skipped. The result is true when the
// enumeration could not finish a ray numerically (a singular system); the caller's
// safety-net samples catch any cell this missed (then the set is not exhaustive).
func enumerateRays(Ar *mat.Dense, rowNorm []float64, maxNorm float64, emit func(d, u []float64), task *progress.Task, ctx context.Context) (bool, error) {
	N, r := Ar.Dims()
	k := r - 1
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	inS := make([]bool, N)
	As := mat.NewDense(k, r, nil)
	z := make([]float64, N)
	d := make([]float64, N)
	u := make([]float64, r)
	degenerate := false
	tol := 1e-9 * maxNorm
	seen := map[string]bool{} // degenerate rays done, by the rows through them
	for visited := 1; ; visited++ {
		if visited%256 == 0 {
			if err := stopped(ctx); err != nil {
				return degenerate, err
			}
		}
		task.Add(1)
		for a, i := range idx {
			As.SetRow(a, Ar.RawRowView(i))
			inS[i] = true
		}
		// w spans null(A_S); dual basis V = A_Sᵀ(A_S A_Sᵀ)⁻¹ so that A_S V = I, V ⊥ w.
		var svd mat.SVD
		ok := svd.Factorize(As, mat.SVDFull)
		var sv []float64
		if ok {
			sv = svd.Values(nil)
		}
		if !ok || sv[k-1] <= 1e-10*sv[0] {
			// dependent rows: their null space is not a ray (an independent subset finds
			// every ray), nothing to do
		} else {
			var Vt mat.Dense
			svd.VTo(&Vt)
			w := mat.Col(nil, r-1, &Vt)
			var G, Ginv, V mat.Dense
			G.Mul(As, As.T())
			if err := Ginv.Inverse(&G); err != nil {
				degenerate = true
			} else {
				V.Mul(As.T(), &Ginv) // r × k
				margin := math.Inf(1)
				for i := 0; i < N; i++ {
					z[i] = mat.Dot(Ar.RowView(i), mat.NewVecDense(r, w))
					if !inS[i] {
						margin = math.Min(margin, math.Abs(z[i]))
					}
				}
				if margin <= tol {
					if done, err := degenerateRay(Ar, z, w, &Vt, tol, maxNorm, seen, emit, ctx); err != nil {
						return degenerate, err
					} else if !done {
						degenerate = true
					}
				} else {
					vs := 0.0
					for j := 0; j < k; j++ {
						vs += mat.Norm(V.ColView(j), 2)
					}
					eps := 0.5 * margin / (maxNorm * vs)
					for _, s0 := range []float64{1, -1} {
						for signs := 0; signs < 1<<k; signs++ {
							for i := 0; i < N; i++ {
								if !inS[i] {
									d[i] = b2f(s0*z[i] > 0)
								}
							}
							for c := 0; c < r; c++ {
								u[c] = s0 * w[c]
							}
							for j, i := range idx {
								s := 1.0
								if signs&(1<<j) != 0 {
									s = -1
								}
								d[i] = b2f(s > 0)
								for c := 0; c < r; c++ {
									u[c] += eps * s * V.At(c, j)
								}
							}
							emit(d, u)
						}
					}
				}
			}
		}
		for _, i := range idx {
			inS[i] = false
		}
		// next combination
		j := k - 1
		for j >= 0 && idx[j] == N-k+j {
			j--
		}
		if j < 0 {
			return degenerate, nil
		}
		idx[j]++
		for l := j + 1; l < k; l++ {
			idx[l] = idx[l-1] + 1
		}
	}
}

// degenerateRay emits the cells around the ray ±w of Ar that more than r − 1 rows pass
// through: T, the rows with |z_i| = |Ar_i·w| ≤ tol, are projected on w⊥ (the first r − 1
// columns of V, the right singular vectors of the subset that found w: an orthonormal
// basis of w⊥) and their central arrangement, of rank r − 1, is enumerated by
// localCells; each local cell's interior direction δ moves u = ±w + εδ into the cell,
// with ε small enough to keep the sign of every row off the ray. Each ray is done once
// (seen, keyed by T). It returns false when the local enumeration failed numerically.
func degenerateRay(Ar *mat.Dense, z, w []float64, V *mat.Dense, tol, maxNorm float64, seen map[string]bool, emit func(d, u []float64), ctx context.Context) (bool, error) {
	N, r := Ar.Dims()
	k := r - 1
	var T []int
	key := make([]byte, 0, 64)
	margin := math.Inf(1)
	for i := 0; i < N; i++ {
		if math.Abs(z[i]) <= tol {
			T = append(T, i)
			key = fmt.Appendf(key, "%d,", i)
		} else {
			margin = math.Min(margin, math.Abs(z[i]))
		}
	}
	if seen[string(key)] {
		return true, nil
	}
	seen[string(key)] = true
	Q := V.Slice(0, r, 0, k) // orthonormal basis of w⊥
	B := mat.NewDense(len(T), k, nil)
	for a, i := range T {
		B.RowView(a).(*mat.VecDense).MulVec(Q.T(), Ar.RowView(i))
	}
	dirs, ok, err := localCells(B, ctx)
	if err != nil || !ok {
		return ok, err
	}
	d := make([]float64, N)
	u := make([]float64, r)
	delta := mat.NewVecDense(r, nil)
	for _, dl := range dirs {
		delta.MulVec(Q, mat.NewVecDense(k, dl))
		eps := 1.0
		if !math.IsInf(margin, 1) {
			eps = 0.5 * margin / (maxNorm * mat.Norm(delta, 2))
		}
		for _, s0 := range []float64{1, -1} {
			for i := 0; i < N; i++ {
				d[i] = b2f(s0*z[i] > 0)
			}
			for a, i := range T {
				d[i] = b2f(mat.Dot(B.RowView(a), mat.NewVecDense(k, dl)) > 0)
			}
			for c := 0; c < r; c++ {
				u[c] = s0*w[c] + eps*delta.AtVec(c)
			}
			emit(d, u)
		}
	}
	return true, nil
}

// localCells returns an interior direction of every cell of the central arrangement of
// B's rows (rank = its column count k ≥ 1; rows nonzero): ±1 for k = 1, else the ray
// enumeration on B's distinct hyperplanes, which recurses on degenerate rays. ok is
// false when that enumeration reported a numerical failure.
func localCells(B *mat.Dense, ctx context.Context) (dirs [][]float64, ok bool, err error) {
	_, k := B.Dims()
	if k == 1 {
		return [][]float64{{1}, {-1}}, true, nil
	}
	uniq, _, _ := hyperplanes(B)
	Bu := mat.NewDense(len(uniq), k, nil)
	norms := make([]float64, len(uniq))
	maxNorm := 0.0
	for a, i := range uniq {
		Bu.SetRow(a, B.RawRowView(i))
		norms[a] = mat.Norm(Bu.RowView(a), 2)
		maxNorm = math.Max(maxNorm, norms[a])
	}
	if len(uniq) < k {
		return nil, false, nil // cannot happen for rank k; treat as a failure
	}
	bad, err := enumerateRays(Bu, norms, maxNorm, func(_, u []float64) {
		dirs = append(dirs, append([]float64(nil), u...))
	}, nil, ctx)
	return dirs, !bad, err
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sortInto copies raw's patterns into dst in lexicographic order of D's columns
// (row 0 first, ones before zeros), so enumeration order never leaks into the program.
func sortInto(raw, dst *Set) {
	order := make([]int, raw.Len())
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return lexGreater(raw.D.Words(order[i]), raw.D.Words(order[j])) })
	for _, i := range order {
		dst.addWords(raw.D.Words(i), raw.gates[i])
	}
	dst.build()
}

// lexGreater compares two columns as 0/1 strings from row 0 on ('1' > '0').
func lexGreater(a, b []uint64) bool {
	for k := range a {
		if a[k] == b[k] {
			continue
		}
		// the lowest differing bit is the first differing row
		low := bits.TrailingZeros64(a[k] ^ b[k])
		return a[k]>>uint(low)&1 == 1
	}
	return false
}

// Sample is SampleWith without a memory budget, progress or context.
func Sample(A *mat.Dense, n int, seed int64) *Set {
	s, _ := SampleWith(A, n, seed, Options{MaxMemory: -1})
	return s
}

// SampleWith draws n Gaussian gates g ~ N(0, I_h) from a generator seeded with seed
// and keeps the distinct nonzero patterns 1[A g ≥ 0] in order of first appearance,
// each with the first gate that produced it. The result is deterministic per seed.
//
// Sampling stops early once the set holds Cover's count for rank min(N, h) minus
// the zero pattern: no arrangement has more cells, so no further gate can add one
// (the set is then the same as after all n gates). Before sampling, the largest set
// possible, min(n, that count) patterns, is checked against o's memory budget; the
// set is checked again as it grows.
func SampleWith(A *mat.Dense, n int, seed int64, o Options) (*Set, error) {
	N, h := A.Dims()
	set := NewSet(N, h)
	bound := CoverCount(N, min(N, h)) - 1 // the most nonzero patterns any arrangement has
	maxP := math.Min(float64(n), bound)
	what := func(p float64) string {
		return fmt.Sprintf("patterns sample: up to %.0f distinct activation patterns of %d rows (%d features)", p, N, h)
	}
	const hint = "Sample fewer patterns (`patterns sample N`), use fewer samples (`limit N`), or use `patterns adaptive` with a smaller start."
	if err := budget.Check(o.MaxMemory, SetBytes(int64(maxP), int64(N), int64(h)), what(maxP), hint); err != nil {
		return nil, err
	}
	per := SetBytes(1, int64(N), int64(h))
	task := progress.Start(o.Progress, "patterns sample", int64(n), "gates")
	defer task.End()
	rng := rand.New(rand.NewSource(seed))
	g := make([]float64, h)
	z := make([]float64, N)
	w := make([]uint64, set.D.Stride())
	for k := 0; k < n; k++ {
		if k%256 == 255 {
			if err := stopped(o.Context); err != nil {
				return nil, err
			}
		}
		for j := range g {
			g[j] = rng.NormFloat64()
		}
		OfWords(A, g, z, w)
		if set.addWords(w, g) {
			if err := budget.Check(o.MaxMemory, budget.Mul(per, int64(set.Len())), what(float64(set.Len())), hint); err != nil {
				return nil, err
			}
		}
		set.Evaluations++
		task.Add(1)
		if float64(set.Len()) >= bound {
			break
		}
	}
	set.build()
	return set, nil
}
