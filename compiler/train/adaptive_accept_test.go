package train

import (
	"math"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// TestAdaptiveBeatsLocalSearch is the adaptive-patterns acceptance experiment of the
// two-layer issue: n = 200 Gaussian samples in d = 10 (hidden bias on), random ±1
// labels, β = 1e-3. With 100 sampled patterns the convex program is a restriction far
// above what SGD-type training reaches (formulations.md Part A measured 0.1430 against
// L-BFGS's 0.0330); `patterns adaptive` adds the patterns that violate the dual
// certificate until none is found, and must end below the best of 5 L-BFGS runs of the
// non-convex network with 100 neurons, with at most 1000 patterns. Both numbers, the
// final certificate (ρ, bound), the time split and every round are logged for the
// record (wall and CPU time: on the shared machine the wall time depends on the load).
func TestAdaptiveBeatsLocalSearch(t *testing.T) {
	if os.Getenv("CNNC_LONG") == "" {
		t.Skip("the adaptive acceptance experiment takes minutes: run with CNNC_LONG=1 go test -run TestAdaptiveBeatsLocalSearch -timeout 30m ./compiler/train")
	}
	const n, d, beta = 200, 10, 1e-3
	rng := rand.New(rand.NewSource(2026))
	X := mat.NewDense(n, d, nil)
	Y := mat.NewDense(n, 1, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			X.Set(i, j, rng.NormFloat64())
		}
		y[i] = 1
		if rng.Float64() < 0.5 {
			y[i] = -1
		}
		Y.Set(i, 0, y[i])
	}
	ds := &dataset.Dataset{Name: "train", Shape: []int{d}, X: X, Y: Y, Classification: true}

	// Non-convex baseline: 5 L-BFGS runs, 100 neurons, hidden bias, no output bias.
	const width = 100
	f := ncObjective(X, y, width, beta, true, false)
	best := math.Inf(1)
	start := time.Now()
	for s := 0; s < 5; s++ {
		th := make([]float64, width*d+2*width+1)
		for i := range th {
			th[i] = rng.NormFloat64() / math.Sqrt(d)
		}
		res, _ := optimize.Minimize(optimize.Problem{
			Func: func(x []float64) float64 { return f(x, nil) },
			Grad: func(g, x []float64) { f(x, g) },
		}, th, &optimize.Settings{GradientThreshold: 1e-9, MajorIterations: 5000}, &optimize.LBFGS{})
		if res != nil {
			best = math.Min(best, f(res.X, nil))
		}
	}
	lbfgs := time.Since(start)

	sampled, err := Run(input(model(d, ir.ReLU, true, false, ir.Auto), ds, beta, ir.Patterns{Mode: ir.Sample, N: 100, Seed: 1}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	cpu0 := cpuSeconds()
	start = time.Now()
	out, err := Run(input(model(d, ir.ReLU, true, false, ir.Auto), ds, beta, ir.Patterns{Mode: ir.Adaptive, N: 100, Max: 1000, Seed: 1}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	adaptiveTime := time.Since(start)
	cpu := cpuSeconds() - cpu0
	a := out.Adaptive
	t.Logf("100 sampled patterns: %.6f (%s); best of 5 L-BFGS (100 neurons): %.6f in %.1fs", sampled.ConvexObjective, sampled.Status, best, lbfgs.Seconds())
	t.Logf("adaptive: %.6f (%s) in %.1fs wall, %.1fs CPU (load average before: %s), %d patterns: %d seeded by a local search, %d rounds, +%d (%d from the rounds' local searches), %d neurons",
		out.ConvexObjective, out.Status, adaptiveTime.Seconds(), cpu, strings.TrimSpace(string(load)), out.Sizes.Patterns, a.Seeded, a.Rounds, a.Added, a.Local, out.ActiveNeurons)
	t.Logf("final certificate: ρ %.6f over the program's patterns and the %d patterns the last search evaluated (exhaustive: %v; %d gate evaluations in all); bound %.6f [%s]; restricted certificate ρ %.8f",
		a.Ratio, a.Log[len(a.Log)-1].Evaluations, a.Exhaustive, a.Gates, out.DualObjective, out.DualSource, out.Certificate.Ratio)
	t.Logf("time split: seed %.1fs, search %.1fs, certificate %.1fs, local search %.1fs, prune %.1fs, solve %.1fs; stopped: %s",
		a.SeedSec, a.SearchSec, a.CertifySec, a.LocalSec, a.PruneSec, a.SolveSec, a.Stopped)
	below := -1.0
	for i, r := range a.Log {
		t.Logf("round %d at %.1fs: %d patterns, objective %.6f, ρ %.4f, found %d, added %d (local search %d, ended at %.6f), search %.2fs, solve %.2fs %s",
			i, r.Elapsed, r.Patterns, r.Objective, r.Ratio, r.Found, r.Added, r.Local, r.LocalObjective, r.SearchSec, r.SolveSec, r.Status)
		if below < 0 && r.Objective < best {
			below = r.Elapsed
		}
	}
	t.Logf("below the best L-BFGS run after %.1fs of wall time", below)
	if rel := math.Abs(out.NonconvexObjective-out.ConvexObjective) / out.ConvexObjective; rel > 1e-6 {
		t.Errorf("recovered network %.10g vs convex %.10g", out.NonconvexObjective, out.ConvexObjective)
	}
	if !(out.ConvexObjective < best) {
		t.Errorf("adaptive optimum %.8f is not below the best L-BFGS run %.8f", out.ConvexObjective, best)
	}
}
