package canon

import (
	"math"
	"runtime"
	"sync"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// IRRED (Options.Irredundant): the cone rows a pattern's other rows imply are left out.
//
//	Source:  𝒦_p = {x : a_r·x ≥ 0 for every row r of pattern p}, a_r = Sign[r,p]·C_r
//	         (the same cone for both copies v_p and w_p)
//	Target:  the rows of a subset R_p ⊆ rows(p) such that every other row is a
//	         nonnegative combination of R_p: a_j = Σ_{i∈R_p} λ_i a_i + e_j, λ ≥ 0,
//	         ‖e_j‖ ≤ IrredundantTol·‖a_j‖. Then a_j·x = Σλ_i a_i·x + e_j·x ≥ −‖e_j‖‖x‖ on
//	         the reduced cone, so the reduced cone is 𝒦_p up to a relative violation of
//	         IrredundantTol (10⁻⁹, far below any solver's tolerance): a solution of the
//	         reduced program violates a left-out row by at most 10⁻⁹‖a_j‖‖x‖.
//	         The residual that decides is recomputed from λ in floating point and
//	         increased by a bound on that computation's rounding (roundingBound).
//	Dual:    the left-out rows get multiplier 0; a left-out row's multiplier can be moved
//	         onto R_p through λ (γ_j a_j = Σ γ_j λ_i a_i), so nothing of the certificate
//	         is lost.
//
// A cone defined by Nc half-spaces in Rᴴ has few facets when Nc ≫ H. Measured: on the
// 100-image Fashion-MNIST program (examples/fashion_gap.cnn with limit 100: H = 16,
// 3 631 nonblank patch rows per pattern, 200 patterns) 1 452 400 cone rows become
// 28 972 (about 72 per pattern, 50-fold fewer; the pass took 45 CPU-seconds); on the
// two-layer benchmark (n = 200 rows in R¹¹, 100 patterns) 40 000 become 9 408.
//
// Method (Clarkson's redundancy removal, with a nonnegative least-squares test in
// place of the LP). Exact duplicate rows and blank rows are dropped first. An interior point z of 𝒦_p
// (a_r·z > 0 for all r) is the pattern's gate when it is strictly interior, else the
// least-distance point of {x : a_r·x ≥ 1} (Lawson–Hanson LDP, one NNLS over all rows);
// when neither exists (the cone has no interior) the pattern keeps every row. Then, for
// each row j in order: NNLS min_{λ≥0} ‖A_Rᵀλ − a_j‖ over the rows kept so far. A
// residual below the tolerance, recomputed from λ in floating point plus a bound on that
// computation's rounding error (roundingBound), drops j. Otherwise
// x = A_Rᵀλ − a_j satisfies a_i·x ≥ 0 on R and a_j·x < 0, and the first row the
// segment from z to x leaves 𝒦_p through is a facet: it is kept, and j is tested again
// (or kept when it is that row). Only rows with a certified combination are left out,
// whatever the rounding in the search; the search only decides how few rows remain.
// Each pattern costs about (Nc + |R|) small NNLS solves; patterns run in parallel.
//
// IrredundantTol is the largest relative residual ‖e_j‖/‖a_j‖ of a left-out row.
const IrredundantTol = 1e-9

// ReduceStats counts the cone rows before and after IRRED.
type ReduceStats struct {
	Rows, Kept int // over all families and patterns (each copy counted once)
	Patterns   int // patterns reduced
	Skipped    int // patterns kept whole (no interior point)
}

// irredundantSigns returns fam.Sign with every left-out row of every pattern set to 0
// (nil when fam has no cone constraints), and adds to st. done is called after each
// pattern (may be nil).
func irredundantSigns(fam *convex.Family, st *ReduceStats, done func()) *convex.ConeSigns {
	if fam.C == nil || fam.Sign == nil {
		return fam.Sign
	}
	nc, h := fam.C.Dims()
	P := fam.Patterns()
	keep := make([][]int, P) // kept rows per pattern, increasing
	skipped := make([]bool, P)
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(1, min(runtime.GOMAXPROCS(0), P)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := range work {
				var gate []float64
				if fam.Gates != nil {
					gate = make([]float64, h)
					for j := range gate {
						gate[j] = fam.Gates.At(j, q)
					}
				}
				var rows []int
				var a [][]float64
				fam.Sign.On.Each(q, func(r int) {
					rows = append(rows, r)
					sg := fam.Sign.At(r, q)
					v := make([]float64, h)
					for j, c := range fam.C.RawRowView(r) {
						v[j] = sg * c
					}
					a = append(a, v)
				})
				k, ok := irredundant(a, gate)
				skipped[q] = !ok
				out := make([]int, len(k))
				for i, idx := range k {
					out[i] = rows[idx]
				}
				keep[q] = out
				if done != nil {
					done()
				}
			}
		}()
	}
	for q := 0; q < P; q++ {
		work <- q
	}
	close(work)
	wg.Wait()
	S := convex.NewConeSigns(nc)
	col := make([]float64, nc)
	for q := 0; q < P; q++ {
		clear(col)
		for _, r := range keep[q] {
			col[r] = fam.Sign.At(r, q)
		}
		if err := S.AppendCol(col); err != nil { // entries are fam.Sign's: cannot fail
			panic(err)
		}
		st.Rows += fam.Sign.Count(q)
		st.Kept += len(keep[q])
		st.Patterns++
		if skipped[q] {
			st.Skipped++
		}
	}
	return S
}

// irredundant returns the indices (increasing) of a subset of the rows a whose
// nonnegative combinations give every row to IrredundantTol (see IRRED), and whether
// the reduction ran (false: every nonzero row is returned). gate, when not nil, is
// tried as the interior point.
func irredundant(a [][]float64, gate []float64) ([]int, bool) {
	n := len(a)
	all := func() []int {
		idx := make([]int, 0, n)
		for i := range a {
			idx = append(idx, i)
		}
		return idx
	}
	if n <= 1 {
		return all(), true
	}
	h := len(a[0])
	norms := make([]float64, n)
	// dup marks rows left out at once: exact duplicates (the first copy stands for the
	// others) and blank rows (0 ≥ 0 holds everywhere)
	dup := make([]bool, n)
	for i, v := range a {
		norms[i] = norm2(v)
		if !(norms[i] < math.Inf(1)) {
			return all(), false
		}
		dup[i] = norms[i] == 0
	}
	seen := make(map[string]int, n)
	key := make([]byte, 8*h)
	for i, v := range a {
		if dup[i] {
			continue
		}
		for j, x := range v {
			b := math.Float64bits(x)
			for k := 0; k < 8; k++ {
				key[8*j+k] = byte(b >> (8 * k))
			}
		}
		if _, ok := seen[string(key)]; ok {
			dup[i] = true
		} else {
			seen[string(key)] = i
		}
	}
	// unit rows u_i = a_i/‖a_i‖ (positive scaling keeps every half-space)
	u := make([][]float64, n)
	for i, v := range a {
		u[i] = make([]float64, h)
		if norms[i] == 0 {
			continue
		}
		for j, x := range v {
			u[i][j] = x / norms[i]
		}
	}
	z := interiorPoint(u, dup, gate)
	if z == nil {
		return all(), false
	}
	uz := make([]float64, n)
	for i := range u {
		uz[i] = dot(u[i], z)
	}
	inR := make([]bool, n)
	var R []int
	nn := newNNLS(h)
	x := make([]float64, h)
	for j := 0; j < n; j++ {
		if dup[j] || inR[j] {
			continue
		}
		for guard := 0; ; guard++ {
			if len(R) > 0 && guard <= n {
				lam := nn.solve(u, R, u[j])
				if residual(u, R, lam, u[j], x)+roundingBound(lam, h) <= IrredundantTol {
					break // implied by R: left out
				}
			} else {
				copy(x, u[j])
				for k := range x {
					x[k] = -x[k]
				}
			}
			if guard > n { // cannot happen (R grows every round); keep j
				inR[j], R = true, append(R, j)
				break
			}
			// x: a_i·x ≳ 0 on R, a_j·x < 0. First row crossed on z → x.
			best, bt := -1, math.Inf(1)
			for i := range u {
				if inR[i] || dup[i] {
					continue
				}
				ux := dot(u[i], x)
				if ux >= 0 {
					continue
				}
				if t := uz[i] / (uz[i] - ux); t < bt {
					best, bt = i, t
				}
			}
			if best < 0 {
				best = j
			}
			inR[best], R = true, append(R, best)
			if best == j {
				break
			}
		}
	}
	out := make([]int, 0, len(R))
	for i := range u {
		if inR[i] {
			out = append(out, i)
		}
	}
	return out, true
}

// interiorPoint returns z with u_i·z > 0 for every (non-duplicate) row, or nil: the
// gate when it is strictly interior, else the least-distance point of {x : U x ≥ 1}
// (Lawson–Hanson LDP: NNLS min ‖Eλ − e_{h+1}‖ over E = [Uᵀ; 1ᵀ], λ ≥ 0; with
// r = Eλ − e_{h+1}, x = −r_{1:h}/r_{h+1} when r_{h+1} < 0, and no such x otherwise).
func interiorPoint(u [][]float64, dup []bool, gate []float64) []float64 {
	h := len(u[0])
	ok := func(z []float64) bool {
		nz := norm2(z)
		if !(nz > 0) || math.IsInf(nz, 0) {
			return false
		}
		for i, v := range u {
			if !dup[i] && dot(v, z) <= 1e-9*nz {
				return false
			}
		}
		return true
	}
	if gate != nil && ok(gate) {
		return gate
	}
	cols := make([][]float64, 0, len(u))
	var idx []int
	for i, v := range u {
		if dup[i] {
			continue
		}
		c := make([]float64, h+1)
		copy(c, v)
		c[h] = 1
		cols = append(cols, c)
		idx = append(idx, len(cols)-1)
	}
	f := make([]float64, h+1)
	f[h] = 1
	nn := newNNLS(h + 1)
	lam := nn.solve(cols, idx, f)
	r := make([]float64, h+1)
	for k, i := range idx {
		for j, c := range cols[i] {
			r[j] += lam[k] * c
		}
	}
	r[h] -= 1
	if !(r[h] < -1e-12) {
		return nil
	}
	z := make([]float64, h)
	for j := range z {
		z[j] = -r[j] / r[h]
	}
	if !ok(z) {
		return nil
	}
	return z
}

// residual computes x = Σ_k lam[k]·u[R[k]] − b and returns ‖x‖ (lam ≥ 0 is enforced by
// the caller's NNLS; negative entries are clipped here so the check certifies).
func residual(u [][]float64, R []int, lam, b, x []float64) float64 {
	for j := range x {
		x[j] = -b[j]
	}
	for k, i := range R {
		l := lam[k]
		if !(l > 0) {
			continue
		}
		for j, c := range u[i] {
			x[j] += l * c
		}
	}
	return norm2(x)
}

// roundingBound bounds the floating-point error of residual's ‖x‖ for multipliers lam
// over unit rows in Rʰ: each coordinate is a sum of len(lam)+1 terms of size at most
// λ_k (|u_kj| ≤ 1) and 1, so its error is at most γ·(Σλ + 1) with γ = (len(lam)+2)·u
// (u = 2⁻⁵³, Higham's γ_n bound with one more for the subtraction, doubled here),
// and the norm's at most √h times that. The certified residual is the computed one plus
// this bound.
func roundingBound(lam []float64, h int) float64 {
	s := 1.0
	for _, l := range lam {
		if l > 0 {
			s += l
		}
	}
	const u = 0x1p-53
	return 2 * float64(len(lam)+2) * u * s * math.Sqrt(float64(h))
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm2(a []float64) float64 { return math.Sqrt(dot(a, a)) }
