package train

import (
	"math"
	"math/rand/v2"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/backend/convex"

	"gonum.org/v1/gonum/optimize"
)

// localSearchSeeds returns the activation patterns of one seeded local search of the
// non-convex two-layer network (L-BFGS, width m) as adaptive-mode candidates.
//
// Why this is sound, and why it helps (§1.3, docs/math/01-machinery.md rescaling, §9b.3 item 1):
// a network with neurons (u_j, α_j) is a feasible point of the convex program restricted
// to its own patterns D_j = diag 1[A u_j ≥ 0] — put v_j = |α_j|·u_j in the copy of sign
// α_j (u_j lies in the cone of D_j by construction; neurons sharing a pattern and sign
// add up, the cones are convex and the norm subadditive) — with the same prediction and
// a penalty β Σ |α_j|‖u_j‖ ≤ (β/2) Σ (‖u_j‖² + α_j²). So once these patterns are in the
// program, its optimum is at most the local search's objective, and column generation
// (certificate-violating patterns) continues from there. Sampled gates alone rarely hit
// the patterns a trained network uses when d is moderate (measured: n = 200, d = 10,
// 3000 sampled-and-searched patterns still 2.5× above L-BFGS).
//
// A is the family's data matrix (the hidden bias is its ones column, penalised like the
// weights); an output bias, when the program has one, is unpenalised. Squared loss only;
// the search stops at MaxIter L-BFGS iterations or a gradient norm of 1e-9.
func localSearchSeeds(p *convex.Program, f *convex.Family, m int, seed int64) []certify.Candidate {
	if p.Loss != "squared" && p.Loss != "" || f.C == nil || m <= 0 {
		return nil
	}
	A := f.A
	n, h := A.Dims()
	bias := p.OutputBias
	y := p.Y
	beta := p.Beta
	// θ = [U (m×h, row j = u_j) | α (m) | b0]
	obj := func(th, grad []float64) float64 {
		U, a := th[:m*h], th[m*h:m*h+m]
		b0 := 0.0
		if bias {
			b0 = th[m*h+m]
		}
		z := make([]float64, m)
		r := make([]float64, n)
		loss := 0.0
		if grad != nil {
			for k := range grad {
				grad[k] = 0
			}
		}
		pre := make([]float64, n*m)
		for i := 0; i < n; i++ {
			x := A.RawRowView(i)
			s := b0
			for j := 0; j < m; j++ {
				u := U[j*h : (j+1)*h]
				v := 0.0
				for k, xk := range x {
					v += xk * u[k]
				}
				pre[i*m+j] = v
				z[j] = math.Max(v, 0)
				s += z[j] * a[j]
			}
			r[i] = s - y[i]
			loss += 0.5 * r[i] * r[i]
			if grad == nil {
				continue
			}
			for j := 0; j < m; j++ {
				grad[m*h+j] += r[i] * z[j]
				if pre[i*m+j] > 0 {
					g := r[i] * a[j]
					gu := grad[j*h : (j+1)*h]
					for k, xk := range x {
						gu[k] += g * xk
					}
				}
			}
			if bias {
				grad[m*h+m] += r[i]
			}
		}
		pen := 0.0
		for k := 0; k < m*h+m; k++ {
			pen += th[k] * th[k]
			if grad != nil {
				grad[k] += beta * th[k]
			}
		}
		return loss + 0.5*beta*pen
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	size := m*h + m
	if bias {
		size++
	}
	th := make([]float64, size)
	for k := range th[:m*h] {
		th[k] = rng.NormFloat64() / math.Sqrt(float64(h))
	}
	for k := m * h; k < m*h+m; k++ {
		th[k] = rng.NormFloat64() / math.Sqrt(float64(m))
	}
	res, _ := optimize.Minimize(optimize.Problem{
		Func: func(x []float64) float64 { return obj(x, nil) },
		Grad: func(g, x []float64) { obj(x, g) },
	}, th, &optimize.Settings{GradientThreshold: 1e-9, MajorIterations: SeedIterations}, &optimize.LBFGS{})
	if res == nil {
		return nil
	}
	var out []certify.Candidate
	for j := 0; j < m; j++ {
		u := append([]float64(nil), res.X[j*h:(j+1)*h]...)
		D := make([]float64, n)
		any := false
		for i := 0; i < n; i++ {
			v := 0.0
			for k, xk := range A.RawRowView(i) {
				v += xk * u[k]
			}
			if v >= 0 {
				D[i] = 1
				any = true
			}
		}
		if any {
			out = append(out, certify.Candidate{D: D, Gate: u})
		}
	}
	return out
}

// SeedIterations caps the L-BFGS iterations of the adaptive mode's seeding search.
const SeedIterations = 3000
