package pattern

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Strict feasibility of a homogeneous system G q > 0, by least-distance programming
// (Lawson & Hanson, Solving Least Squares Problems, ch. 23): the least-norm q with
// G q ≥ 1 exists iff the system is strictly feasible, and it is read off the
// nonnegative least-squares problem
//
//	min_{y ≥ 0} ‖E y − f‖₂,   E = [Gᵀ; 1ᵀ] ((h+1) × m),  f = e_{h+1}:
//
// with the residual r = E y* − f, the system is infeasible iff r = 0, and otherwise
// r_{h+1} < 0 and q = −r_{1..h}/r_{h+1} satisfies G q ≥ 1. The NNLS is Lawson–Hanson's
// active-set method.
//
// Tolerance and stopping rule: rows of G are expected to have unit norm (every caller
// normalises them); the system counts as infeasible when −r_{h+1} ≤ ldpTol (then the
// least-norm q has norm ≥ 1/ldpTol: a cell thinner than rounding), and every answer is
// verified — q is returned only when min_r G_r q ≥ ½. NNLS stops when every inactive
// dual entry is ≤ nnlsTol·‖E‖_max, or after 3m + 30 outer steps (then the point is
// verified like any other, and an unverified one counts as infeasible).
const (
	ldpTol  = 1e-10
	nnlsTol = 1e-12
)

// strictPoint returns q with G q ≥ ½ (rows of G given as slices of length h), or
// ok = false when the system G q > 0 has no solution (within ldpTol).
func strictPoint(G [][]float64, h int) (q []float64, ok bool) {
	m := len(G)
	if m == 0 {
		return make([]float64, h), true
	}
	E := mat.NewDense(h+1, m, nil)
	for j, g := range G {
		for i := 0; i < h; i++ {
			E.Set(i, j, g[i])
		}
		E.Set(h, j, 1)
	}
	f := make([]float64, h+1)
	f[h] = 1
	y := nnls(E, f)
	r := make([]float64, h+1)
	for i := 0; i <= h; i++ {
		s := -f[i]
		for j := 0; j < m; j++ {
			if y[j] != 0 {
				s += E.At(i, j) * y[j]
			}
		}
		r[i] = s
	}
	if !(-r[h] > ldpTol) { // r_{h+1} = Σy − 1 < 0 when feasible
		return nil, false
	}
	q = make([]float64, h)
	for i := range q {
		q[i] = -r[i] / r[h]
	}
	for _, g := range G {
		if dotp(g, q) < 0.5 {
			return nil, false
		}
	}
	return q, true
}

// nnls solves min_{y ≥ 0} ‖E y − f‖₂ (Lawson–Hanson).
func nnls(E *mat.Dense, f []float64) []float64 {
	rows, m := E.Dims()
	emax := 0.0
	for _, v := range E.RawMatrix().Data {
		emax = math.Max(emax, math.Abs(v))
	}
	tol := nnlsTol * math.Max(emax, 1)
	y := make([]float64, m)
	inP := make([]bool, m)
	var P []int
	resid := func() []float64 { // f − E y
		r := append([]float64(nil), f...)
		for j := 0; j < m; j++ {
			if y[j] != 0 {
				for i := 0; i < rows; i++ {
					r[i] -= E.At(i, j) * y[j]
				}
			}
		}
		return r
	}
	for outer := 0; outer < 3*m+30; outer++ {
		r := resid()
		best, jb := tol, -1
		for j := 0; j < m; j++ {
			if inP[j] {
				continue
			}
			w := 0.0
			for i := 0; i < rows; i++ {
				w += E.At(i, j) * r[i]
			}
			if w > best {
				best, jb = w, j
			}
		}
		if jb < 0 {
			break
		}
		inP[jb] = true
		P = append(P, jb)
		for inner := 0; inner < 3*m+30; inner++ {
			z, good := lsqCols(E, P, f)
			if !good {
				// dependent columns: drop the newest and stop growing
				inP[jb] = false
				P = P[:len(P)-1]
				return y
			}
			allPos := true
			for k := range P {
				if z[k] <= 0 {
					allPos = false
					break
				}
			}
			if allPos {
				for k, j := range P {
					y[j] = z[k]
				}
				break
			}
			alpha := math.Inf(1)
			for k, j := range P {
				if z[k] <= 0 {
					if a := y[j] / (y[j] - z[k]); a < alpha {
						alpha = a
					}
				}
			}
			for k, j := range P {
				y[j] += alpha * (z[k] - y[j])
			}
			next := P[:0]
			for _, j := range P {
				if y[j] <= tol {
					y[j] = 0
					inP[j] = false
					continue
				}
				next = append(next, j)
			}
			P = next
			if len(P) == 0 {
				break
			}
		}
	}
	return y
}

// lsqCols solves min_z ‖E_P z − f‖ over the columns P of E (QR least squares);
// good = false when those columns are numerically dependent.
func lsqCols(E *mat.Dense, P []int, f []float64) ([]float64, bool) {
	rows, _ := E.Dims()
	if len(P) > rows {
		return nil, false
	}
	A := mat.NewDense(rows, len(P), nil)
	for k, j := range P {
		for i := 0; i < rows; i++ {
			A.Set(i, k, E.At(i, j))
		}
	}
	var qr mat.QR
	qr.Factorize(A)
	var R mat.Dense
	qr.RTo(&R)
	rmax := 0.0
	for k := range P {
		rmax = math.Max(rmax, math.Abs(R.At(k, k)))
	}
	for k := range P {
		if math.Abs(R.At(k, k)) <= 1e-12*math.Max(rmax, 1) {
			return nil, false
		}
	}
	var z mat.VecDense
	if err := qr.SolveVecTo(&z, false, mat.NewVecDense(rows, f)); err != nil {
		return nil, false
	}
	return z.RawVector().Data, true
}

func dotp(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
