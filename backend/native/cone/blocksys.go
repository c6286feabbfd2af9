package cone

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// linSys solves the reduced system K x = r, K = ρ_x I + P̂ + Âᵀ diag(σ) Â.
type linSys interface {
	factor(sigma []float64) error
	solve(r []float64)
	rho() float64 // ρ_x actually used (raised when K was not numerically definite)
	kind() string
}

func (s *denseSys) rho() float64 { return s.rhoX }
func (s *denseSys) kind() string { return "dense" }

// blockSys solves K x = r by block elimination when K is "block diagonal plus low
// rank", the shape of every program canon emits for two-layer networks: the cone rows
// (−(2Dᵢ−I)X on one pattern's block) and the NORM rows touch the columns of one block,
// and only the k loss rows (LSQ's SOC rows, LSQ′'s zero rows: one per sample) touch
// many columns. Split the rows of Â into the sparse ones and the dense ones F
// (k × n), and let B = ρ_x I + P̂ + Σ_{sparse i} σᵢ aᵢaᵢᵀ, which is block diagonal
// over the connected components of the columns (two columns are connected when a
// sparse row or an entry of P̂ touches both). Then K = B + Fᵀ Σ_F F and
//
//	K⁻¹ r = z − B⁻¹Fᵀ S⁻¹ F z,   z = B⁻¹ r,   S = Σ_F⁻¹ + F B⁻¹ Fᵀ   (k × k, SPD),
//
// the Schur complement of the quasi-definite system [[B, Fᵀ], [F, −Σ_F⁻¹]]
// (Sherman–Morrison–Woodbury). B's blocks are factored by dense Cholesky, S by gonum.
// A solve costs Σ 2b² (blocks) + 2 nnz(F) + 2k² flops instead of the dense 2n²; the
// factorisation Σ b³/3 + k·nnz(F) + k³/3 instead of n³/3 + Σ nnz(aᵢ)².
//
// Accuracy. After each factorisation the solve is checked on a fixed right-hand side:
// if ‖K x − r‖∞ > 1e-10 ‖r‖∞ one step of iterative refinement (a product with K:
// two sparse products with Â) is added to every solve; if that still misses 1e-10
// the factorisation is reported as failed and the caller uses the dense system.
type blockSys struct {
	n, m   int
	rhoX   float64
	P      *conic.CSC
	rowPtr []int // CSR of Â
	colIdx []int
	val    []float64

	dense  []int // dense rows of Â (the rows of F)
	sparse []int // the other rows
	blk    []int // column → block
	loc    []int // column → index within its block
	cols   [][]int
	fac    [][]float64 // per block: b×b row-major, lower Cholesky factor after factor()
	sigF   []float64   // σ on the dense rows
	sch    mat.Cholesky
	sym    *mat.SymDense
	u      blas64.Triangular
	refine bool
	sigma  []float64

	z, v, t, gb, kx []float64
}

// denseRowLimit: rows with more nonzeros than this (and than √n) go to F.
const denseRowLimit = 32

// rowLimit is the dense-row threshold for n columns: max(denseRowLimit, ⌊√n⌋).
func rowLimit(n int) int {
	lim := denseRowLimit
	if r := int(math.Sqrt(float64(n))); r > lim {
		lim = r
	}
	return lim
}

// colSets is a union–find over column indices (path halving), shared by the block
// eliminations of the first-order method (blockSys) and of the interior-point method
// (ipmKKT): columns joined by a sparse row or a P entry fall into one block.
type colSets []int

func newColSets(n int) colSets {
	c := make(colSets, n)
	for j := range c {
		c[j] = j
	}
	return c
}

func (c colSets) find(j int) int {
	for c[j] != j {
		c[j] = c[c[j]]
		j = c[j]
	}
	return j
}

func (c colSets) union(a, b int) {
	a, b = c.find(a), c.find(b)
	if a != b {
		c[b] = a
	}
}

// blocks numbers the classes in order of their first column: blk[j] is column j's
// block, loc[j] its position there, cols[b] the block's columns in order. Columns
// with keep[j] false (keep nil: none) get blk −1 and loc = their position in free.
func (c colSets) blocks(keep []bool) (blk, loc []int, cols [][]int, free []int) {
	n := len(c)
	blk, loc = make([]int, n), make([]int, n)
	id := map[int]int{}
	for j := 0; j < n; j++ {
		if keep != nil && !keep[j] {
			blk[j], loc[j] = -1, len(free)
			free = append(free, j)
			continue
		}
		root := c.find(j)
		b, ok := id[root]
		if !ok {
			b = len(cols)
			id[root] = b
			cols = append(cols, nil)
		}
		blk[j], loc[j] = b, len(cols[b])
		cols[b] = append(cols[b], j)
	}
	return blk, loc, cols, free
}

// newBlockSys returns the block system for Â, P̂, or nil when it would not be
// cheaper than the dense one (unless forced).
func newBlockSys(d *denseSys, m int, force bool) *blockSys {
	n := d.n
	if n == 0 {
		return nil
	}
	lim := rowLimit(n)
	s := &blockSys{n: n, m: m, rhoX: d.rhoX, P: d.P, rowPtr: d.rowPtr, colIdx: d.colIdx, val: d.val}
	sets := newColSets(n)
	union := sets.union
	nnzF := 0
	for r := 0; r < m; r++ {
		a, b := s.rowPtr[r], s.rowPtr[r+1]
		if b-a > lim {
			s.dense = append(s.dense, r)
			nnzF += b - a
			continue
		}
		s.sparse = append(s.sparse, r)
		for p := a + 1; p < b; p++ {
			union(s.colIdx[a], s.colIdx[p])
		}
	}
	if s.P != nil {
		for j := 0; j < s.P.N; j++ {
			for p := s.P.ColPtr[j]; p < s.P.ColPtr[j+1]; p++ {
				union(s.P.RowIdx[p], j)
			}
		}
	}
	s.blk, s.loc, s.cols, _ = sets.blocks(nil)
	k := len(s.dense)
	sum2, bmax := 0.0, 0
	for _, c := range s.cols {
		sum2 += float64(len(c)) * float64(len(c))
		if len(c) > bmax {
			bmax = len(c)
		}
	}
	cost := 2*sum2 + 2*float64(nnzF) + 2*float64(k)*float64(k)
	if !force && (cost > 0.5*float64(n)*float64(n) || bmax > 1000 || k > 4000) {
		return nil
	}
	s.fac = make([][]float64, len(s.cols))
	for b, c := range s.cols {
		s.fac[b] = make([]float64, len(c)*len(c))
	}
	s.sigF = make([]float64, k)
	if k > 0 {
		s.sym = mat.NewSymDense(k, nil)
	}
	s.z = make([]float64, n)
	s.v = make([]float64, n)
	s.kx = make([]float64, n)
	s.t = make([]float64, k)
	s.gb = make([]float64, bmax)
	return s
}

func (s *blockSys) rho() float64 { return s.rhoX }
func (s *blockSys) kind() string { return "block" }

func (s *blockSys) factor(sigma []float64) error {
	s.sigma = sigma
	for try := 0; try < 6; try++ {
		if s.assemble(sigma) {
			break
		}
		if try == 5 {
			return errNotPD
		}
		s.rhoX *= 10
	}
	// S = Σ_F⁻¹ + F B⁻¹ Fᵀ, column by column: v = B⁻¹ F_jᵀ is nonzero only on the
	// blocks F_j touches.
	k := len(s.dense)
	if k > 0 {
		raw := s.sym.RawSymmetric()
		for jj, r := range s.dense {
			s.sigF[jj] = sigma[r]
			for i := range s.v {
				s.v[i] = 0
			}
			a, b := s.rowPtr[r], s.rowPtr[r+1]
			for p := a; p < b; p++ {
				s.v[s.colIdx[p]] = s.val[p]
			}
			touched := map[int]bool{}
			for p := a; p < b; p++ {
				bl := s.blk[s.colIdx[p]]
				if !touched[bl] {
					touched[bl] = true
					s.blockSolve(bl, s.v)
				}
			}
			for ii := 0; ii <= jj; ii++ {
				ri := s.dense[ii]
				dot := 0.0
				for p := s.rowPtr[ri]; p < s.rowPtr[ri+1]; p++ {
					dot += s.val[p] * s.v[s.colIdx[p]]
				}
				raw.Data[ii*raw.Stride+jj] = dot
			}
			raw.Data[jj*raw.Stride+jj] += 1 / sigma[r]
		}
		if !s.sch.Factorize(s.sym) {
			return errNotPD
		}
		var u mat.TriDense
		s.sch.UTo(&u)
		s.u = u.RawTriangular()
	}
	// Accuracy check on a fixed right-hand side.
	s.refine = false
	r0 := make([]float64, s.n)
	for j := range r0 {
		r0[j] = 1 + float64(j%7)/7
	}
	if s.check(r0) > 1e-10 {
		s.refine = true
		if s.check(r0) > 1e-10 {
			return errNotPD
		}
	}
	return nil
}

// check returns ‖K x − r‖∞/‖r‖∞ for x = solve(r).
func (s *blockSys) check(r []float64) float64 {
	x := append([]float64(nil), r...)
	s.solve(x)
	s.mulK(s.kx, x)
	e, nr := 0.0, 0.0
	for j := range r {
		e = math.Max(e, math.Abs(s.kx[j]-r[j]))
		nr = math.Max(nr, math.Abs(r[j]))
	}
	if math.IsNaN(e) {
		return math.Inf(1)
	}
	return e / nr
}

// mulK sets y = K x = ρ_x x + P̂x + Âᵀ(σ ∘ Âx).
func (s *blockSys) mulK(y, x []float64) {
	symMulVec(s.P, y, x)
	for j := range y {
		y[j] += s.rhoX * x[j]
	}
	for r := 0; r+1 < len(s.rowPtr); r++ {
		a, b := s.rowPtr[r], s.rowPtr[r+1]
		v := 0.0
		for p := a; p < b; p++ {
			v += s.val[p] * x[s.colIdx[p]]
		}
		v *= s.sigma[r]
		for p := a; p < b; p++ {
			y[s.colIdx[p]] += v * s.val[p]
		}
	}
}

// assemble builds and factors B's blocks; false when one is not numerically definite.
func (s *blockSys) assemble(sigma []float64) bool {
	for b, c := range s.cols {
		f := s.fac[b]
		for i := range f {
			f[i] = 0
		}
		nb := len(c)
		for i := 0; i < nb; i++ {
			f[i*nb+i] = s.rhoX
		}
	}
	if s.P != nil {
		for j := 0; j < s.P.N; j++ {
			for p := s.P.ColPtr[j]; p < s.P.ColPtr[j+1]; p++ {
				i := s.P.RowIdx[p]
				if i > j {
					continue
				}
				b := s.blk[j]
				nb := len(s.cols[b])
				li, lj := s.loc[i], s.loc[j]
				s.fac[b][lj*nb+li] += s.P.Val[p] // lower triangle: row ≥ column
				if i != j {
					s.fac[b][li*nb+lj] += s.P.Val[p]
				}
			}
		}
	}
	for _, r := range s.sparse {
		a, e := s.rowPtr[r], s.rowPtr[r+1]
		if a == e {
			continue
		}
		b := s.blk[s.colIdx[a]]
		f := s.fac[b]
		nb := len(s.cols[b])
		sg := sigma[r]
		for p := a; p < e; p++ {
			li := s.loc[s.colIdx[p]]
			vi := sg * s.val[p]
			for q := a; q < e; q++ {
				f[li*nb+s.loc[s.colIdx[q]]] += vi * s.val[q]
			}
		}
	}
	for b, c := range s.cols {
		if !cholesky(s.fac[b], len(c)) {
			return false
		}
	}
	return true
}

// cholesky overwrites the lower triangle of the row-major n×n SPD matrix a with L,
// a = L Lᵀ; false when a pivot is not positive.
func cholesky(a []float64, n int) bool {
	for j := 0; j < n; j++ {
		rj := a[j*n : j*n+j+1]
		d := rj[j]
		for k := 0; k < j; k++ {
			d -= rj[k] * rj[k]
		}
		if !(d > 0) {
			return false
		}
		d = math.Sqrt(d)
		rj[j] = d
		for i := j + 1; i < n; i++ {
			ri := a[i*n : i*n+j+1]
			v := ri[j]
			for k := 0; k < j; k++ {
				v -= ri[k] * rj[k]
			}
			ri[j] = v / d
		}
	}
	return true
}

// blockSolve overwrites the entries of x in block b with B_b⁻¹ x_b.
func (s *blockSys) blockSolve(b int, x []float64) {
	c := s.cols[b]
	nb := len(c)
	f := s.fac[b]
	if nb == 1 {
		x[c[0]] /= f[0] * f[0]
		return
	}
	g := s.gb[:nb]
	for i, j := range c {
		g[i] = x[j]
	}
	for i := 0; i < nb; i++ { // L y = g
		ri := f[i*nb : i*nb+i]
		v := g[i]
		for k, l := range ri {
			v -= l * g[k]
		}
		g[i] = v / f[i*nb+i]
	}
	for i := nb - 1; i >= 0; i-- { // Lᵀ x = y
		v := g[i]
		for k := i + 1; k < nb; k++ {
			v -= f[k*nb+i] * g[k]
		}
		g[i] = v / f[i*nb+i]
	}
	for i, j := range c {
		x[j] = g[i]
	}
}

func (s *blockSys) solveOnce(r []float64) {
	for b := range s.cols {
		s.blockSolve(b, r)
	}
	k := len(s.dense)
	if k == 0 {
		return
	}
	for ii, ri := range s.dense {
		v := 0.0
		for p := s.rowPtr[ri]; p < s.rowPtr[ri+1]; p++ {
			v += s.val[p] * r[s.colIdx[p]]
		}
		s.t[ii] = v
	}
	tv := blas64.Vector{N: k, Inc: 1, Data: s.t}
	blas64.Trsv(blas.Trans, s.u, tv)
	blas64.Trsv(blas.NoTrans, s.u, tv)
	for j := range s.v {
		s.v[j] = 0
	}
	for ii, ri := range s.dense {
		t := s.t[ii]
		for p := s.rowPtr[ri]; p < s.rowPtr[ri+1]; p++ {
			s.v[s.colIdx[p]] += s.val[p] * t
		}
	}
	for b := range s.cols {
		s.blockSolve(b, s.v)
	}
	for j := range r {
		r[j] -= s.v[j]
	}
}

// solve overwrites r with K⁻¹ r (plus one refinement step when the check asked for it).
func (s *blockSys) solve(r []float64) {
	if !s.refine {
		s.solveOnce(r)
		return
	}
	copy(s.z, r)
	s.solveOnce(r)
	s.mulK(s.kx, r)
	for j := range s.kx {
		s.kx[j] = s.z[j] - s.kx[j]
	}
	s.solveOnce(s.kx)
	for j := range r {
		r[j] += s.kx[j]
	}
}
