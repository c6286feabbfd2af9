package cone

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Anderson acceleration, type II (Walker & Ni 2011; Zhang, O'Donoghue & Boyd,
// "Globally convergent type-I Anderson acceleration for nonsmooth fixed-point
// iterations", SIOPT 2020, for the safeguard idea), applied to the fixed-point map
// T(w) = w + f(w) of Douglas–Rachford. With the last L differences
// ΔWᵢ = w_{i+1} − wᵢ and ΔFᵢ = f_{i+1} − fᵢ,
//
//	γ = argmin ‖f_k − ΔF γ‖² + λ‖γ‖²,   λ = 1e-10·‖ΔF‖_F²,
//	w_{k+1} = w_k + f_k − (ΔW + ΔF) γ.
//
// The safeguard (in solve.go) accepts the accelerated point only if the fixed-point
// residual there is no larger than at the point it replaced; otherwise the plain
// step is taken and the memory cleared.
type anderson struct {
	mem      int
	dW, dF   [][]float64
	count    int // stored pairs (≤ mem)
	pos      int // next slot
	wl, fl   []float64
	haveLast bool
	g        *mat.SymDense
	rhs, gam *mat.VecDense
}

func newAnderson(mem, l int) *anderson {
	a := &anderson{mem: mem, wl: make([]float64, l), fl: make([]float64, l)}
	a.dW = make([][]float64, mem)
	a.dF = make([][]float64, mem)
	for i := range a.dW {
		a.dW[i] = make([]float64, l)
		a.dF[i] = make([]float64, l)
	}
	return a
}

func (a *anderson) reset() {
	a.count, a.pos, a.haveLast = 0, 0, false
}

// step records (w, f) and returns in out the accelerated point; ok is false when no
// extrapolation was possible (out then holds w + f).
func (a *anderson) step(w, f, out []float64) (ok bool) {
	if a.haveLast {
		dw, df := a.dW[a.pos], a.dF[a.pos]
		for i := range w {
			dw[i] = w[i] - a.wl[i]
			df[i] = f[i] - a.fl[i]
		}
		a.pos = (a.pos + 1) % a.mem
		if a.count < a.mem {
			a.count++
		}
	}
	copy(a.wl, w)
	copy(a.fl, f)
	a.haveLast = true
	for i := range out {
		out[i] = w[i] + f[i]
	}
	k := a.count
	if k == 0 {
		return false
	}
	g := mat.NewSymDense(k, nil)
	rhs := mat.NewVecDense(k, nil)
	fro := 0.0
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			g.SetSym(i, j, dot(a.dF[i], a.dF[j]))
		}
		fro += g.At(i, i)
		rhs.SetVec(i, dot(a.dF[i], f))
	}
	if fro == 0 || math.IsNaN(fro) || math.IsInf(fro, 0) {
		return false
	}
	for i := 0; i < k; i++ {
		g.SetSym(i, i, g.At(i, i)+1e-10*fro)
	}
	var ch mat.Cholesky
	if !ch.Factorize(g) {
		return false
	}
	gam := mat.NewVecDense(k, nil)
	if err := ch.SolveVecTo(gam, rhs); err != nil {
		return false
	}
	for i := 0; i < k; i++ {
		c := gam.AtVec(i)
		if math.IsNaN(c) || math.IsInf(c, 0) {
			for i := range out {
				out[i] = w[i] + f[i]
			}
			return false
		}
		dw, df := a.dW[i], a.dF[i]
		for t := range out {
			out[t] -= c * (dw[t] + df[t])
		}
	}
	return true
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func norm2(a []float64) float64 { return math.Sqrt(dot(a, a)) }

func normInf(a []float64) float64 {
	m := 0.0
	for _, v := range a {
		if v := math.Abs(v); v > m {
			m = v
		}
	}
	return m
}
