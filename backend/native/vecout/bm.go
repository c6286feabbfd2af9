package vecout

import (
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// Burer–Monteiro refinement. Writing every atom u gᵀ of the exact program as the
// product of its factors turns the program over m atoms into the non-convex network
// objective itself,
//
//	min_{u_k, g_k, b}  F(Σ_k φ(u_k) g_kᵀ + 1bᵀ) + (β/2) Σ_k (‖u_k‖² + ‖g_k‖²),
//
// the factorised (Burer–Monteiro) form whose cone constraints are implicit in the
// ReLU (φ(u) = pooled (Au)₊). Polish runs L-BFGS (gonum/optimize, strong-Wolfe line
// search) on it from a given set of atoms. Every iterate is a network, so its
// objective is an upper bound on the optimum; a stationary point is certified (or
// not) by the dual bound at its gradient — the optimality bound (ρ̄/β − 1)₊ of
// Certificate.RelBound.

// PolishStats reports a Polish run.
type PolishStats struct {
	Iterations  int
	Evaluations int
	Start, End  float64 // objective before and after (balanced factors)
	Status      string  // gonum's termination status
}

// Polish improves sol by L-BFGS on the factorised objective (see above), for at most
// set.MaxIters iterations (default 2000), stopping when the objective changes by less
// than 1e-12 relatively over 50 iterations or when set.Context ends. Gated atoms keep
// their gates. Atoms whose factors vanish are dropped.
func Polish(p *convex.VectorProgram, sol *convex.VectorSolution, set Settings) (*convex.VectorSolution, PolishStats) {
	m := len(sol.Atoms)
	H, C := p.H, p.C
	nb := 0
	if p.OutputBias {
		nb = C
	}
	dim := m*(H+C) + nb
	x0 := make([]float64, dim)
	for k, a := range sol.Atoms {
		nu, ng := norm(a.U), norm(a.G)
		s := 1.0
		if nu > 0 && ng > 0 {
			s = math.Sqrt(ng / nu)
		}
		for j := range a.U {
			x0[k*H+j] = s * a.U[j]
		}
		for j := range a.G {
			if s > 0 {
				x0[m*H+k*C+j] = a.G[j] / s
			}
		}
	}
	if nb > 0 && len(sol.Bias) == C {
		copy(x0[m*(H+C):], sol.Bias)
	}
	np, _ := p.A.Dims()
	var gateZ *mat.Dense // Np × m gate pre-activations of gated atoms
	gated := false
	for _, a := range sol.Atoms {
		gated = gated || a.Gate >= 0
	}
	if gated && m > 0 {
		Gm := mat.NewDense(H, m, nil)
		for k, a := range sol.Atoms {
			if a.Gate >= 0 {
				Gm.SetCol(k, mat.Col(nil, a.Gate, p.Gates))
			}
		}
		gateZ = &mat.Dense{}
		gateZ.Mul(p.A, Gm)
	}
	var lastX []float64
	var lastF float64
	var lastG []float64
	evals := 0
	eval := func(x []float64) (float64, []float64) {
		if lastX != nil && equal(x, lastX) {
			return lastF, lastG
		}
		evals++
		grad := make([]float64, dim)
		U := mat.NewDense(H, max(m, 1), nil)
		G := mat.NewDense(max(m, 1), C, nil)
		for k := 0; k < m; k++ {
			for j := 0; j < H; j++ {
				U.Set(j, k, x[k*H+j])
			}
			copy(G.RawRowView(k), x[m*H+k*C:m*H+(k+1)*C])
		}
		var Z mat.Dense
		Z.Mul(p.A, U) // Np × m
		active := func(r, k int, z float64) bool {
			if sol.Atoms[k].Gate >= 0 {
				return gateZ.At(r, k) > 0
			}
			return z > 0
		}
		Phi := mat.NewDense(p.N, max(m, 1), nil)
		for r := 0; r < np; r++ {
			z := Z.RawRowView(r)
			dst := Phi.RawRowView(p.Sample[r])
			w := p.RowWeight[r]
			for k := 0; k < m; k++ {
				if active(r, k, z[k]) {
					dst[k] += w * z[k]
				}
			}
		}
		Yh := mat.NewDense(p.N, C, nil)
		if m > 0 {
			Yh.Mul(Phi, G)
		}
		if nb > 0 {
			b := x[m*(H+C):]
			for i := 0; i < p.N; i++ {
				row := Yh.RawRowView(i)
				for k := range row {
					row[k] += b[k]
				}
			}
		}
		f := convex.VectorLoss(p.Loss, Yh, p.Y)
		for _, v := range x[:m*(H+C)] {
			f += 0.5 * p.Beta * v * v
		}
		V := convex.VectorLossGrad(p.Loss, Yh, p.Y)
		if m > 0 {
			var gG mat.Dense
			gG.Mul(Phi.T(), V) // m × C
			for k := 0; k < m; k++ {
				for j := 0; j < C; j++ {
					grad[m*H+k*C+j] = gG.At(k, j) + p.Beta*x[m*H+k*C+j]
				}
			}
			var S mat.Dense
			S.Mul(V, G.T()) // N × m
			coef := mat.NewDense(np, m, nil)
			for r := 0; r < np; r++ {
				z := Z.RawRowView(r)
				sr := S.RawRowView(p.Sample[r])
				cr := coef.RawRowView(r)
				w := p.RowWeight[r]
				for k := 0; k < m; k++ {
					if active(r, k, z[k]) {
						cr[k] = w * sr[k]
					}
				}
			}
			var gU mat.Dense
			gU.Mul(p.A.T(), coef) // H × m
			for k := 0; k < m; k++ {
				for j := 0; j < H; j++ {
					grad[k*H+j] = gU.At(j, k) + p.Beta*x[k*H+j]
				}
			}
		}
		if nb > 0 {
			for i := 0; i < p.N; i++ {
				for k, v := range V.RawRowView(i) {
					grad[m*(H+C)+k] += v
				}
			}
		}
		lastX = append(lastX[:0], x...)
		lastF, lastG = f, grad
		return f, grad
	}
	stats := PolishStats{}
	stats.Start, _ = eval(x0)
	maxIter := set.MaxIters
	if maxIter <= 0 {
		maxIter = 2000
	}
	start := time.Now()
	prob := optimize.Problem{
		Func: func(x []float64) float64 { f, _ := eval(x); return f },
		Grad: func(g, x []float64) { _, gr := eval(x); copy(g, gr) },
		Status: func() (optimize.Status, error) {
			if solver.Stop(set.Context) != "" {
				return optimize.RuntimeLimit, nil
			}
			return optimize.NotTerminated, nil
		},
	}
	rec := set.rec()
	it := 0
	settings := &optimize.Settings{
		MajorIterations: maxIter,
		Converger:       &optimize.FunctionConverge{Relative: 1e-12, Iterations: 50},
		Recorder: recorderFunc(func(loc *optimize.Location, op optimize.Operation) {
			if op == optimize.MajorIteration {
				it++
				if it%50 == 0 {
					rec.Record(solver.Iterate{Iter: it, Objective: loc.F, Elapsed: time.Since(start), Extra: "Burer–Monteiro (L-BFGS)"})
				}
			}
		}),
	}
	res, err := optimize.Minimize(prob, x0, settings, &optimize.LBFGS{})
	xb := x0
	if res != nil && res.X != nil {
		if f, _ := eval(res.X); f <= stats.Start {
			xb = res.X
		}
		stats.Iterations = res.MajorIterations
		stats.Status = res.Status.String()
	}
	if err != nil {
		stats.Status += " (" + err.Error() + ")"
	}
	stats.End, _ = eval(xb)
	stats.Evaluations = evals
	out := &convex.VectorSolution{}
	if nb > 0 {
		out.Bias = append([]float64(nil), xb[m*(H+C):]...)
	} else {
		out.Bias = make([]float64, C)
	}
	big := 0.0
	for k := 0; k < m; k++ {
		big = math.Max(big, norm(xb[k*H:(k+1)*H])*norm(xb[m*H+k*C:m*H+(k+1)*C]))
	}
	for k := 0; k < m; k++ {
		u := append([]float64(nil), xb[k*H:(k+1)*H]...)
		g := append([]float64(nil), xb[m*H+k*C:m*H+(k+1)*C]...)
		if w := norm(u) * norm(g); w == 0 || w <= ZeroTol*big {
			continue
		}
		out.Atoms = append(out.Atoms, convex.Atom{U: u, G: g, Gate: sol.Atoms[k].Gate})
	}
	return out, stats
}

type recorderFunc func(*optimize.Location, optimize.Operation)

func (f recorderFunc) Init() error { return nil }
func (f recorderFunc) Record(loc *optimize.Location, op optimize.Operation, _ *optimize.Stats) error {
	f(loc, op)
	return nil
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ReLUFromGated turns gated atoms into ReLU atoms with the same prediction on the
// training rows (a cone decomposition, docs/math/10-vector-output.md): for a gated
// atom (u, g) with gate γ of pattern D, K = (2D − I)A satisfies Kγ ≥ 0, so with
// t = max(0, max_r −(K_r u)/(K_r γ)) both v = u + tγ and w = tγ lie in the pattern's
// cone, (Av)₊ − (Aw)₊ = D A u, and the atom becomes the ReLU atoms (v, g) and
// (w, −g) (just (u, g) when t = 0). The cost grows from ‖u‖‖g‖ to (‖v‖ + ‖w‖)‖g‖;
// Polish then lowers it. When 2t‖γ‖ > maxInflation·‖u‖ (a gate near its cone's
// boundary) the atom becomes the single ReLU unit (u, g) instead: not the same
// prediction, but a start Polish can use. ReLU atoms are copied unchanged.
// maxInflation bounds the cost growth ReLUFromGated accepts for one atom.
const maxInflation = 4

func ReLUFromGated(p *convex.VectorProgram, sol *convex.VectorSolution) *convex.VectorSolution {
	out := &convex.VectorSolution{Bias: append([]float64(nil), sol.Bias...)}
	np, _ := p.A.Dims()
	for _, a := range sol.Atoms {
		if a.Gate < 0 {
			out.Atoms = append(out.Atoms, a)
			continue
		}
		gam := mat.Col(nil, a.Gate, p.Gates)
		t := 0.0
		for r := 0; r < np; r++ {
			ar := p.A.RawRowView(r)
			kg := dot(ar, gam)
			if kg == 0 {
				continue
			}
			ku := dot(ar, a.U)
			if kg < 0 {
				kg, ku = -kg, -ku
			}
			if ku < 0 {
				t = math.Max(t, -ku/kg)
			}
		}
		if t == 0 {
			out.Atoms = append(out.Atoms, convex.Atom{U: a.U, G: a.G, Gate: -1})
			continue
		}
		t *= 1 + 1e-12
		if 2*t*norm(gam) > maxInflation*norm(a.U) {
			// the gate sits close to its cone's boundary and the decomposition would
			// inflate the cost more than maxInflation-fold: start the ReLU unit at
			// the gated atom's own filter instead (Polish takes it from there)
			out.Atoms = append(out.Atoms, convex.Atom{U: a.U, G: a.G, Gate: -1})
			continue
		}
		v := make([]float64, len(a.U))
		w := make([]float64, len(a.U))
		for j := range v {
			w[j] = t * gam[j]
			v[j] = a.U[j] + w[j]
		}
		ng := make([]float64, len(a.G))
		for j := range ng {
			ng[j] = -a.G[j]
		}
		out.Atoms = append(out.Atoms, convex.Atom{U: v, G: append([]float64(nil), a.G...), Gate: -1}, convex.Atom{U: w, G: ng, Gate: -1})
	}
	return out
}
