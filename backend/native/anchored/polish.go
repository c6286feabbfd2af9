package anchored

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// PolishTrigger: Polish runs only when the interior-point solution already fits
// every target to PolishTrigger·max(1, ‖y‖∞).
const PolishTrigger = 1e-4

// Polish refines a filter w that nearly fits the data (max_i |f_i(w) − y_i| ≤
// PolishTrigger·max(1, ‖y‖∞)) by one exact solve on its active pieces: with A =
// {(i, k) : x_ikᵀw > 0} it solves the least-squares system
//
//	Σ_{k : (i,k) ∈ A} c_k x_ikᵀ w' = y_i   (i = 1..N)
//
// (a Newton step for f(w) = y on the pieces the interior-point method identified,
// by QR; it needs N ≥ H and the pieces' rows to have full rank). w' is returned
// only when every patch keeps its side (x_ikᵀw' > 0 on A, ≤ 0 off A, so the
// pieces are f's own at w') and the largest residual |f_i(w') − y_i| is smaller
// than w's; otherwise ok is false and w should be kept. An interior-point method
// stops at a point within its tolerance of the optimal face; when the face is a
// zero-loss filter this recovers it to rounding error.
func Polish(a *convex.Anchored, y, w []float64) (wp []float64, ok bool) {
	n := len(y)
	if n < a.H || len(w) != a.H {
		return nil, false
	}
	ymax := 0.0
	for _, v := range y {
		ymax = math.Max(ymax, math.Abs(v))
	}
	scale := math.Max(1, ymax)
	r0 := maxResidual(a, y, w)
	if !(r0 <= PolishTrigger*scale) {
		return nil, false
	}
	// J_i = Σ_{k active} c_k x_ik
	J := mat.NewDense(n, a.H, nil)
	for k := 0; k < a.K; k++ {
		for i := 0; i < n; i++ {
			x := a.X.RawRowView(k*n + i)
			if dot(x, w) > 0 {
				axpy(a.C[k], x, J.RawRowView(i))
			}
		}
	}
	var qr mat.QR
	qr.Factorize(J)
	var sol mat.Dense
	if err := qr.SolveTo(&sol, false, mat.NewDense(n, 1, append([]float64(nil), y...))); err != nil {
		return nil, false
	}
	wp = make([]float64, a.H)
	for j := range wp {
		wp[j] = sol.At(j, 0)
		if math.IsNaN(wp[j]) || math.IsInf(wp[j], 0) {
			return nil, false
		}
	}
	for k := 0; k < a.K; k++ {
		for i := 0; i < n; i++ {
			x := a.X.RawRowView(k*n + i)
			if (dot(x, w) > 0) != (dot(x, wp) > 0) {
				return nil, false
			}
		}
	}
	if !(maxResidual(a, y, wp) < r0) {
		return nil, false
	}
	return wp, true
}

func maxResidual(a *convex.Anchored, y, w []float64) float64 {
	f := a.F(w, len(y))
	m := 0.0
	for i := range y {
		m = math.Max(m, math.Abs(f[i]-y[i]))
	}
	return m
}
