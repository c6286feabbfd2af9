package canon

import "math"

// nnlsSolver solves min_{λ≥0} ‖Σ_k λ_k c_k − b‖₂ for a few columns c_k ∈ Rᵐ (m small)
// by the Lawson–Hanson active-set method: the passive set grows by the column with the
// largest gradient cᵀ(b − Cλ) > nnlsTol, the least-squares solution on the passive set
// (Householder QR) is taken when positive, otherwise the step is cut back to the first
// coordinate that reaches 0 and that column leaves. A column that is numerically
// dependent on the passive set (QR diagonal below 1e-12 of the column's norm) is not
// added in that round. At most 3k + 50 steps; the last iterate is returned (callers
// check the residual themselves: the method only has to be good, never trusted).
type nnlsSolver struct {
	m                 int
	lam, z, w, r, qrB []float64
	qr                []float64 // m × |P| column-major work matrix
	passive           []bool
	excluded          []bool
}

const nnlsTol = 1e-14

func newNNLS(m int) *nnlsSolver { return &nnlsSolver{m: m} }

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// solve returns λ (length len(R), owned by s until the next call) for the columns
// cols[R[k]].
func (s *nnlsSolver) solve(cols [][]float64, R []int, b []float64) []float64 {
	k := len(R)
	s.lam = grow(s.lam, k)
	s.z = grow(s.z, k)
	s.w = grow(s.w, k)
	s.r = grow(s.r, s.m)
	if cap(s.passive) < k {
		s.passive = make([]bool, k)
		s.excluded = make([]bool, k)
	}
	s.passive, s.excluded = s.passive[:k], s.excluded[:k]
	clear(s.passive)
	clear(s.excluded)
	for it := 0; it < 3*k+50; it++ {
		// gradient w = Cᵀ(b − Cλ)
		copy(s.r, b)
		for q, i := range R {
			if l := s.lam[q]; l != 0 {
				for j, c := range cols[i] {
					s.r[j] -= l * c
				}
			}
		}
		t, wt := -1, nnlsTol
		for q, i := range R {
			if s.passive[q] || s.excluded[q] {
				continue
			}
			if w := dot(cols[i], s.r); w > wt {
				t, wt = q, w
			}
		}
		if t < 0 {
			break
		}
		s.passive[t] = true
		for inner := 0; inner < k+1; inner++ {
			if !s.lsq(cols, R, b) {
				// the new column is dependent on the passive set: skip it this round
				s.passive[t] = false
				s.excluded[t] = true
				break
			}
			neg := false
			for q := range R {
				if s.passive[q] && s.z[q] <= 0 {
					neg = true
					break
				}
			}
			if !neg {
				for q := range R {
					if s.passive[q] {
						s.lam[q] = s.z[q]
					} else {
						s.lam[q] = 0
					}
				}
				break
			}
			alpha := math.Inf(1)
			for q := range R {
				if s.passive[q] && s.z[q] <= 0 {
					if a := s.lam[q] / (s.lam[q] - s.z[q]); a < alpha {
						alpha = a
					}
				}
			}
			for q := range R {
				if s.passive[q] {
					s.lam[q] += alpha * (s.z[q] - s.lam[q])
					if s.lam[q] <= 1e-300 {
						s.lam[q] = 0
						s.passive[q] = false
					}
				}
			}
		}
		// a column excluded for dependence may become useful once the set changes
		if !s.excluded[t] {
			clear(s.excluded)
		}
	}
	return s.lam
}

// lsq sets z on the passive set to argmin ‖C_P z − b‖ by Householder QR; false when C_P
// is numerically rank deficient.
func (s *nnlsSolver) lsq(cols [][]float64, R []int, b []float64) bool {
	m := s.m
	var idx []int
	for q := range R {
		if s.passive[q] {
			idx = append(idx, q)
		}
	}
	p := len(idx)
	if p > m {
		return false
	}
	s.qr = grow(s.qr, m*p)
	s.qrB = grow(s.qrB, m)
	copy(s.qrB, b)
	A := s.qr
	for c, q := range idx {
		copy(A[c*m:(c+1)*m], cols[R[q]])
	}
	for c := 0; c < p; c++ {
		col := A[c*m : (c+1)*m]
		orig := norm2(cols[R[idx[c]]])
		nrm := 0.0
		for i := c; i < m; i++ {
			nrm += col[i] * col[i]
		}
		nrm = math.Sqrt(nrm)
		if nrm <= 1e-12*orig {
			return false
		}
		alpha := -math.Copysign(nrm, col[c])
		// v = col[c:] − alpha·e₁, stored in place
		col[c] -= alpha
		vv := 0.0
		for i := c; i < m; i++ {
			vv += col[i] * col[i]
		}
		apply := func(x []float64) {
			d := 0.0
			for i := c; i < m; i++ {
				d += col[i] * x[i]
			}
			f := 2 * d / vv
			for i := c; i < m; i++ {
				x[i] -= f * col[i]
			}
		}
		for c2 := c + 1; c2 < p; c2++ {
			apply(A[c2*m : (c2+1)*m])
		}
		apply(s.qrB)
		// R's diagonal: alpha; the rest of col no longer needed beyond row c
		col[c] = alpha
	}
	// back substitution R z = Qᵀb (R upper triangular: A[c*m + i], i ≤ c)
	for c := p - 1; c >= 0; c-- {
		v := s.qrB[c]
		for c2 := c + 1; c2 < p; c2++ {
			v -= A[c2*m+c] * s.z[idx[c2]]
		}
		s.z[idx[c]] = v / A[c*m+c]
	}
	for q := range R {
		if !s.passive[q] {
			s.z[q] = 0
		}
	}
	return true
}
