package derive

import (
	"math"
	"os"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/network/nettest"
)

// TestThreeLayerRecoveredInTorch: the networks recovered from the three-layer
// programs of the strong-duality suite (seed 0 of every row: §8, §9b path and group,
// the pooled CNN) and of the reference instance A are rebuilt in PyTorch from
// weights.json alone (a Sequential of Conv1d with padding_mode='circular' or Linear,
// ReLU, a Linear that is zero outside its diagonal blocks, ReLU, Linear; the path or
// group regulariser computed by the script from the tensors): predictions match
// cnnc's forward pass to 1e-9 and loss + regulariser match the convex optimum to
// 1e-6 relative. The group and CNN rows run with CNNC_LONG=1.
func TestThreeLayerRecoveredInTorch(t *testing.T) {
	var cases []nettest.Case
	var names []string
	var optima []float64
	add := func(name string, in *Input) {
		rule, prog, ds := Derive(in)
		if ds.HasErrors() {
			t.Fatalf("%s: %v", name, ds)
		}
		sol, p := solveThree(t, prog)
		_, w := recoveredObjective(t, rule, in, prog, prog.Prune(sol))
		cases = append(cases, nettest.Case{Model: in.Model, Weights: w, X: in.Data.X, Y: in.Data.Y})
		names = append(names, name)
		optima = append(optima, p)
	}
	archs := []string{"circ", "path"}
	if os.Getenv("CNNC_LONG") != "" {
		archs = append(archs, "group", "cnn")
	}
	for _, arch := range archs {
		add(arch, threeCase{arch, 0}.input(t))
	}
	sp := loadThreeSpec(t)["A"]
	add("A", threeInput(t, threeSrc(false, false, "path", sp.Beta), dense(sp.X, 1), sp.Y))
	res, ok := nettest.TorchEvalAll(t, cases)
	if !ok {
		return
	}
	for k, c := range cases {
		mine, err := network.Forward(c.Model, c.Weights, c.X)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := mine.Dims()
		for i := 0; i < n; i++ {
			if d := math.Abs(mine.At(i, 0) - res[k].Pred.At(i, 0)); d > 1e-9 {
				t.Errorf("%s: sample %d: cnnc %.15g, torch %.15g", names[k], i, mine.At(i, 0), res[k].Pred.At(i, 0))
			}
		}
		if math.Abs(res[k].Objective-optima[k]) > 1e-6*optima[k] {
			t.Errorf("%s: torch objective %.12g, convex optimum %.12g", names[k], res[k].Objective, optima[k])
		}
		t.Logf("%s: torch objective %.10f, convex optimum %.10f", names[k], res[k].Objective, optima[k])
	}
}
