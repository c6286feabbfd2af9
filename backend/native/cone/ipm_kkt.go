package cone

import (
	"errors"
	"math"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// ipmKKT solves the interior-point method's KKT system (ipm.go)
//
//	[ P   Aᵀ ] [Δx]   [r_x]
//	[ A  −H  ] [Δy] = [r_y],     H = W² on cone rows, 0 on zero-cone rows,
//
// by block elimination, exploiting the shape of the programs canon emits for
// two-layer networks: block diagonal plus a few dense rows (as blocksys.go does for
// the first-order method). Rows are split into
//
//	K (eliminated): orthant rows with few nonzeros and second-order cones touching
//	   few columns; Δy_K = H_K⁻¹(A_K Δx − r_K);
//	F (kept):       zero-cone rows, dense orthant rows and dense second-order cones;
//
// columns into block columns b (connected components of the column graph of the K
// rows and of P) and free columns f (touched by F rows only: no P entry, no K row).
// With B = δI + P + A_KᵀH_K⁻¹A_K (block diagonal; the SOC terms formed as
// (W⁻¹A)ᵀ(W⁻¹A), cancellation-free) and r̃ = r_x + A_KᵀH_K⁻¹r_K:
//
//	S = H_F + δ_F + F_b B⁻¹ F_bᵀ            (|F| × |F|, SPD: the Schur complement)
//	T = F_fᵀ S⁻¹ F_f + δI                   (|f| × |f|, SPD)
//	g = F_b B⁻¹ r̃_b − r_F
//	Δx_f = T⁻¹(r̃_f − F_fᵀS⁻¹g),  Δy_F = S⁻¹(F_fΔx_f + g),
//	Δx_b = B⁻¹(r̃_b − F_bᵀΔy_F),  Δy_K = H_K⁻¹(A_KΔx − r_K).
//
// The static regularisation δ = 1e-8 (on B, on T, and −δ on zero-cone rows in S,
// as ECOS and Clarabel regularise the quasi-definite KKT matrix) and the dynamic one
// (a Cholesky pivot below 1e-14 times its diagonal's scale is replaced by δ) make
// every factor exist; iterative refinement against the unregularised system (up to
// kktRefineMax steps, until ‖residual‖∞ ≤ 1e-13·(1 + ‖rhs‖∞) or it stops
// decreasing) removes their effect.
//
// Cost per factorisation: Σ_b n_b³/3 (blocks) + Σ_b (k_b² n_b + k_b n_b²) (S, k_b
// the F rows touching block b) + |F|³/3 + |f|·|F|²; a solve is the matching
// triangular solves plus products with A. Blocks are dense row-major.
type ipmKKT struct {
	n, m   int
	A      *conic.CSC
	P      *conic.CSC
	nt     *ntScaling
	isZ    []bool // zero-cone row
	rowPtr []int  // CSR of A
	colIdx []int
	val    []float64

	kLP  []int // eliminated orthant rows
	kSOC []int // eliminated SOC cones (indices into nt.cones)
	fRow []int // kept rows, in order; fPos[row] = position or −1
	fPos []int
	fSOC []int // kept SOC cones

	blk  []int // column → block (−1: free column)
	loc  []int // column → index within its block (or within free columns)
	cols [][]int
	free []int
	fac  [][]float64 // per block n_b × n_b row-major; lower Cholesky factor after factor()

	// per block: the F rows touching it (positions in fRow) and F_b as k_b × n_b
	bF     [][]int
	bG     [][]float64
	Ff     []float64 // |F| × |f| row-major
	S      []float64 // |F| × |F| factor
	SinvFf []float64 // S⁻¹F_f, |F| × |f|
	T      []float64 // |f| × |f| factor

	delta float64
	// scratch
	tm, tm2, rt, ex, ey, cx, cy, tk, tk2, tf, gb []float64
	y2                                           []float64
	rx2, ry2, ddx, ddy, bx, by                   []float64
}

const (
	kktDelta     = 1e-8
	kktRefineMax = 10
)

var errKKT = errors.New("KKT system could not be factored")

// newIPMKKT analyses the structure (row split, blocks); cost of the numeric phase
// is returned by flops. A, P are the equilibrated data.
func newIPMKKT(A, P *conic.CSC, z int, nt *ntScaling) *ipmKKT {
	n, m := A.N, A.M
	k := &ipmKKT{n: n, m: m, A: A, P: P, nt: nt, delta: kktDelta}
	// CSR
	k.rowPtr = make([]int, m+1)
	for _, i := range A.RowIdx {
		k.rowPtr[i+1]++
	}
	for i := 0; i < m; i++ {
		k.rowPtr[i+1] += k.rowPtr[i]
	}
	next := append([]int(nil), k.rowPtr[:m]...)
	k.colIdx = make([]int, len(A.Val))
	k.val = make([]float64, len(A.Val))
	for j := 0; j < n; j++ {
		for p := A.ColPtr[j]; p < A.ColPtr[j+1]; p++ {
			i := A.RowIdx[p]
			k.colIdx[next[i]] = j
			k.val[next[i]] = A.Val[p]
			next[i]++
		}
	}
	k.isZ = make([]bool, m)
	for i := 0; i < z; i++ {
		k.isZ[i] = true
	}
	lim := rowLimit(n)
	sets := newColSets(n)
	union := sets.union
	content := make([]bool, n) // column touched by a K row or P
	k.fPos = make([]int, m)
	for i := range k.fPos {
		k.fPos[i] = -1
	}
	keep := func(r int) {
		k.fPos[r] = len(k.fRow)
		k.fRow = append(k.fRow, r)
	}
	for r := 0; r < z; r++ {
		keep(r)
	}
	for ci, c := range nt.cones {
		if !c.soc {
			for r := c.start; r < c.start+c.size; r++ {
				a, b := k.rowPtr[r], k.rowPtr[r+1]
				if b-a > lim {
					keep(r)
					continue
				}
				k.kLP = append(k.kLP, r)
				for p := a; p < b; p++ {
					content[k.colIdx[p]] = true
					union(k.colIdx[a], k.colIdx[p])
				}
			}
			continue
		}
		// distinct columns of the cone
		seen := map[int]bool{}
		for r := c.start; r < c.start+c.size; r++ {
			for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
				seen[k.colIdx[p]] = true
			}
		}
		if len(seen) > lim {
			k.fSOC = append(k.fSOC, ci)
			for r := c.start; r < c.start+c.size; r++ {
				keep(r)
			}
			continue
		}
		k.kSOC = append(k.kSOC, ci)
		first := -1
		for r := c.start; r < c.start+c.size; r++ {
			for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
				j := k.colIdx[p]
				content[j] = true
				if first < 0 {
					first = j
				}
				union(first, j)
			}
		}
	}
	if P != nil {
		for j := 0; j < P.N; j++ {
			for p := P.ColPtr[j]; p < P.ColPtr[j+1]; p++ {
				content[j], content[P.RowIdx[p]] = true, true
				union(P.RowIdx[p], j)
			}
		}
	}
	k.blk, k.loc, k.cols, k.free = sets.blocks(content)
	// F rows per block
	nF := len(k.fRow)
	k.bF = make([][]int, len(k.cols))
	mark := make([]int, len(k.cols))
	for i := range mark {
		mark[i] = -1
	}
	for pos, r := range k.fRow {
		for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
			b := k.blk[k.colIdx[p]]
			if b >= 0 && mark[b] != pos {
				mark[b] = pos
				k.bF[b] = append(k.bF[b], pos)
			}
		}
	}
	nf := len(k.free)
	k.tm = make([]float64, m)
	k.tm2 = make([]float64, m)
	k.rt = make([]float64, n)
	k.ex = make([]float64, n)
	k.ey = make([]float64, m)
	k.cx = make([]float64, n)
	k.cy = make([]float64, m)
	k.y2 = make([]float64, m)
	k.tk = make([]float64, nF)
	k.tk2 = make([]float64, nF)
	k.tf = make([]float64, nf)
	bmax := 0
	for _, c := range k.cols {
		bmax = max(bmax, len(c))
	}
	k.gb = make([]float64, bmax)
	return k
}

// cost returns the estimated flops of one factorisation and the floats of memory.
func (k *ipmKKT) cost() (flops, mem float64) {
	for b, c := range k.cols {
		nb, kb := float64(len(c)), float64(len(k.bF[b]))
		flops += nb*nb*nb/3 + kb*kb*nb + kb*nb*nb
		mem += nb*nb + kb*nb
	}
	for _, ci := range k.kSOC {
		q := float64(k.nt.cones[ci].size)
		flops += q * q * 4
	}
	nF, nf := float64(len(k.fRow)), float64(len(k.free))
	flops += nF*nF*nF/3 + nf*nF*nF + nf*nf*nf/3
	mem += nF*nF + 2*nF*nf + nf*nf
	return
}

// allocate the numeric storage (after the caller accepted the cost).
func (k *ipmKKT) allocate() {
	k.fac = make([][]float64, len(k.cols))
	k.bG = make([][]float64, len(k.cols))
	for b, c := range k.cols {
		k.fac[b] = make([]float64, len(c)*len(c))
		k.bG[b] = make([]float64, len(k.bF[b])*len(c))
	}
	nF, nf := len(k.fRow), len(k.free)
	k.S = make([]float64, nF*nF)
	k.Ff = make([]float64, nF*nf)
	k.SinvFf = make([]float64, nF*nf)
	k.T = make([]float64, nf*nf)
	// F_b and F_f are constant: fill once.
	for b := range k.cols {
		nb := len(k.cols[b])
		for ii, pos := range k.bF[b] {
			r := k.fRow[pos]
			g := k.bG[b][ii*nb : (ii+1)*nb]
			for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
				if j := k.colIdx[p]; k.blk[j] == b {
					g[k.loc[j]] = k.val[p]
				}
			}
		}
	}
	for pos, r := range k.fRow {
		for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
			if j := k.colIdx[p]; k.blk[j] < 0 {
				k.Ff[pos*nf+k.loc[j]] = k.val[p]
			}
		}
	}
}

// cholReg overwrites the lower triangle of the row-major n×n matrix a with L,
// a + E = L Lᵀ, where E is the dynamic regularisation: a pivot d ≤ 1e-14·(1 + |aⱼⱼ|)
// is replaced by δ. It fails only on NaN.
func cholReg(a []float64, n int, delta float64) bool {
	for j := 0; j < n; j++ {
		rj := a[j*n : j*n+j+1]
		d := rj[j]
		scale := math.Abs(d)
		for q := 0; q < j; q++ {
			d -= rj[q] * rj[q]
		}
		if math.IsNaN(d) {
			return false
		}
		if d <= 1e-14*(1+scale) {
			d = delta
		}
		d = math.Sqrt(d)
		rj[j] = d
		for i := j + 1; i < n; i++ {
			ri := a[i*n : i*n+j+1]
			v := ri[j]
			for q := 0; q < j; q++ {
				v -= ri[q] * rj[q]
			}
			ri[j] = v / d
		}
	}
	return true
}

// lsolve overwrites g with L⁻¹g (forward), ltsolve with L⁻ᵀg (backward).
func lsolve(f []float64, nb int, g []float64) {
	for i := 0; i < nb; i++ {
		ri := f[i*nb : i*nb+i]
		v := g[i]
		for q, l := range ri {
			v -= l * g[q]
		}
		g[i] = v / f[i*nb+i]
	}
}

func ltsolve(f []float64, nb int, g []float64) {
	for i := nb - 1; i >= 0; i-- {
		v := g[i]
		for q := i + 1; q < nb; q++ {
			v -= f[q*nb+i] * g[q]
		}
		g[i] = v / f[i*nb+i]
	}
}

// factor assembles and factors B, S and T for the current scaling.
func (k *ipmKKT) factor() error {
	nt := k.nt
	for b, c := range k.cols {
		f := k.fac[b]
		for i := range f {
			f[i] = 0
		}
		nb := len(c)
		for i := 0; i < nb; i++ {
			f[i*nb+i] = k.delta
		}
	}
	if k.P != nil {
		P := k.P
		for j := 0; j < P.N; j++ {
			for p := P.ColPtr[j]; p < P.ColPtr[j+1]; p++ {
				i := P.RowIdx[p]
				if i > j {
					continue
				}
				b := k.blk[j]
				nb := len(k.cols[b])
				li, lj := k.loc[i], k.loc[j]
				k.fac[b][lj*nb+li] += P.Val[p]
				if i != j {
					k.fac[b][li*nb+lj] += P.Val[p]
				}
			}
		}
	}
	for _, r := range k.kLP {
		a, e := k.rowPtr[r], k.rowPtr[r+1]
		if a == e {
			continue
		}
		b := k.blk[k.colIdx[a]]
		f := k.fac[b]
		nb := len(k.cols[b])
		sg := 1 / nt.d[r]
		for p := a; p < e; p++ {
			li := k.loc[k.colIdx[p]]
			vi := sg * k.val[p]
			for q := a; q < e; q++ {
				if lq := k.loc[k.colIdx[q]]; lq <= li {
					f[li*nb+lq] += vi * k.val[q]
				}
			}
		}
	}
	for _, ci := range k.kSOC {
		c := nt.cones[ci]
		// columns of the cone (local indices in its block) and M = W⁻¹A_c (q × nc)
		var lcols []int
		pos := map[int]int{}
		for r := c.start; r < c.start+c.size; r++ {
			for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
				if _, ok := pos[k.colIdx[p]]; !ok {
					pos[k.colIdx[p]] = len(lcols)
					lcols = append(lcols, k.colIdx[p])
				}
			}
		}
		if len(lcols) == 0 {
			continue
		}
		q, nc := c.size, len(lcols)
		M := make([]float64, q*nc) // column-major: column t is M[t*q:(t+1)*q]
		for r := c.start; r < c.start+c.size; r++ {
			for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
				M[pos[k.colIdx[p]]*q+(r-c.start)] = k.val[p]
			}
		}
		tmp := make([]float64, q)
		for t := 0; t < nc; t++ {
			col := M[t*q : (t+1)*q]
			nt.socW(ci, col, tmp, true)
			copy(col, tmp)
		}
		b := k.blk[lcols[0]]
		f := k.fac[b]
		nb := len(k.cols[b])
		for t := 0; t < nc; t++ {
			lt := k.loc[lcols[t]]
			for u := 0; u < nc; u++ {
				lu := k.loc[lcols[u]]
				if lu > lt {
					continue
				}
				f[lt*nb+lu] += dot(M[t*q:(t+1)*q], M[u*q:(u+1)*q])
			}
		}
	}
	for b, c := range k.cols {
		if !cholReg(k.fac[b], len(c), k.delta) {
			return errKKT
		}
	}
	// S = H_F + δ_F + Σ_b (L_b⁻¹F_bᵀ)ᵀ(L_b⁻¹F_bᵀ)
	nF := len(k.fRow)
	S := k.S
	for i := range S {
		S[i] = 0
	}
	for pos, r := range k.fRow {
		if k.isZ[r] {
			S[pos*nF+pos] = k.delta
		} else if k.fPos[r] >= 0 && !k.inFSOC(r) {
			S[pos*nF+pos] = nt.d[r]
		}
	}
	for _, ci := range k.fSOC {
		c := nt.cones[ci]
		w := nt.d[c.start : c.start+c.size]
		e2 := nt.eta[ci] * nt.eta[ci]
		for a := 0; a < c.size; a++ {
			pa := k.fPos[c.start+a]
			for bb := 0; bb <= a; bb++ {
				pb := k.fPos[c.start+bb]
				v := 2 * w[a] * w[bb]
				if a == bb {
					if a == 0 {
						v -= 1
					} else {
						v += 1
					}
				}
				S[pa*nF+pb] += e2 * v
			}
		}
	}
	for b, c := range k.cols {
		kb := len(k.bF[b])
		if kb == 0 {
			continue
		}
		nb := len(c)
		// Y = L⁻¹ F_bᵀ stored as kb rows of length nb (row ii = L⁻¹ (row ii of F_b)ᵀ)
		Y := make([]float64, kb*nb)
		copy(Y, k.bG[b])
		for ii := 0; ii < kb; ii++ {
			lsolve(k.fac[b], nb, Y[ii*nb:(ii+1)*nb])
		}
		for ii := 0; ii < kb; ii++ {
			pi := k.bF[b][ii]
			yi := Y[ii*nb : (ii+1)*nb]
			for jj := 0; jj <= ii; jj++ {
				pj := k.bF[b][jj]
				v := dot(yi, Y[jj*nb:(jj+1)*nb])
				// lower triangle of S: row max(pi, pj)
				if pi >= pj {
					S[pi*nF+pj] += v
				} else {
					S[pj*nF+pi] += v
				}
			}
		}
	}
	if !cholReg(S, nF, k.delta) {
		return errKKT
	}
	nf := len(k.free)
	if nf > 0 {
		// S⁻¹F_f column by column, T = F_fᵀS⁻¹F_f + δI
		col := make([]float64, nF)
		for t := 0; t < nf; t++ {
			for i := 0; i < nF; i++ {
				col[i] = k.Ff[i*nf+t]
			}
			lsolve(S, nF, col)
			ltsolve(S, nF, col)
			for i := 0; i < nF; i++ {
				k.SinvFf[i*nf+t] = col[i]
			}
		}
		for a := 0; a < nf; a++ {
			for bb := 0; bb <= a; bb++ {
				v := 0.0
				for i := 0; i < nF; i++ {
					v += k.Ff[i*nf+a] * k.SinvFf[i*nf+bb]
				}
				k.T[a*nf+bb] = v
				k.T[bb*nf+a] = v
			}
			k.T[a*nf+a] += k.delta
		}
		if !cholReg(k.T, nf, k.delta) {
			return errKKT
		}
	}
	return nil
}

func (k *ipmKKT) inFSOC(r int) bool {
	for _, ci := range k.fSOC {
		c := k.nt.cones[ci]
		if r >= c.start && r < c.start+c.size {
			return true
		}
	}
	return false
}

// hinvK sets dst = H⁻¹ v on the eliminated rows (orthant: v/d; SOC: W⁻¹W⁻¹v).
func (k *ipmKKT) hinvK(v, dst []float64) {
	for _, r := range k.kLP {
		dst[r] = v[r] / k.nt.d[r]
	}
	for _, ci := range k.kSOC {
		c := k.nt.cones[ci]
		a, e := c.start, c.start+c.size
		k.nt.socW(ci, v[a:e], k.tm2[a:e], true)
		k.nt.socW(ci, k.tm2[a:e], dst[a:e], true)
	}
}

func (k *ipmKKT) blockSolve(b int, x []float64) {
	c := k.cols[b]
	nb := len(c)
	g := k.gb[:nb]
	for i, j := range c {
		g[i] = x[j]
	}
	lsolve(k.fac[b], nb, g)
	ltsolve(k.fac[b], nb, g)
	for i, j := range c {
		x[j] = g[i]
	}
}

// solveReg applies the regularised inverse: (dx, dy) ≈ K⁻¹(rx, ry).
func (k *ipmKKT) solveReg(rx, ry, dx, dy []float64) {
	n := k.n
	nF, nf := len(k.fRow), len(k.free)
	// r̃ = r_x + A_KᵀH_K⁻¹ r_K
	for i := range k.tm {
		k.tm[i] = 0
	}
	k.hinvK(ry, k.tm)
	copy(k.rt, rx)
	k.A.MulTVec(k.rt, k.tm) // tm is zero off the K rows
	// u_b = B⁻¹ r̃_b (in dx on block columns)
	copy(dx, k.rt)
	for b := range k.cols {
		k.blockSolve(b, dx)
	}
	// g = F_b u_b − r_F
	g := k.tk
	for pos, r := range k.fRow {
		v := 0.0
		for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
			if j := k.colIdx[p]; k.blk[j] >= 0 {
				v += k.val[p] * dx[j]
			}
		}
		g[pos] = v - ry[r]
	}
	h := k.tk2
	copy(h, g)
	lsolve(k.S, nF, h)
	ltsolve(k.S, nF, h) // h = S⁻¹g
	if nf > 0 {
		for t, j := range k.free {
			v := k.rt[j]
			for i := 0; i < nF; i++ {
				v -= k.Ff[i*nf+t] * h[i]
			}
			k.tf[t] = v
		}
		lsolve(k.T, nf, k.tf)
		ltsolve(k.T, nf, k.tf)
		for t, j := range k.free {
			dx[j] = k.tf[t]
		}
		// Δy_F = S⁻¹(F_f Δx_f + g) = h + (S⁻¹F_f) Δx_f
		for i := 0; i < nF; i++ {
			v := 0.0
			for t := 0; t < nf; t++ {
				v += k.SinvFf[i*nf+t] * k.tf[t]
			}
			h[i] += v
		}
	}
	for pos, r := range k.fRow {
		dy[r] = h[pos]
	}
	// Δx_b = u_b − B⁻¹F_bᵀΔy_F
	v := k.cx
	for j := 0; j < n; j++ {
		v[j] = 0
	}
	for pos, r := range k.fRow {
		t := h[pos]
		for p := k.rowPtr[r]; p < k.rowPtr[r+1]; p++ {
			if j := k.colIdx[p]; k.blk[j] >= 0 {
				v[j] += k.val[p] * t
			}
		}
	}
	for b := range k.cols {
		k.blockSolve(b, v)
	}
	for j := 0; j < n; j++ {
		if k.blk[j] >= 0 {
			dx[j] -= v[j]
		}
	}
	// Δy_K = H_K⁻¹(A_KΔx − r_K)
	ax := k.tm
	for i := range ax {
		ax[i] = 0
	}
	k.A.MulVec(ax, dx)
	for i := range ax {
		ax[i] -= ry[i]
	}
	k.hinvK(ax, dy)
}

// residual sets (ex, ey) = (rx, ry) − K(dx, dy) with the unregularised K and returns
// its ∞-norm.
func (k *ipmKKT) residual(rx, ry, dx, dy []float64) float64 {
	symMulVec(k.P, k.ex, dx)
	k.A.MulTVec(k.ex, dy)
	for j := range k.ex {
		k.ex[j] = rx[j] - k.ex[j]
	}
	for i := range k.ey {
		k.ey[i] = 0
	}
	k.A.MulVec(k.ey, dx)
	for i := range k.y2 {
		k.y2[i] = 0
	}
	k.nt.applyH(dy, k.y2)
	e := 0.0
	for i := range k.ey {
		k.ey[i] = ry[i] - (k.ey[i] - k.y2[i])
		e = math.Max(e, math.Abs(k.ey[i]))
	}
	for _, v := range k.ex {
		e = math.Max(e, math.Abs(v))
	}
	return e
}

// solve sets (dx, dy) = K⁻¹(rx, ry) with iterative refinement; it returns the final
// residual ‖(rx, ry) − K(dx, dy)‖∞ relative to 1 + ‖(rx, ry)‖∞.
func (k *ipmKKT) solve(rx, ry, dx, dy []float64) float64 {
	k.solveReg(rx, ry, dx, dy)
	nr := math.Max(normInf(rx), normInf(ry))
	e := k.residual(rx, ry, dx, dy)
	if len(k.rx2) != k.n {
		k.rx2, k.ry2 = make([]float64, k.n), make([]float64, k.m)
		k.ddx, k.ddy = make([]float64, k.n), make([]float64, k.m)
		k.bx, k.by = make([]float64, k.n), make([]float64, k.m)
	}
	for it := 0; it < kktRefineMax && e > 1e-13*(1+nr); it++ {
		copy(k.rx2, k.ex)
		copy(k.ry2, k.ey)
		k.solveReg(k.rx2, k.ry2, k.ddx, k.ddy)
		copy(k.bx, dx)
		copy(k.by, dy)
		for j := range dx {
			dx[j] += k.ddx[j]
		}
		for i := range dy {
			dy[i] += k.ddy[i]
		}
		e2 := k.residual(rx, ry, dx, dy)
		if !(e2 < e) {
			copy(dx, k.bx)
			copy(dy, k.by)
			e = k.residual(rx, ry, dx, dy)
			break
		}
		e = e2
	}
	return e / (1 + nr)
}
