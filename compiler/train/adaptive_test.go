package train

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// TestAdaptiveInvariants runs the adaptive loop with the heuristic search (no
// enumeration, so the per-round local searches run too) on a small FC problem and
// checks what must hold whatever the search finds:
//   - the restricted optimum never increases from one round to the next (the old
//     point stays feasible after patterns are added);
//   - after a round whose local search ended at objective f_LS and whose patterns
//     were all added, the re-solved optimum is at most f_LS (that network is a
//     feasible point of the grown program, seed.go);
//   - every round's ρ is at least the restricted certificate at its solution
//     recomputed independently (certify.Certify over the program's own patterns at
//     that round's size), and the final ρ is that of the final prediction;
//   - the adaptive optimum is never below the exact-pattern optimum (a restriction),
//     and the exact program's certificate at the adaptive prediction bounds it from
//     below (weak duality);
//   - the recovered network's objective equals the convex optimum;
//   - a second run gives the same result bit for bit.
func TestAdaptiveInvariants(t *testing.T) {
	ds := data(40, 2, 11)
	m := model(2, ir.ReLU, true, false, ir.Auto)
	const beta = 1e-2
	ad := func() *Outcome {
		out, err := Run(input(m, ds, beta, ir.Patterns{Mode: ir.Adaptive, N: 4, Max: 400, Seed: 3}), Options{ExhaustiveLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := ad()
	a := out.Adaptive
	t.Logf("adaptive %.10f (%s): %d rounds, %d added (%d by local search, %d seeded), ρ %.6f; stopped: %s",
		out.ConvexObjective, out.Status, a.Rounds, a.Added, a.Local, a.Seeded, a.Ratio, a.Stopped)
	if a.Rounds == 0 || a.Local == 0 || len(a.Log) != a.Rounds+1 && a.Stopped[:7] != "stopped" {
		t.Fatalf("the loop did not run as expected: %+v", a)
	}
	for i, r := range a.Log {
		t.Logf("round %d: P %d, objective %.10f, ρ %.6f, found %d, added %d (local %d → %.10f), %s", i, r.Patterns, r.Objective, r.Ratio, r.Found, r.Added, r.Local, r.LocalObjective, r.Status)
		if i == 0 {
			continue
		}
		prev := a.Log[i-1]
		if r.Objective > prev.Objective*(1+1e-7) {
			t.Errorf("round %d: objective %.10f above the previous round's %.10f", i, r.Objective, prev.Objective)
		}
		if !math.IsNaN(prev.LocalObjective) && r.Objective > prev.LocalObjective*(1+1e-7) {
			t.Errorf("round %d: objective %.10f above the previous round's local search %.10f", i, r.Objective, prev.LocalObjective)
		}
	}
	// the last round searched the final solution (Run's pruning keeps the prediction)
	yhat := out.Program.Predict(out.Solution)
	c, err := certify.Certify(out.Program, yhat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ratio > a.Ratio*(1+1e-9) {
		t.Errorf("final ρ %.10f below the restricted certificate %.10f", a.Ratio, c.Ratio)
	}
	if last := a.Log[len(a.Log)-1]; last.Ratio != a.Ratio || math.Abs(last.Objective-out.ConvexObjective) > 1e-9*out.ConvexObjective {
		t.Errorf("the last log entry (ρ %.10f, objective %.10f) is not the final state (ρ %.10f, objective %.10f)", last.Ratio, last.Objective, a.Ratio, out.ConvexObjective)
	}
	if rel := math.Abs(out.NonconvexObjective-out.ConvexObjective) / out.ConvexObjective; rel > 1e-6 {
		t.Errorf("recovered network %.10f vs convex %.10f", out.NonconvexObjective, out.ConvexObjective)
	}
	// the exact program (rank 3: the arrangement is enumerated)
	exIn := input(m, ds, beta, ir.Patterns{Mode: ir.Exact, Max: 100000})
	ex, err := Run(exIn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, exProg, dl := derive.Derive(exIn)
	if dl.HasErrors() {
		t.Fatal(dl)
	}
	ce, err := certify.Certify(out.Program, yhat, exProg.Families)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exact %.10f (%d patterns); certificate of the adaptive point over the arrangement: ρ %.6f, bound %.10f", ex.ConvexObjective, ex.Sizes.Patterns, ce.Ratio, ce.LowerBound)
	if out.ConvexObjective < ex.ConvexObjective*(1-1e-6) {
		t.Errorf("adaptive %.10f below the exact optimum %.10f", out.ConvexObjective, ex.ConvexObjective)
	}
	if ce.LowerBound > ex.ConvexObjective*(1+1e-6) {
		t.Errorf("certified bound %.10f above the exact optimum %.10f", ce.LowerBound, ex.ConvexObjective)
	}
	// determinism
	again := ad()
	if again.ConvexObjective != out.ConvexObjective || again.Sizes.Patterns != out.Sizes.Patterns || again.Adaptive.Ratio != a.Ratio {
		t.Errorf("second run differs: %.17g (%d patterns, ρ %.17g) vs %.17g (%d, %.17g)",
			again.ConvexObjective, again.Sizes.Patterns, again.Adaptive.Ratio, out.ConvexObjective, out.Sizes.Patterns, a.Ratio)
	}
}

// TestLocalSearchGradient: the local search's objective (two products per evaluation)
// against an independent scalar evaluation of the non-convex network (the
// acceptance test's ncObjective, with and without an output bias), and its gradient
// against central differences.
func TestLocalSearchGradient(t *testing.T) {
	for _, ob := range []bool{false, true} {
		ds := data(30, 3, 5)
		_, p, dl := derive.Derive(input(model(3, ir.ReLU, true, ob, ir.Auto), ds, 0.05, ir.Patterns{Mode: ir.Sample, N: 5, Seed: 1}))
		if dl.HasErrors() {
			t.Fatal(dl)
		}
		f := p.Families[0]
		const m = 7
		h := f.H
		obj := lsObjective(p, f, m)
		rng := rand.New(rand.NewSource(4))
		size := m*h + m
		if ob {
			size++
		}
		th := make([]float64, size)
		for k := range th {
			th[k] = rng.NormFloat64()
		}
		// ncObjective's layout: [U (m×d) | c (m) | a (m) | b0], the hidden bias c being
		// the last column of the family's rows
		d := h - 1
		ref := make([]float64, m*d+2*m+1)
		for j := 0; j < m; j++ {
			copy(ref[j*d:(j+1)*d], th[j*h:j*h+d])
			ref[m*d+j] = th[j*h+d]
			ref[m*d+m+j] = th[m*h+j]
		}
		if ob {
			ref[m*d+2*m] = th[m*h+m]
		}
		X := ds.X
		y := make([]float64, ds.N())
		for i := range y {
			y[i] = ds.Y.At(i, 0)
		}
		want := ncObjective(X, y, m, 0.05, true, ob)(ref, nil)
		grad := make([]float64, size)
		got := obj(th, grad)
		if math.Abs(got-want) > 1e-12*math.Max(1, want) {
			t.Fatalf("output bias %v: objective %.15g, independent %.15g", ob, got, want)
		}
		for k := range th {
			e := 1e-6
			th[k] += e
			fp := obj(th, nil)
			th[k] -= 2 * e
			fm := obj(th, nil)
			th[k] += e
			if fd := (fp - fm) / (2 * e); math.Abs(fd-grad[k]) > 1e-5*math.Max(1, math.Abs(fd)) {
				t.Fatalf("output bias %v: ∂/∂θ[%d] = %.10g, central difference %.10g", ob, k, grad[k], fd)
			}
		}
	}
}
