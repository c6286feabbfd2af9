package cone

import (
	"errors"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/conic"
)

// denseSys solves K x = r with K = ρ_x I + P̂ + Âᵀ diag(σ) Â, σ = R_y⁻¹, by a dense
// Cholesky factorisation (gonum mat.Cholesky, LAPACK dpotrf), computed once per value
// of σ and reused by every iteration (two triangular solves, 2n² flops).
//
// K is assembled row by row from a compressed-row copy of Â: row i adds σᵢ·aᵢaᵢᵀ
// (nnz(aᵢ)²/2 flops), so dense rows (e.g. a least-squares SOC block that touches all
// variables) cost their square once per factorisation. Memory is 8n² bytes; the
// factorisation n³/3 flops.
type denseSys struct {
	n      int
	rhoX   float64
	P      *conic.CSC
	rowPtr []int // CSR of Â
	colIdx []int
	val    []float64
	k      *mat.SymDense
	ch     mat.Cholesky
	u      blas64.Triangular // K = UᵀU, cached from ch
}

func newDenseSys(A *conic.CSC, P *conic.CSC, rhoX float64) *denseSys {
	s := &denseSys{n: A.N, rhoX: rhoX, P: P}
	m := A.M
	s.rowPtr = make([]int, m+1)
	for _, i := range A.RowIdx {
		s.rowPtr[i+1]++
	}
	for i := 0; i < m; i++ {
		s.rowPtr[i+1] += s.rowPtr[i]
	}
	next := append([]int(nil), s.rowPtr[:m]...)
	s.colIdx = make([]int, len(A.Val))
	s.val = make([]float64, len(A.Val))
	for j := 0; j < A.N; j++ {
		for p := A.ColPtr[j]; p < A.ColPtr[j+1]; p++ {
			i := A.RowIdx[p]
			s.colIdx[next[i]] = j
			s.val[next[i]] = A.Val[p]
			next[i]++
		}
	}
	if s.n > 0 {
		s.k = mat.NewSymDense(s.n, nil)
	}
	return s
}

var errNotPD = errors.New("linear system is not numerically positive definite")

// factor assembles K for σ and factors it. If Cholesky fails (K numerically
// indefinite because ρ_x is tiny relative to ‖Âᵀσ Â‖) ρ_x is raised tenfold, up to
// five times.
func (s *denseSys) factor(sigma []float64) error {
	if s.n == 0 {
		return nil
	}
	n := s.n
	raw := s.k.RawSymmetric()
	d, st := raw.Data, raw.Stride
	for try := 0; try < 6; try++ {
		for i := 0; i < n; i++ {
			row := d[i*st : i*st+n]
			for j := i; j < n; j++ {
				row[j] = 0
			}
			row[i] = s.rhoX
		}
		if s.P != nil {
			for j := 0; j < s.P.N; j++ {
				for p := s.P.ColPtr[j]; p < s.P.ColPtr[j+1]; p++ {
					if i := s.P.RowIdx[p]; i <= j {
						d[i*st+j] += s.P.Val[p]
					}
				}
			}
		}
		for r := 0; r+1 < len(s.rowPtr); r++ {
			a, b := s.rowPtr[r], s.rowPtr[r+1]
			sg := sigma[r]
			for p := a; p < b; p++ {
				i := s.colIdx[p] // columns within a row are increasing
				vi := sg * s.val[p]
				row := d[i*st:]
				for q := p; q < b; q++ {
					row[s.colIdx[q]] += vi * s.val[q]
				}
			}
		}
		if s.ch.Factorize(s.k) {
			var u mat.TriDense
			s.ch.UTo(&u)
			s.u = u.RawTriangular()
			return nil
		}
		s.rhoX *= 10
	}
	return errNotPD
}

// solve overwrites r with K⁻¹ r: Uᵀz = r, then Ux = z (two BLAS dtrsv calls, which
// are markedly faster than mat.Cholesky.SolveVecTo's dtrsm path for one vector).
func (s *denseSys) solve(r []float64) {
	if s.n == 0 {
		return
	}
	v := blas64.Vector{N: s.n, Inc: 1, Data: r}
	blas64.Trsv(blas.Trans, s.u, v)
	blas64.Trsv(blas.NoTrans, s.u, v)
}
