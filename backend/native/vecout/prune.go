package vecout

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
)

// Prune removes atoms without changing the prediction and without raising the
// objective (Carathéodory, as the scalar programs' Prune): the atoms' contributions
// M_k = φ(U_k) G_kᵀ are N·C-vectors, so while there are more than rank many, a null
// vector λ of [vec M_1 … vec M_m] exists; scaling G_k by (1 + tλ_k) keeps the
// prediction, changes the penalty by t Σ_k λ_k ‖U_k‖‖G_k‖ (linear in t while every
// factor stays ≥ 0), so with the sign of λ making that sum ≤ 0 and t the first value
// that zeroes a coefficient, one atom disappears and the objective does not rise.
// At most N·C atoms remain (m* ≤ N·C). Gated atoms use their gate's unit map.
func Prune(p *convex.VectorProgram, sol *convex.VectorSolution) *convex.VectorSolution {
	atoms := append([]convex.Atom(nil), sol.Atoms...)
	for len(atoms) > 1 {
		m := len(atoms)
		Phi := p.Features(atoms)
		Mx := mat.NewDense(p.N*p.C, m, nil)
		scale := 0.0
		for k, a := range atoms {
			for i := 0; i < p.N; i++ {
				for c := 0; c < p.C; c++ {
					v := Phi.At(i, k) * a.G[c]
					Mx.Set(c*p.N+i, k, v)
					scale = math.Max(scale, math.Abs(v))
				}
			}
		}
		if scale == 0 {
			return &convex.VectorSolution{Atoms: nil, Bias: sol.Bias}
		}
		var svd mat.SVD
		if !svd.Factorize(Mx, mat.SVDFullV) {
			break
		}
		sv := svd.Values(nil)
		var V mat.Dense
		svd.VTo(&V)
		// smallest singular direction; with m > rows it is an exact null vector
		rank := 0
		for _, s := range sv {
			if s > 1e-12*sv[0] {
				rank++
			}
		}
		if rank >= m {
			break
		}
		lam := mat.Col(nil, m-1, &V)
		w := 0.0
		for k, a := range atoms {
			w += lam[k] * norm(a.U) * norm(a.G)
		}
		if w > 0 {
			for k := range lam {
				lam[k] = -lam[k]
			}
		}
		t, drop := math.Inf(1), -1
		for k, l := range lam {
			if l < 0 && -1/l < t {
				t, drop = -1/l, k
			}
		}
		if drop < 0 {
			break
		}
		var next []convex.Atom
		for k, a := range atoms {
			if k == drop {
				continue
			}
			f := 1 + t*lam[k]
			if f <= 0 {
				continue
			}
			g := make([]float64, len(a.G))
			for j := range g {
				g[j] = f * a.G[j]
			}
			next = append(next, convex.Atom{U: a.U, G: g, Gate: a.Gate})
		}
		// accept only if the prediction is kept (numerically) and the objective did not rise
		trial := &convex.VectorSolution{Atoms: next, Bias: sol.Bias}
		if p.Objective(trial) > p.Objective(&convex.VectorSolution{Atoms: atoms, Bias: sol.Bias})*(1+1e-13)+1e-15 {
			break
		}
		atoms = next
	}
	return &convex.VectorSolution{Atoms: atoms, Bias: sol.Bias}
}
