package train

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// gatedObjective is the non-convex objective of the gated network (§3.1,
// docs/math/03-gated.md) with fixed gates G (m×d) and gate biases g0 (m), written
// out directly: θ = [U (m×d) | c (m) | a (m) | b0],
// f = ½Σᵢ(Σⱼ aⱼ·1[xᵢ·gⱼ + g0ⱼ > 0]·(xᵢ·uⱼ + cⱼ) + b0 − yᵢ)² + (β/2)(‖U‖² + ‖c‖² + ‖a‖²)
// (b0 unpenalised; c and g0 only with a hidden bias, b0 only with an output bias).
func gatedObjective(X *mat.Dense, y []float64, G, g0 []float64, m int, beta float64, hb, ob bool) func(th, grad []float64) float64 {
	n, d := X.Dims()
	return func(th, grad []float64) float64 {
		U, c, a := th[:m*d], th[m*d:m*d+m], th[m*d+m:m*d+2*m]
		b0 := 0.0
		if ob {
			b0 = th[m*d+2*m]
		}
		for k := range grad {
			grad[k] = 0
		}
		f := 0.0
		z := make([]float64, m)
		on := make([]bool, m)
		for i := 0; i < n; i++ {
			x := X.RawRowView(i)
			pred := b0
			for j := 0; j < m; j++ {
				s, g := 0.0, 0.0
				if hb {
					s, g = c[j], g0[j]
				}
				for k := 0; k < d; k++ {
					s += U[j*d+k] * x[k]
					g += G[j*d+k] * x[k]
				}
				z[j], on[j] = s, g > 0
				if on[j] {
					pred += a[j] * s
				}
			}
			r := pred - y[i]
			f += 0.5 * r * r
			if grad == nil {
				continue
			}
			for j := 0; j < m; j++ {
				if !on[j] {
					continue
				}
				grad[m*d+m+j] += r * z[j]
				for k := 0; k < d; k++ {
					grad[j*d+k] += r * a[j] * x[k]
				}
				if hb {
					grad[m*d+j] += r * a[j]
				}
			}
			if ob {
				grad[m*d+2*m] += r
			}
		}
		for k := 0; k < m*d+2*m; k++ {
			if !hb && k >= m*d && k < m*d+m {
				continue
			}
			f += 0.5 * beta * th[k] * th[k]
			if grad != nil {
				grad[k] += beta * th[k]
			}
		}
		return f
	}
}

// gatedWeights reads the recovered gated network's tensors into gatedObjective's θ
// and gates.
func gatedWeights(t *testing.T, w *network.Weights, d int) (th, G, g0 []float64, m int) {
	t.Helper()
	get := func(name string) []float64 {
		for _, ts := range w.Tensors {
			if ts.Name == name {
				return ts.Data
			}
		}
		return nil
	}
	U, c, a, b0 := get("L1.weight"), get("L1.bias"), get("L3.weight"), get("L3.bias")
	G, g0 = get("L2.gates"), get("L2.gate_bias")
	m = len(a)
	if len(U) != m*d || len(G) != m*d {
		t.Fatalf("recovered tensors: L1.weight %d, L2.gates %d entries, want %d", len(U), len(G), m*d)
	}
	th = make([]float64, m*d+2*m+1)
	copy(th, U)
	copy(th[m*d:], c)
	copy(th[m*d+m:], a)
	if len(b0) == 1 {
		th[m*d+2*m] = b0[0]
	}
	return th, G, g0, m
}

// TestGatedStrongDuality: for the gated rule (§3, fc-gated) with exact patterns,
// solved by the native structured solver,
//
//   - the recovered network's objective, evaluated from weights.json's tensors (gates
//     included) by the formula above, independently of compiler/network and of the
//     program, equals the convex optimum to 1e-6 relative (and so does
//     compiler/network's);
//   - the gated optimum is at most the ReLU optimum on the same data (fc-relu, exact
//     patterns): a ReLU neuron is a gated unit whose gate is its own weight vector;
//   - L-BFGS on gated networks with random fixed Gaussian gates (the usual way a gated
//     network is built) never ends below it: with every pattern available the program
//     optimises over the gates as well.
func TestGatedStrongDuality(t *testing.T) {
	const tol = 1e-6
	problems := 4
	if long() {
		problems = 10
	}
	for k := 0; k < problems; k++ {
		seed := int64(2000 + k)
		n, d := 8+k%4, 1+k%2
		hb, ob := true, k%2 == 0
		beta := []float64{0.01, 0.05}[k%2]
		ds := data(n, d, seed)
		y := mat.Col(nil, 0, ds.Y)
		pat := ir.Patterns{Mode: ir.Exact, Max: 100000}
		g, err := Run(input(model(d, ir.Gated, hb, ob, ir.Auto), ds, beta, pat), Options{})
		if err != nil {
			t.Fatalf("seed %d: gated: %v", seed, err)
		}
		r, err := Run(input(model(d, ir.ReLU, hb, ob, ir.Auto), ds, beta, pat), Options{})
		if err != nil {
			t.Fatalf("seed %d: relu: %v", seed, err)
		}
		if g.Status != solver.Optimal || r.Status != solver.Optimal {
			t.Fatalf("seed %d: status gated %s, relu %s", seed, g.Status, r.Status)
		}
		p := g.ConvexObjective
		scale := math.Max(1, p)
		th, G, g0, m := gatedWeights(t, g.Weights, d)
		direct := gatedObjective(ds.X, y, G, g0, m, beta, hb, ob)(th, nil)
		if math.Abs(direct-p) > tol*scale || math.Abs(g.NonconvexObjective-p) > tol*scale {
			t.Errorf("seed %d: convex optimum %.10g, recovered gated network: direct formula %.10g, network.Objective %.10g", seed, p, direct, g.NonconvexObjective)
		}
		if p > r.ConvexObjective+tol*math.Max(1, r.ConvexObjective) {
			t.Errorf("seed %d: gated optimum %.10g above the ReLU optimum %.10g", seed, p, r.ConvexObjective)
		}
		rng := rand.New(rand.NewSource(seed))
		best := math.Inf(1)
		for s := 0; s < 10; s++ {
			width := (1 + s%3) * max(m, 2)
			G := make([]float64, width*d)
			g0 := make([]float64, width)
			for i := range G {
				G[i] = rng.NormFloat64()
			}
			for i := range g0 {
				g0[i] = rng.NormFloat64()
			}
			f := gatedObjective(ds.X, y, G, g0, width, beta, hb, ob)
			x0 := make([]float64, width*d+2*width+1)
			for i := range x0 {
				x0[i] = 0.5 * rng.NormFloat64()
			}
			res, _ := optimize.Minimize(optimize.Problem{
				Func: func(x []float64) float64 { return f(x, nil) },
				Grad: func(gr, x []float64) { f(x, gr) },
			}, x0, &optimize.Settings{GradientThreshold: 1e-10, MajorIterations: 3000}, &optimize.LBFGS{})
			if res != nil {
				best = math.Min(best, f(res.X, nil))
			}
		}
		if best < p-tol*scale {
			t.Errorf("seed %d: a gated network with random gates reached %.10g, below the exact gated optimum %.10g", seed, best, p)
		}
		t.Logf("seed %d (n %d, d %d, β %g): gated %.8f (%d units) ≤ ReLU %.8f; best of 10 random-gate L-BFGS runs %.8f", seed, n, d, beta, p, m, r.ConvexObjective, best)
	}
}
