package certify

import (
	"math"
	"sort"

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
//
// Many rows (m > wsMinRows): the same method on a working set of rows. The first
// set holds the wsInit(h) rows most negative at g; Lawson–Hanson on those rows gives
// the maximiser over a larger cone, which is checked against every row (one product
// M u); when no row is violated by more than tol it is the maximiser over 𝒦 (the
// projection onto a cone is unique), otherwise the most violated rows (at most 4h)
// join the set (at most 4h per round) and the solve is repeated. A Lawson–Hanson step costs a product with
// the rows it works on, so this replaces O(steps·m·h) by O(rounds·m·h) with a few
// rounds (a CNN's cone has n·K rows in h = 16 dimensions: minutes became seconds at
// n = 10 000). After wsMaxRounds rounds the full method runs. Same tolerance, same
// stopping rule, same result up to rounding.
func ConeMax(g []float64, M *mat.Dense) (val float64, u []float64, active []int, ok bool) {
	if M == nil {
		u = append([]float64(nil), g...)
		return norm(u), normalize(u), nil, true
	}
	m, h := M.Dims()
	tol := coneTol(g, M)
	if m <= wsMinRows {
		return coneMaxLH(g, M, tol)
	}
	raw := M.RawMatrix()
	w := make([]float64, m)
	blas64.Gemv(blas.NoTrans, 1, raw, blas64.Vector{N: h, Inc: 1, Data: g}, 0, blas64.Vector{N: m, Inc: 1, Data: w})
	in := make([]bool, m)
	var S []int
	add := func(k int) int {
		cand := mostNegative(w, k, -tol, in)
		for _, j := range cand {
			in[j] = true
			S = append(S, j)
		}
		sort.Ints(S)
		return len(cand)
	}
	if add(wsInit(h)) == 0 {
		return coneMaxLH(g, M, tol) // g is in 𝒦: no step
	}
	for round := 0; round < wsMaxRounds; round++ {
		sub := mat.NewDense(len(S), h, nil)
		for a, j := range S {
			copy(sub.RawRowView(a), raw.Data[j*raw.Stride:j*raw.Stride+h])
		}
		v, us, act, good := coneMaxLH(g, sub, tol)
		// w = M·(unnormalised maximiser): the check is scale-free, so the unit u
		// (or g itself when the maximum is 0) is used
		x := us
		if v == 0 {
			x = g
		}
		blas64.Gemv(blas.NoTrans, 1, raw, blas64.Vector{N: h, Inc: 1, Data: x}, 0, blas64.Vector{N: m, Inc: 1, Data: w})
		if v != 0 {
			// tol is relative to ‖g‖; u is a unit vector of length ‖Π(g)‖ ≤ ‖g‖
			for j := range w {
				w[j] *= v
			}
		}
		if v == 0 {
			// the maximum over a larger cone is 0, so it is 0 over 𝒦 (u = 0 is in 𝒦)
			for _, a := range act {
				active = append(active, S[a])
			}
			return 0, us, active, good
		}
		if add(4*h) == 0 {
			ok = good
			for j := 0; j < m && ok; j++ {
				ok = w[j] >= -1e3*tol
			}
			for _, a := range act {
				active = append(active, S[a])
			}
			return v, us, active, ok
		}
	}
	return coneMaxLH(g, M, tol)
}

// mostNegative returns up to k indices j with w[j] < below and !skip[j], the most
// negative first (ties by index): one pass with a bounded max-heap, O(m log k).
func mostNegative(w []float64, k int, below float64, skip []bool) []int {
	if k <= 0 {
		return nil
	}
	worse := func(a, b int) bool { // a ranks after b
		return w[a] > w[b] || w[a] == w[b] && a > b
	}
	h := make([]int, 0, k) // max-heap under worse: h[0] is the least negative kept
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && worse(h[c+1], h[c]) {
				c++
			}
			if !worse(h[c], h[i]) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for j, v := range w {
		if !(v < below) || skip[j] {
			continue
		}
		if len(h) < k {
			h = append(h, j)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(h[i], h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
			continue
		}
		if worse(h[0], j) {
			h[0] = j
			down(0)
		}
	}
	sort.Slice(h, func(a, b int) bool { return worse(h[b], h[a]) })
	return h
}

// wsMinRows, wsInit, wsMaxRounds: ConeMax's working set (its doc).
const (
	wsMinRows   = 512
	wsMaxRounds = 60
)

func wsInit(h int) int { return 8 * h }

// coneTol is ConeMax's feasibility tolerance 1e-12·‖M‖_max·‖g‖.
func coneTol(g []float64, M *mat.Dense) float64 {
	raw := M.RawMatrix()
	m, h := M.Dims()
	mmax := 0.0
	for j := 0; j < m; j++ {
		for _, x := range raw.Data[j*raw.Stride : j*raw.Stride+h] {
			if a := math.Abs(x); a > mmax {
				mmax = a
			}
		}
	}
	return 1e-12 * mmax * math.Max(norm(g), 1e-300)
}

// coneMaxLH is ConeMax by Lawson–Hanson on every row of M with the given tolerance.
func coneMaxLH(g []float64, M *mat.Dense, tol float64) (val float64, u []float64, active []int, ok bool) {
	h := len(g)
	u = append([]float64(nil), g...)
	m, _ := M.Dims()
	raw := M.RawMatrix()
	row := func(j int) []float64 { return raw.Data[j*raw.Stride : j*raw.Stride+h] }
	w := make([]float64, m) // M u
	mv := func() {          // w = M u (gonum's Gemv: four rows at a time)
		blas64.Gemv(blas.NoTrans, 1, raw, blas64.Vector{N: h, Inc: 1, Data: u}, 0, blas64.Vector{N: m, Inc: 1, Data: w})
	}
	mv()
	feasible := true
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
