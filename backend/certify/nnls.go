package certify

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// ConeMax computes max_{u ∈ B₂ ∩ 𝒦} gᵀu for the polyhedral cone 𝒦 = {u : M u ≥ 0}
// (M is m × h; nil means 𝒦 = Rʰ).
//
// By Moreau's decomposition g = Π_𝒦(g) + Π_{𝒦°}(g) with 𝒦° = {−Mᵀλ : λ ≥ 0}, the
// maximum is ‖Π_𝒦(g)‖ (attained at u = Π_𝒦(g)/‖Π_𝒦(g)‖; 0 when Π_𝒦(g) = 0), and
// Π_𝒦(g) = g + Mᵀλ* with λ* = argmin_{λ ≥ 0} ‖Mᵀλ + g‖², a nonnegative least-squares
// problem solved exactly by the Lawson–Hanson active-set method.
//
// Tolerance and stopping rule: the method stops when every inactive row has
// (M u)_j ≥ −tol with tol = 1e-12·‖M‖_max·‖g‖ (so u is in 𝒦 up to that), or after
// 3m + 50 steps (then the last iterate is returned and ok = false). The value returned
// is ‖u‖ for the final u = g + Mᵀλ.
//
// active lists the rows with λ_j > 0 (the cone faces u lies on).
func ConeMax(g []float64, M *mat.Dense) (val float64, u []float64, active []int, ok bool) {
	h := len(g)
	u = append([]float64(nil), g...)
	if M == nil {
		return norm(u), normalize(u), nil, true
	}
	m, _ := M.Dims()
	raw := M.RawMatrix()
	row := func(j int) []float64 { return raw.Data[j*raw.Stride : j*raw.Stride+h] }
	w := make([]float64, m) // M u
	mv := func() {          // w = M u (gonum's Gemv: four rows at a time)
		blas64.Gemv(blas.NoTrans, 1, raw, blas64.Vector{N: h, Inc: 1, Data: u}, 0, blas64.Vector{N: m, Inc: 1, Data: w})
	}
	mv()
	mmax := 0.0
	feasible := true
	for j := 0; j < m; j++ {
		for _, x := range row(j) {
			if a := math.Abs(x); a > mmax {
				mmax = a
			}
		}
	}
	tol := 1e-12 * mmax * math.Max(norm(g), 1e-300)
	for j := 0; j < m; j++ {
		if w[j] < -tol {
			feasible = false
			break
		}
	}
	if feasible {
		return norm(u), normalize(u), nil, true
	}
	lambda := make([]float64, m)
	inP := make([]bool, m)
	var P []int
	ls := newLSQ(h)
	update := func() { // u = g + Mᵀλ over P, w = M u
		copy(u, g)
		for _, j := range P {
			if lambda[j] != 0 {
				r := row(j)
				for k := 0; k < h; k++ {
					u[k] += lambda[j] * r[k]
				}
			}
		}
		mv()
	}
	excluded := make([]bool, m)
	ok = false
	for it := 0; it < 3*m+50; it++ {
		// the most violated inactive row (most negative M u)
		t, worst := -1, -tol
		for j := 0; j < m; j++ {
			if w[j] < worst && !inP[j] && !excluded[j] {
				t, worst = j, w[j]
			}
		}
		if t < 0 {
			ok = true
			break
		}
		inP[t] = true
		P = append(P, t)
		for inner := 0; inner < 3*m+50; inner++ {
			s, err := ls.solve(M, P, g)
			if err != nil { // M_P rank-deficient: drop the new row and never take it again
				inP[t], excluded[t] = false, true
				P = P[:len(P)-1]
				break
			}
			allPos := true
			for k := range P {
				if s[k] <= 0 {
					allPos = false
					break
				}
			}
			if allPos {
				for k, j := range P {
					lambda[j] = s[k]
				}
				break
			}
			alpha := math.Inf(1)
			for k, j := range P {
				if s[k] <= 0 {
					if a := lambda[j] / (lambda[j] - s[k]); a < alpha {
						alpha = a
					}
				}
			}
			var keep []int
			for k, j := range P {
				lambda[j] += alpha * (s[k] - lambda[j])
				if lambda[j] > 1e-15*math.Max(1, math.Abs(s[k])) {
					keep = append(keep, j)
				} else {
					lambda[j] = 0
					inP[j] = false
				}
			}
			P = keep
		}
		update()
	}
	for _, j := range P {
		if lambda[j] > 0 {
			active = append(active, j)
		}
	}
	for j := 0; j < m && ok; j++ { // excluded (dependent) rows must hold too
		ok = w[j] >= -1e3*tol
	}
	if norm(u) <= 1e-12*norm(g) { // g ∈ 𝒦° up to rounding: the maximum is 0, at u = 0
		return 0, make([]float64, h), active, ok
	}
	return norm(u), normalize(append([]float64(nil), u...)), active, ok
}

// lsqWork solves the unconstrained least-squares steps of Lawson–Hanson,
// min_s ‖Σ_k s_k M_{P_k}ᵀ + g‖, by a Householder QR of the h × |P| matrix of the
// passive rows (|P| ≤ h; a few hundred flops, so it is refactored at every step),
// reusing its buffers.
type lsqWork struct {
	h    int
	e, f []float64 // h × h column-major copy of the passive rows; right-hand side
	s    []float64
}

func newLSQ(h int) *lsqWork {
	return &lsqWork{h: h, e: make([]float64, h*h), f: make([]float64, h), s: make([]float64, h)}
}

// solve returns s (valid until the next call) or errRank when |P| > h or a
// diagonal entry of R is below 1e-12·max(1, |R₀₀|) (M_P numerically rank-deficient).
func (l *lsqWork) solve(M *mat.Dense, P []int, g []float64) ([]float64, error) {
	h, k := l.h, len(P)
	if k > h {
		return nil, errRank
	}
	raw := M.RawMatrix()
	e := l.e[:h*k] // column c = M_{P_c}, entries e[c*h+i]
	for c, j := range P {
		copy(e[c*h:(c+1)*h], raw.Data[j*raw.Stride:j*raw.Stride+h])
	}
	f := l.f
	for i := range f {
		f[i] = -g[i]
	}
	r00 := 0.0
	for c := 0; c < k; c++ {
		col := e[c*h : (c+1)*h]
		// Householder reflector for col[c:]: v = col[c:] − α e₁, α = −sign(col[c])‖col[c:]‖
		nrm := 0.0
		for i := c; i < h; i++ {
			nrm += col[i] * col[i]
		}
		nrm = math.Sqrt(nrm)
		alpha := -nrm
		if col[c] < 0 {
			alpha = nrm
		}
		if c == 0 {
			r00 = math.Abs(alpha)
		}
		if math.Abs(alpha) < 1e-12*math.Max(1, r00) {
			return nil, errRank
		}
		col[c] -= alpha // v, stored in col[c:]
		vv := 0.0
		for i := c; i < h; i++ {
			vv += col[i] * col[i]
		}
		if vv > 0 {
			apply := func(x []float64) {
				d := 0.0
				for i := c; i < h; i++ {
					d += col[i] * x[i]
				}
				d *= 2 / vv
				for i := c; i < h; i++ {
					x[i] -= d * col[i]
				}
			}
			for c2 := c + 1; c2 < k; c2++ {
				apply(e[c2*h : (c2+1)*h])
			}
			apply(f)
		}
		col[c] = alpha // R_cc; R_{c,c2} sits in e[c2*h+c]
	}
	s := l.s[:k]
	for c := k - 1; c >= 0; c-- {
		v := f[c]
		for c2 := c + 1; c2 < k; c2++ {
			v -= e[c2*h+c] * s[c2]
		}
		s[c] = v / e[c*h+c]
	}
	return s, nil
}

type rankErr struct{}

func (rankErr) Error() string { return "rank deficient" }

var errRank = rankErr{}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func normalize(v []float64) []float64 {
	n := norm(v)
	if n == 0 {
		return v
	}
	for i := range v {
		v[i] /= n
	}
	return v
}
