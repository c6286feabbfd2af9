package train

import (
	"encoding/json"
	"math"
	"os/exec"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"

	"gonum.org/v1/gonum/mat"
)

// TestSpecInstanceNative: formulations.md §2's relu_fc.py instance (data from numpy's
// default_rng(1)) through the native conic solver: the certified bracket contains the
// spec's optimum 0.07049885.
func TestSpecInstanceNative(t *testing.T) {
	script := `
import json, numpy as np
rng = np.random.default_rng(1)
n, d0 = 12, 2
X = np.hstack([rng.standard_normal((n, d0)), np.ones((n, 1))])
y = np.sign(np.linalg.norm(X[:, :d0], axis=1) - 1.0) + 0.1 * rng.standard_normal(n)
print(json.dumps({"X": X[:, :d0].tolist(), "y": y.tolist()}))
`
	out, err := exec.Command("/usr/bin/python3", "-c", script).Output()
	if err != nil {
		t.Skipf("python3-numpy not usable (apt-get install -y python3-numpy): %v", err)
	}
	var d struct {
		X [][]float64
		Y []float64 `json:"y"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	X := mat.NewDense(12, 2, nil)
	Y := mat.NewDense(12, 1, d.Y)
	for i, r := range d.X {
		X.SetRow(i, r)
	}
	ds := &dataset.Dataset{Name: "train", Shape: []int{2}, X: X, Y: Y}
	// the spec folds the bias in as a ones column: hidden bias=true
	in := input(model(2, ir.ReLU, true, false, ir.Auto), ds, 0.01, ir.Patterns{Mode: ir.Exact, Max: 100000})
	o, err := Run(in, Options{Solver: "conic"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status %s, %d iterations, objective %.10f, dual %.10f (%s), nonconvex %.10f, %d neurons",
		o.Status, o.Iterations, o.ConvexObjective, o.DualObjective, o.DualSource, o.NonconvexObjective, o.ActiveNeurons)
	// The native conic solver (first-order, tolerance 1e-6) does not reach 8 digits;
	// what must hold is the bracket: certified lower bound ≤ p* ≤ convex objective, and
	// every network's objective (the recovered one) is ≥ p*, with a small gap.
	const pstar = 0.07049885
	if !(o.DualObjective <= pstar+1e-8 && pstar <= o.ConvexObjective+1e-8 && pstar <= o.NonconvexObjective+1e-8) {
		t.Errorf("bracket violated: bound %.10f, p* %.8f, convex %.10f, recovered %.10f", o.DualObjective, pstar, o.ConvexObjective, o.NonconvexObjective)
	}
	if o.ConvexObjective-o.DualObjective > 1e-3*pstar {
		t.Errorf("gap %.3g too large", o.ConvexObjective-o.DualObjective)
	}
}

// TestAdaptiveReachesExact: adaptive mode from 3 sampled patterns on a rank-2 problem
// (exhaustive search) reaches the exact-pattern optimum and certifies it.
func TestAdaptiveReachesExact(t *testing.T) {
	ds := data(14, 1, 77)
	m := model(1, ir.ReLU, true, true, ir.Auto)
	ex, err := Run(input(m, ds, 0.02, ir.Patterns{Mode: ir.Exact, Max: 1000}), Options{Settings: SolverSettings{Tol: 1e-8}})
	if err != nil {
		t.Fatal(err)
	}
	ad, err := Run(input(m, ds, 0.02, ir.Patterns{Mode: ir.Adaptive, N: 3, Max: 1000, Seed: 1}), Options{Solver: "conic", Conic: cvxoptSolver(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exact %.10f (%d patterns); adaptive %.10f (%d patterns, %d rounds, %d added, bound %.10f, %s)",
		ex.ConvexObjective, ex.Sizes.Patterns, ad.ConvexObjective, ad.Sizes.Patterns, ad.Adaptive.Rounds, ad.Adaptive.Added, ad.DualObjective, ad.DualSource)
	if math.Abs(ad.ConvexObjective-ex.ConvexObjective) > 1e-6*ex.ConvexObjective {
		t.Errorf("adaptive %.10f, exact %.10f", ad.ConvexObjective, ex.ConvexObjective)
	}
	if !ad.Adaptive.Exhaustive || ad.Cert == nil || ad.Cert.Scope != "global" || ad.Cert.Source != "search" {
		t.Errorf("adaptive search not certified: %+v, %s", ad.Adaptive, ad.DualSource)
	}
	if ad.DualObjective > ex.ConvexObjective*(1+1e-6) || ex.ConvexObjective-ad.DualObjective > 1e-4*ex.ConvexObjective {
		t.Errorf("adaptive bound %.10f vs optimum %.10f", ad.DualObjective, ex.ConvexObjective)
	}
}

// TestDiagnostics: bad input gives F-diagnostics, never a panic.
func TestDiagnostics(t *testing.T) {
	ds := data(10, 2, 1)
	cases := []struct {
		name string
		in   *derive.Input
		code string
	}{
		{"beta", input(model(2, ir.ReLU, true, false, ir.Auto), ds, 0, ir.Patterns{Mode: ir.Exact}), derive.CodeBeta},
		{"empty", input(model(2, ir.ReLU, true, false, ir.Auto), &dataset.Dataset{}, 0.1, ir.Patterns{Mode: ir.Exact}), derive.CodeEmptyData},
		{"shape", input(model(3, ir.ReLU, true, false, ir.Auto), ds, 0.1, ir.Patterns{Mode: ir.Exact}), derive.CodeShape},
		{"exact too large", input(model(2, ir.ReLU, true, false, ir.Auto), data(60, 2, 2), 0.1, ir.Patterns{Mode: ir.Exact, Max: 100}), derive.CodePatterns},
		{"width", input(model(2, ir.ReLU, true, false, 1), ds, 1e-3, ir.Patterns{Mode: ir.Exact}), derive.CodeWidth},
	}
	for _, c := range cases {
		o, err := Run(c.in, Options{})
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		found := false
		for _, d := range o.Diagnostics {
			found = found || d.Code == c.code
		}
		if !found {
			t.Errorf("%s: want %s, got %v", c.name, c.code, err)
		}
	}
	// classification labels all equal
	one := data(6, 2, 3)
	for i := 0; i < 6; i++ {
		one.Y.Set(i, 0, 1)
	}
	one.Classification = true
	if o, err := Run(input(model(2, ir.ReLU, true, false, ir.Auto), one, 0.1, ir.Patterns{Mode: ir.Exact}), Options{}); err == nil || o.Diagnostics[0].Code != derive.CodeLabels {
		t.Errorf("all-equal labels: %v", err)
	}
	// no rule: maxpool instead of relu → nearest rule named, differing layer 2
	m := model(2, ir.MaxPool, true, false, ir.Auto)
	_, _, dl := derive.Derive(&derive.Input{Model: m, Data: ds})
	if len(dl) != 1 || dl[0].Code != derive.CodeNoEquivalent {
		t.Fatalf("no-equivalent diagnostic: %v", dl)
	}
	t.Log(dl[0].Detail)
}
