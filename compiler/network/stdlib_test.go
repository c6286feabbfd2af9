package network_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/network/nettest"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/stdlib"
)

// TestStdlibModels runs every standard-library architecture, as lang/check produces
// it, through New → Finalize → CheckModel → Write/Read, and compares Forward and
// Objective with PyTorch.
func TestStdlibModels(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	var cases []nettest.Case
	var names []string
	for _, e := range stdlib.List() {
		f, diags := syntax.Parse(e.File, e.Source)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", e.Name, diags)
		}
		file, diags := check.Check(f, check.Options{})
		if diags.HasErrors() {
			t.Fatalf("%s: %v", e.Name, diags)
		}
		for _, m := range file.Models {
			w := network.New(m, 0.01, ir.Squared)
			fill(t, m, w, rng, nil)
			if err := w.Finalize(); err != nil {
				t.Errorf("%s: Finalize: %v", e.Name, err)
				continue
			}
			if err := w.CheckModel(m); err != nil {
				t.Errorf("%s: CheckModel: %v", e.Name, err)
				continue
			}
			n := 5
			X := randDense(rng, n, m.Input().Size())
			Y := randDense(rng, n, w.Layers[len(w.Layers)-1].Out)
			cases = append(cases, nettest.Case{Model: m, Weights: w, X: X, Y: Y})
			names = append(names, e.Name+"/"+m.Name)
		}
	}
	if len(cases) < 10 {
		t.Fatalf("only %d stdlib models", len(cases))
	}
	res, ok := nettest.TorchEvalAll(t, cases)
	if !ok {
		return
	}
	for i, c := range cases {
		got, err := network.Forward(c.Model, c.Weights, c.X)
		if err != nil {
			t.Errorf("%s: %v", names[i], err)
			continue
		}
		r, k := got.Dims()
		for a := 0; a < r; a++ {
			for b := 0; b < k; b++ {
				if g, w := got.At(a, b), res[i].Pred.At(a, b); !near(g, w, 1e-12) {
					t.Errorf("%s: sample %d: Forward %.17g, torch %.17g", names[i], a, g, w)
				}
			}
		}
		obj, _, _, err := network.Objective(c.Model, c.Weights, c.X, c.Y)
		if err != nil || !near(obj, res[i].Objective, 1e-12) || math.IsNaN(obj) {
			t.Errorf("%s: objective %.17g (%v), torch %.17g", names[i], obj, err, res[i].Objective)
		}
	}
}
