package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/optimize"
)

// localSearchSeeds returns the activation patterns of one seeded local search of the
// non-convex two-layer network (L-BFGS, width m) as adaptive-mode candidates.
//
// Why this is sound, and why it helps (§1.3, docs/math/01-machinery.md: rescaling, and item 1 of
// "Why the two problems have the same optimum"):
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
func localSearchSeeds(ctx context.Context, p *convex.Program, f *convex.Family, m int, seed int64) []certify.Candidate {
	if !localSearchable(p, f) || m <= 0 {
		return nil
	}
	_, h := f.A.Dims()
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	size := m*h + m
	if p.OutputBias {
		size++
	}
	th := make([]float64, size)
	for k := range th[:m*h] {
		th[k] = rng.NormFloat64() / math.Sqrt(float64(h))
	}
	for k := m * h; k < m*h+m; k++ {
		th[k] = rng.NormFloat64() / math.Sqrt(float64(m))
	}
	return localSearch(ctx, p, f, m, th, SeedIterations).cands
}

// lsResult is the end point of a local search: one candidate per neuron with a
// nonzero pattern (D and the neuron's first-layer weights u as Gate), the neuron's
// output weight α, the output bias and the objective.
type lsResult struct {
	cands []certify.Candidate
	alpha []float64
	bias  float64
	obj   float64
}

// localSearchFrom runs the local search of localSearchSeeds from the network of a
// solution of the program (family f, FC layout): every nonzero block x_b of copy s
// becomes the neuron u = x_b/√‖x_b‖, α = s·√‖x_b‖ (the recovery of §1.3, so the
// start has the solution's objective), and the output bias is the solution's.
//
// Why: the convex solution is optimal over its own patterns only; the non-convex
// objective lets its neurons cross into neighbouring cells, so the local search
// moves to patterns the certificate search may not rank first, and the program's
// optimum after adding them is at most the local search's objective (the argument of
// localSearchSeeds), so the adaptive loop cannot lose by it.
func localSearchFrom(ctx context.Context, p *convex.Program, f *convex.Family, fi int, sol *convex.Solution, iters int) *lsResult {
	if !localSearchable(p, f) || fi >= len(sol.Blocks) {
		return nil
	}
	_, h := f.A.Dims()
	var us [][]float64
	var as []float64
	for c, B := range sol.Blocks[fi] {
		if B == nil {
			continue
		}
		r, _ := B.Dims()
		for q := 0; q < r; q++ {
			x := B.RawRowView(q)
			nx := 0.0
			for _, v := range x {
				nx += v * v
			}
			nx = math.Sqrt(nx)
			if nx == 0 {
				continue
			}
			sc := math.Sqrt(nx)
			u := make([]float64, h)
			for k := range u {
				u[k] = x[k] / sc
			}
			us = append(us, u)
			as = append(as, f.Signs[c]*sc)
		}
	}
	m := len(us)
	if m == 0 {
		return nil
	}
	size := m*h + m
	if p.OutputBias {
		size++
	}
	th := make([]float64, size)
	for j, u := range us {
		copy(th[j*h:(j+1)*h], u)
		th[m*h+j] = as[j]
	}
	if p.OutputBias {
		th[m*h+m] = sol.Bias
	}
	return localSearch(ctx, p, f, m, th, iters)
}

// localSearch minimises the non-convex objective of the two-layer network over
// θ = [U (m×h, row j = u_j) | α (m) | b0] from th by L-BFGS (at most iters
// iterations, gradient norm 1e-9) and returns the patterns of its neurons and its
// final objective.
func localSearch(ctx context.Context, p *convex.Program, f *convex.Family, m int, th []float64, iters int) *lsResult {
	A := f.A
	n, h := A.Dims()
	bias := p.OutputBias
	obj := lsObjective(p, f, m)
	res, _ := optimize.Minimize(optimize.Problem{
		Func: func(x []float64) float64 { return obj(x, nil) },
		Grad: func(g, x []float64) { obj(x, g) },
	}, th, &optimize.Settings{GradientThreshold: 1e-9, MajorIterations: iters, Recorder: stopRecorder{ctx}}, &optimize.LBFGS{})
	if res == nil {
		return &lsResult{obj: math.NaN()}
	}
	out := &lsResult{obj: obj(res.X, nil)}
	if bias {
		out.bias = res.X[m*h+m]
	}
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
			out.cands = append(out.cands, certify.Candidate{D: D, Gate: u})
			out.alpha = append(out.alpha, res.X[m*h+j])
		}
	}
	return out
}

// lsObjective returns the non-convex objective ½‖ŷ − y‖² + (β/2)(‖U‖² + ‖α‖²) of the
// two-layer network with m neurons on family f's data and its gradient (into grad
// when non-nil), over θ = [U (m×h, row j = u_j) | α (m) | b0] (b0 only with an
// output bias, unpenalised).
func lsObjective(p *convex.Program, f *convex.Family, m int) func(th, grad []float64) float64 {
	A := f.A
	n, h := A.Dims()
	bias := p.OutputBias
	y := p.Y
	beta := p.Beta
	// θ = [U (m×h, row j = u_j) | α (m) | b0]. Forward: Z = A·Uᵀ (n×m),
	// ŷ = (Z)₊α + b0; backward: ∇α = (Z)₊ᵀr, ∇U = (1[Z > 0] ∘ rαᵀ)ᵀA — two
	// products per evaluation (buffers reused; Gemm is deterministic).
	Z := make([]float64, n*m)
	GZ := make([]float64, n*m)
	r := make([]float64, n)
	Ag := A.RawMatrix()
	return func(th, grad []float64) float64 {
		a := th[m*h : m*h+m]
		b0 := 0.0
		if bias {
			b0 = th[m*h+m]
		}
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, Ag, blas64.General{Rows: m, Cols: h, Stride: h, Data: th[:m*h]}, 0,
			blas64.General{Rows: n, Cols: m, Stride: m, Data: Z})
		loss := 0.0
		for i := 0; i < n; i++ {
			z := Z[i*m : (i+1)*m]
			s := b0
			for j, v := range z {
				if v > 0 {
					s += v * a[j]
				}
			}
			r[i] = s - y[i]
			loss += 0.5 * r[i] * r[i]
		}
		pen := 0.0
		for k := 0; k < m*h+m; k++ {
			pen += th[k] * th[k]
		}
		if grad == nil {
			return loss + 0.5*beta*pen
		}
		for k := range grad {
			grad[k] = 0
		}
		ga := grad[m*h : m*h+m]
		for i := 0; i < n; i++ {
			z := Z[i*m : (i+1)*m]
			gz := GZ[i*m : (i+1)*m]
			ri := r[i]
			for j, v := range z {
				if v > 0 {
					ga[j] += ri * v
					gz[j] = ri * a[j]
				} else {
					gz[j] = 0
				}
			}
			if bias {
				grad[m*h+m] += ri
			}
		}
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, blas64.General{Rows: n, Cols: m, Stride: m, Data: GZ}, Ag, 0,
			blas64.General{Rows: m, Cols: h, Stride: h, Data: grad[:m*h]})
		for k := 0; k < m*h+m; k++ {
			grad[k] += beta * th[k]
		}
		return loss + 0.5*beta*pen
	}
}

// localSearchable: the local searches handle the ReLU family of an FC program with
// squared loss (A = C = the data with its bias column, one row per sample).
func localSearchable(p *convex.Program, f *convex.Family) bool {
	if p.Loss != "squared" && p.Loss != "" || f.C == nil || f.A == nil || f.Weight == nil {
		return false
	}
	np, _ := f.A.Dims()
	if np != p.N || len(f.Sample) != np || len(f.Signs) != 2 {
		return false
	}
	for r, s := range f.Sample {
		if s != r {
			return false
		}
	}
	return true
}

// SeedIterations caps the L-BFGS iterations of the adaptive mode's seeding search.
const SeedIterations = 3000

// stopRecorder ends an L-BFGS run once ctx says stop (solver.Stop), after the
// iteration in progress: the local search then reports where it got to.
type stopRecorder struct{ ctx context.Context }

func (stopRecorder) Init() error { return nil }

func (r stopRecorder) Record(*optimize.Location, optimize.Operation, *optimize.Stats) error {
	if st := solver.Stop(r.ctx); st != "" {
		return errors.New(string(st))
	}
	return nil
}
