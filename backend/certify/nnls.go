package certify

import (
	"math"

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
	gv := mat.NewVecDense(h, g)
	w := mat.NewVecDense(m, nil)
	w.MulVec(M, gv) // M u with u = g
	mmax := 0.0
	for _, v := range M.RawMatrix().Data {
		mmax = math.Max(mmax, math.Abs(v))
	}
	tol := 1e-12 * mmax * math.Max(norm(g), 1e-300)
	feasible := true
	for j := 0; j < m; j++ {
		if w.AtVec(j) < -tol {
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
	uv := mat.NewVecDense(h, u)
	update := func() { // u = g + Mᵀλ over P, w = M u
		copy(u, g)
		for _, j := range P {
			if lambda[j] != 0 {
				r := M.RawRowView(j)
				for k := 0; k < h; k++ {
					u[k] += lambda[j] * r[k]
				}
			}
		}
		w.MulVec(M, uv)
	}
	excluded := make([]bool, m)
	ok = false
	for it := 0; it < 3*m+50; it++ {
		// the most violated inactive row (most negative M u)
		t, worst := -1, -tol
		for j := 0; j < m; j++ {
			if !inP[j] && !excluded[j] && w.AtVec(j) < worst {
				t, worst = j, w.AtVec(j)
			}
		}
		if t < 0 {
			ok = true
			break
		}
		inP[t] = true
		P = append(P, t)
		for inner := 0; inner < 3*m+50; inner++ {
			s, err := lsq(M, P, g)
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
		ok = w.AtVec(j) >= -1e3*tol
	}
	if norm(u) <= 1e-12*norm(g) { // g ∈ 𝒦° up to rounding: the maximum is 0, at u = 0
		return 0, make([]float64, h), active, ok
	}
	return norm(u), normalize(append([]float64(nil), u...)), active, ok
}

// lsq solves min_s ‖Σ_{k} s_k M_{P_k} + g‖ (columns M_jᵀ), i.e. the unconstrained
// least-squares step of Lawson–Hanson on the passive set.
func lsq(M *mat.Dense, P []int, g []float64) ([]float64, error) {
	h := len(g)
	E := mat.NewDense(h, len(P), nil)
	for k, j := range P {
		E.SetCol(k, M.RawRowView(j))
	}
	f := mat.NewVecDense(h, nil)
	for k := range g {
		f.SetVec(k, -g[k])
	}
	if len(P) > h {
		return nil, errRank
	}
	var qr mat.QR
	qr.Factorize(E)
	var R mat.Dense
	qr.RTo(&R)
	for k := 0; k < len(P); k++ {
		if math.Abs(R.At(k, k)) < 1e-12*math.Max(1, math.Abs(R.At(0, 0))) {
			return nil, errRank
		}
	}
	var s mat.VecDense
	if err := qr.SolveVecTo(&s, false, f); err != nil {
		return nil, err
	}
	return s.RawVector().Data, nil
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
