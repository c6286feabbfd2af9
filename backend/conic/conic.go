// Package conic owns the conic form that every cnnc program is canonicalised to and
// that every exporter and the native conic solver consume:
//
//	minimize    cᵀx + ½ xᵀPx
//	subject to  A x + s = b,   s ∈ K
//	K = {0}^z × R₊^l × Box(bsize) × SOC(q₁)×…×SOC(q_k) × PSD(s₁)×…×PSD(s_t) × ComplexPSD(cs₁)×… × ExpPrimal^ep × ExpDual^ed × Power(p₁)×…
//
// with SCS's conventions (docs/exports.md): rows ordered by cone as above, SOC with t
// first, PSD blocks as svec (lower triangle by columns, off-diagonals ×√2), exponential
// triples (x, y, z) with y·exp(x/y) ≤ z, A and P in 0-based CSC, P upper triangle only.
//
// The objective reported to users is ObjScale·(cᵀx + ½xᵀPx) + ObjOffset.
package conic

import "fmt"

// Cones is the cone product K, in SCS order.
type Cones struct {
	Z  int       `json:"z"`            // zero cone (equalities)
	L  int       `json:"l"`            // nonnegative orthant
	BL []float64 `json:"bl,omitempty"` // box cone lower bounds (length bsize−1)
	BU []float64 `json:"bu,omitempty"` // box cone upper bounds (length bsize−1)
	// BSize is the box cone's size including its t entry (0: no box cone).
	BSize int   `json:"bsize,omitempty"`
	Q     []int `json:"q"` // second-order cone sizes
	S     []int `json:"s"` // PSD cone orders (each uses k(k+1)/2 rows)
	// CS are complex PSD cone orders (each uses k² rows, after the real PSD
	// rows). SCS ≥ 3.2.11 only; read from SCS data files, not produced by cnnc.
	CS []int     `json:"cs,omitempty"`
	EP int       `json:"ep"`          // primal exponential cone triples
	ED int       `json:"ed"`          // dual exponential cone triples
	P  []float64 `json:"p,omitempty"` // power cone parameters (negative: dual)
}

// Rows returns the number of rows the cones occupy.
func (k *Cones) Rows() int {
	m := k.Z + k.L + k.BSize
	for _, q := range k.Q {
		m += q
	}
	for _, s := range k.S {
		m += s * (s + 1) / 2
	}
	for _, s := range k.CS {
		m += s * s
	}
	return m + 3*k.EP + 3*k.ED + 3*len(k.P)
}

// CSC is a sparse matrix in compressed sparse column form, 0-based.
type CSC struct {
	M      int       `json:"m"`
	N      int       `json:"n"`
	ColPtr []int     `json:"colptr"`
	RowIdx []int     `json:"rowidx"`
	Val    []float64 `json:"values"`
}

// NNZ returns the number of stored entries.
func (a *CSC) NNZ() int { return len(a.Val) }

// MulVec computes y += A x.
func (a *CSC) MulVec(y, x []float64) {
	for j := 0; j < a.N; j++ {
		xj := x[j]
		if xj == 0 {
			continue
		}
		for p := a.ColPtr[j]; p < a.ColPtr[j+1]; p++ {
			y[a.RowIdx[p]] += a.Val[p] * xj
		}
	}
}

// MulTVec computes y += Aᵀ x.
func (a *CSC) MulTVec(y, x []float64) {
	for j := 0; j < a.N; j++ {
		s := 0.0
		for p := a.ColPtr[j]; p < a.ColPtr[j+1]; p++ {
			s += a.Val[p] * x[a.RowIdx[p]]
		}
		y[j] += s
	}
}

// Check validates the structure of a: sizes, monotone column pointers, row
// indices in range and sorted strictly within each column.
func (a *CSC) Check() error {
	if len(a.ColPtr) != a.N+1 {
		return fmt.Errorf("colptr has %d entries, want n+1 = %d", len(a.ColPtr), a.N+1)
	}
	if a.ColPtr[0] != 0 || a.ColPtr[a.N] != len(a.Val) || len(a.RowIdx) != len(a.Val) {
		return fmt.Errorf("colptr/rowidx/values lengths disagree (colptr[n]=%d, %d indices, %d values)", a.ColPtr[a.N], len(a.RowIdx), len(a.Val))
	}
	// All of colptr first: a later entry beyond nnz must not be dereferenced.
	for j := 0; j < a.N; j++ {
		if a.ColPtr[j+1] < a.ColPtr[j] {
			return fmt.Errorf("colptr decreases at column %d", j)
		}
	}
	for j := 0; j < a.N; j++ {
		for p := a.ColPtr[j]; p < a.ColPtr[j+1]; p++ {
			r := a.RowIdx[p]
			if r < 0 || r >= a.M {
				return fmt.Errorf("row index %d out of range [0,%d) in column %d", r, a.M, j)
			}
			if p > a.ColPtr[j] && a.RowIdx[p-1] >= r {
				return fmt.Errorf("row indices not strictly increasing in column %d", j)
			}
		}
	}
	return nil
}

// VarRange maps a column range of x back to a named variable of the convex program.
type VarRange struct {
	Name  string `json:"name"`
	Start int    `json:"start"`
	Len   int    `json:"len"`
	Shape []int  `json:"shape,omitempty"`
	Layer int    `json:"layer,omitempty"` // network layer it came from (provenance), -1 if none
}

// Problem is a conic program.
type Problem struct {
	M, N  int
	A     CSC
	P     *CSC // upper triangle of P, or nil
	B     []float64
	C     []float64
	Cones Cones

	// The user-facing objective is ObjScale·(cᵀx + ½xᵀPx) + ObjOffset (scale 0 means 1).
	ObjOffset float64
	ObjScale  float64

	Vars []VarRange // column provenance (may be empty for files read from disk)
}

// Scale returns ObjScale, or 1 when unset.
func (p *Problem) Scale() float64 {
	if p.ObjScale == 0 {
		return 1
	}
	return p.ObjScale
}

// Validate checks dimensions and cone sizes.
func (p *Problem) Validate() error {
	if p.A.M != p.M || p.A.N != p.N {
		return fmt.Errorf("A is %d×%d, want %d×%d", p.A.M, p.A.N, p.M, p.N)
	}
	if len(p.B) != p.M || len(p.C) != p.N {
		return fmt.Errorf("b has %d entries and c %d, want m=%d and n=%d", len(p.B), len(p.C), p.M, p.N)
	}
	if err := p.Cones.Check(); err != nil {
		return err
	}
	if r := p.Cones.Rows(); r != p.M {
		return fmt.Errorf("cones cover %d rows, A has %d", r, p.M)
	}
	if err := p.A.Check(); err != nil {
		return fmt.Errorf("A: %v", err)
	}
	if p.P != nil {
		if p.P.M != p.N || p.P.N != p.N {
			return fmt.Errorf("P is %d×%d, want %d×%d", p.P.M, p.P.N, p.N, p.N)
		}
		if err := p.P.Check(); err != nil {
			return fmt.Errorf("P: %v", err)
		}
		for j := 0; j < p.P.N; j++ {
			for q := p.P.ColPtr[j]; q < p.P.ColPtr[j+1]; q++ {
				if p.P.RowIdx[q] > j {
					return fmt.Errorf("P: entry (%d,%d) is below the diagonal; P holds only its upper triangle", p.P.RowIdx[q], j)
				}
			}
		}
	}
	return nil
}

// Check validates the cone description on its own: no negative counts or
// sizes, box bounds of length BSize−1, power cone parameters in [−1, 1].
// Zero-size SOC and PSD cones are allowed (SCS accepts them; they occupy no rows).
func (k *Cones) Check() error {
	if k.Z < 0 || k.L < 0 || k.BSize < 0 || k.EP < 0 || k.ED < 0 {
		return fmt.Errorf("cones: negative count (z=%d l=%d bsize=%d ep=%d ed=%d)", k.Z, k.L, k.BSize, k.EP, k.ED)
	}
	if want := max(k.BSize-1, 0); len(k.BL) != want || len(k.BU) != want {
		return fmt.Errorf("cones: box cone of size %d needs %d lower and upper bounds, have %d and %d", k.BSize, want, len(k.BL), len(k.BU))
	}
	// Bounds that keep Rows() free of integer overflow: no count above 2⁴⁰ and
	// no (complex) PSD order above 2²⁰ (k² ≤ 2⁴⁰ rows).
	const maxCount, maxOrder = 1 << 40, 1 << 20
	if k.Z > maxCount || k.L > maxCount || k.BSize > maxCount || k.EP > maxCount || k.ED > maxCount {
		return fmt.Errorf("cones: count too large (z=%d l=%d bsize=%d ep=%d ed=%d)", k.Z, k.L, k.BSize, k.EP, k.ED)
	}
	for i, q := range k.Q {
		if q < 0 || q > maxCount {
			return fmt.Errorf("cones: second-order cone %d has invalid size %d", i, q)
		}
	}
	for i, s := range k.S {
		if s < 0 || s > maxOrder {
			return fmt.Errorf("cones: PSD cone %d has invalid order %d", i, s)
		}
	}
	for i, s := range k.CS {
		if s < 0 || s > maxOrder {
			return fmt.Errorf("cones: complex PSD cone %d has invalid order %d", i, s)
		}
	}
	for i, a := range k.P {
		if !(a >= -1 && a <= 1) {
			return fmt.Errorf("cones: power cone %d has parameter %v outside [-1, 1]", i, a)
		}
	}
	return nil
}
