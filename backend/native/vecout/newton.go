package vecout

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// newtonMaster refines a master solution (W: m × C output rows, b) on its active
// set: with the zero rows fixed at 0 the objective
//
//	f(Z) = F(Σ_j a_j Z_jᵀ) + β Σ_{j active} ‖Z_j‖,   a_j = column j of [Φ_active, 1]
//
// is smooth (the norms are away from 0), so Newton's method with a backtracking line
// search converges quadratically. Hessian: Σ_i a_i a_iᵀ ⊗ S_i (S_i = I for squared
// loss, diag(p_i) − p_i p_iᵀ for cross-entropy) plus β(I − ẑẑᵀ)/‖z‖ per active row.
// It returns the refined (W, b) and true when the objective decreased; a step that
// would shrink an active row to (nearly) zero ends the refinement (FISTA's answer is
// kept for that row's structure).
func newtonMaster(fp *fistaProblem, W *mat.Dense, b []float64, iters int) (*mat.Dense, []float64, bool) {
	m, c := W.Dims()
	n, _ := fp.Phi.Dims()
	var act []int
	for j := 0; j < m; j++ {
		if norm(W.RawRowView(j)) > 0 {
			act = append(act, j)
		}
	}
	ma := len(act)
	nb := 0
	if fp.bias {
		nb = 1
	}
	J := ma + nb
	if J == 0 {
		return W, b, false
	}
	// design a_i (J entries per sample)
	Aa := mat.NewDense(n, J, nil)
	for t, j := range act {
		for i := 0; i < n; i++ {
			Aa.Set(i, t, fp.Phi.At(i, j))
		}
	}
	if nb == 1 {
		for i := 0; i < n; i++ {
			Aa.Set(i, ma, 1)
		}
	}
	z := make([]float64, J*c)
	for t, j := range act {
		copy(z[t*c:(t+1)*c], W.RawRowView(j))
	}
	if nb == 1 {
		copy(z[ma*c:], b)
	}
	predict := func(z []float64) *mat.Dense {
		Z := mat.NewDense(J, c, z)
		var Yh mat.Dense
		Yh.Mul(Aa, Z)
		return &Yh
	}
	obj := func(z []float64) float64 {
		f := convex.VectorLoss(fp.loss, predict(z), fp.Y)
		for t := 0; t < ma; t++ {
			f += fp.beta * norm(z[t*c:(t+1)*c])
		}
		return f
	}
	f0 := obj(z)
	f := f0
	dim := J * c
	for it := 0; it < iters; it++ {
		Yh := predict(z)
		V := convex.VectorLossGrad(fp.loss, Yh, fp.Y)
		grad := make([]float64, dim)
		Hm := mat.NewSymDense(dim, nil)
		var P *mat.Dense
		if fp.loss == convex.LossCrossEntropy {
			P = mat.NewDense(n, c, nil)
			P.Add(V, fp.Y) // softmax rows (targets sum to 1)
		}
		for i := 0; i < n; i++ {
			ai := Aa.RawRowView(i)
			vi := V.RawRowView(i)
			for t := 0; t < J; t++ {
				if ai[t] == 0 {
					continue
				}
				for k := 0; k < c; k++ {
					grad[t*c+k] += ai[t] * vi[k]
				}
			}
			for t := 0; t < J; t++ {
				if ai[t] == 0 {
					continue
				}
				for s := t; s < J; s++ {
					w := ai[t] * ai[s]
					if w == 0 {
						continue
					}
					for k := 0; k < c; k++ {
						for l := 0; l < c; l++ {
							h := 0.0
							if P == nil {
								if k == l {
									h = 1
								}
							} else {
								pk, pl := P.At(i, k), P.At(i, l)
								h = -pk * pl
								if k == l {
									h += pk
								}
							}
							if h == 0 {
								continue
							}
							r, q := t*c+k, s*c+l
							if s == t && q < r {
								continue
							}
							Hm.SetSym(r, q, Hm.At(r, q)+w*h)
						}
					}
				}
			}
		}
		for t := 0; t < ma; t++ {
			zt := z[t*c : (t+1)*c]
			nz := norm(zt)
			if nz < 1e-300 {
				return W, b, false
			}
			for k := 0; k < c; k++ {
				grad[t*c+k] += fp.beta * zt[k] / nz
				for l := k; l < c; l++ {
					h := -fp.beta * zt[k] * zt[l] / (nz * nz * nz)
					if k == l {
						h += fp.beta / nz
					}
					Hm.SetSym(t*c+k, t*c+l, Hm.At(t*c+k, t*c+l)+h)
				}
			}
		}
		gn := norm(grad)
		if gn <= 1e-15*(1+math.Abs(f)) {
			break
		}
		// damped solve (H + μI) d = −g
		var d mat.VecDense
		mu := 1e-14 * mat.Norm(Hm, 1)
		ok := false
		for try := 0; try < 8 && !ok; try++ {
			Hd := mat.NewSymDense(dim, nil)
			Hd.CopySym(Hm)
			for r := 0; r < dim; r++ {
				Hd.SetSym(r, r, Hd.At(r, r)+mu)
			}
			var ch mat.Cholesky
			if ch.Factorize(Hd) {
				g := mat.NewVecDense(dim, grad)
				if err := ch.SolveVecTo(&d, g); err == nil {
					ok = true
				}
			}
			mu = math.Max(mu*100, 1e-12)
		}
		if !ok {
			break
		}
		step := 1.0
		zn := make([]float64, dim)
		improved := false
		for ls := 0; ls < 40; ls++ {
			for r := range zn {
				zn[r] = z[r] - step*d.AtVec(r)
			}
			fn := obj(zn)
			if fn <= f {
				// keep the active rows away from zero
				shrunk := false
				for t := 0; t < ma; t++ {
					if norm(zn[t*c:(t+1)*c]) < 1e-3*norm(z[t*c:(t+1)*c]) {
						shrunk = true
					}
				}
				if !shrunk {
					copy(z, zn)
					improved = fn < f
					f = fn
					break
				}
			}
			step /= 2
		}
		if !improved {
			break
		}
	}
	if !(f < f0) {
		return W, b, false
	}
	Wn := mat.NewDense(m, c, nil)
	for t, j := range act {
		Wn.SetRow(j, z[t*c:(t+1)*c])
	}
	bn := append([]float64(nil), b...)
	if nb == 1 {
		copy(bn, z[ma*c:])
	}
	return Wn, bn, true
}
