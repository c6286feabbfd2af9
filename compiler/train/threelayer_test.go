package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/syntax"
)

// threeInput is the §9b reference instance A (the reference script's data, n = 6,
// d = 2, β = 0.1, m1 = 2) with the given regulariser and patterns statement.
func threeInput(t *testing.T, reg, patterns string) *derive.Input {
	t.Helper()
	b, err := os.ReadFile("../derive/testdata/threelayer_spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var sp map[string]struct {
		X    [][]float64
		Y    []float64
		Beta float64
	}
	if err := json.Unmarshal(b, &sp); err != nil {
		t.Fatal(err)
	}
	a := sp["A"]
	src := fmt.Sprintf("model three {\n    input 2\n    linear 2 branches=auto\n    relu\n    linear 1 branches=auto\n    relu\n    linear 1\n}\ntrain {\n    regularizer %s\n    beta %g\n    patterns %s\n}\n", reg, a.Beta, patterns)
	f, ds := syntax.Parse("a.cnn", []byte(src))
	out, cd := check.Check(f, check.Options{SkipFiles: true})
	if ds.HasErrors() || cd.HasErrors() {
		t.Fatalf("%v %v", ds, cd)
	}
	n := len(a.Y)
	X := mat.NewDense(n, 2, nil)
	for i, r := range a.X {
		X.SetRow(i, r)
	}
	return &derive.Input{File: out, Model: out.Trained, Train: out.Train,
		Data: &dataset.Dataset{Name: "train", Shape: out.Trained.Input(), X: X, Y: mat.NewDense(n, 1, a.Y)}}
}

// TestThreeLayerAdaptive: the adaptive mode on instance A (path regulariser) starts
// from a few random branches, adds the pattern pairs the certificate finds violating
// (searched over the exact pair set, which is small here), and ends at the exact
// optimum 0.53361107 with the recovered network's objective equal to it and a
// certified lower bound within 1e-6 relative; sampled pairs give an upper bound.
func TestThreeLayerAdaptive(t *testing.T) {
	const want = 0.53361107
	exact, err := Run(threeInput(t, "path", "exact"), Options{Settings: SolverSettings{Tol: 1e-8}})
	if err != nil {
		t.Fatal(err)
	}
	samp, err := Run(threeInput(t, "path", "sample 20 seed=1"), Options{Settings: SolverSettings{Tol: 1e-8}})
	if err != nil {
		t.Fatal(err)
	}
	ad, err := Run(threeInput(t, "path", "adaptive start=20 seed=1"), Options{Settings: SolverSettings{Tol: 1e-8}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*Outcome{exact, samp, ad} {
		if o.Status != solver.Optimal {
			t.Fatalf("status %s", o.Status)
		}
		if math.Abs(o.NonconvexObjective-o.ConvexObjective) > 1e-7*o.ConvexObjective {
			t.Fatalf("recovered %.10g, convex %.10g", o.NonconvexObjective, o.ConvexObjective)
		}
	}
	t.Logf("exact: %.8f (%d pairs); sampled 20 branches: %.8f (%d pairs); adaptive: %.8f (%d pairs, %d rounds, %d added, stopped: %s), bound %.8f [%s]",
		exact.ConvexObjective, exact.Sizes.Patterns, samp.ConvexObjective, samp.Sizes.Patterns,
		ad.ConvexObjective, ad.Sizes.Patterns, ad.Adaptive.Rounds, ad.Adaptive.Added, ad.Adaptive.Stopped, ad.DualObjective, ad.DualSource)
	if math.Abs(exact.ConvexObjective-want) > 1e-6*want || math.Abs(ad.ConvexObjective-want) > 1e-6*want {
		t.Fatalf("exact %.10g, adaptive %.10g, want %.8f", exact.ConvexObjective, ad.ConvexObjective, want)
	}
	if samp.ConvexObjective < want*(1-1e-7) {
		t.Fatalf("sampled %.10g below the exact optimum", samp.ConvexObjective)
	}
	if !ad.Adaptive.Exhaustive || ad.DualObjective > ad.ConvexObjective || ad.DualObjective < want*(1-1e-6) {
		t.Fatalf("adaptive bound %.10g (%s, exhaustive %v)", ad.DualObjective, ad.DualSource, ad.Adaptive.Exhaustive)
	}
	if ad.Sizes.Patterns >= exact.Sizes.Patterns {
		t.Errorf("adaptive used %d pairs, the full set has %d", ad.Sizes.Patterns, exact.Sizes.Patterns)
	}
}

// accuracy is the fraction of samples whose prediction has the sign of the target.
func accuracy(t *testing.T, in *derive.Input, o *Outcome) float64 {
	t.Helper()
	yhat, err := network.Forward(in.Model, o.Weights, in.Data.X)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := yhat.Dims()
	ok := 0
	for i := 0; i < n; i++ {
		if (yhat.At(i, 0) > 0) == (in.Data.Y.At(i, 0) > 0) {
			ok++
		}
	}
	return float64(ok) / float64(n)
}

// TestSpiralThreeVersusTwo: examples/spiral_three.cnn and spiral_two.cnn (40 spiral
// points, β = 0.1). The two-layer network's global optimum misclassifies some points;
// the three-layer path-regularised network restricted to 2000 random branches — an
// upper bound on its own optimum — fits every point at a lower objective. CNNC_LONG=1
// (about half a minute).
func TestSpiralThreeVersusTwo(t *testing.T) {
	if os.Getenv("CNNC_LONG") == "" {
		t.Skip("CNNC_LONG=1: solves the spiral examples")
	}
	in2 := loadExample(t, "spiral_two.cnn")
	in3 := loadExample(t, "spiral_three.cnn")
	two, err := Run(in2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	three, err := Run(in3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a2, a3 := accuracy(t, in2, two), accuracy(t, in3, three)
	t.Logf("two-layer (exact patterns): objective %.6f, accuracy %.3f, %.1f s; three-layer path (%d sampled pairs): objective %.6f, accuracy %.3f, %.1f s",
		two.ConvexObjective, a2, two.Seconds, three.Sizes.Patterns, three.ConvexObjective, a3, three.Seconds)
	if two.Status != solver.Optimal || three.Status != solver.Optimal {
		t.Fatalf("statuses %s, %s", two.Status, three.Status)
	}
	if !(a2 < 1) || a3 != 1 || !(three.ConvexObjective < two.ConvexObjective) {
		t.Fatalf("two-layer accuracy %.3f objective %.6f; three-layer accuracy %.3f objective %.6f", a2, two.ConvexObjective, a3, three.ConvexObjective)
	}
}
