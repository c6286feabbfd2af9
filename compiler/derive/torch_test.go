package derive

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/network/nettest"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// TestRecoveredNetworksInTorch: for every architecture of the strong-duality suite
// (seed 0), the network recovered from the CVXOPT optimum is rebuilt in PyTorch from
// weights.json alone (Conv with padding_mode='circular' for circconv, AvgPool/MaxPool/
// AdaptiveAvgPool, Flatten, Linear, in float64): its predictions match cnnc's forward
// pass to 1e-9 and its loss + penalties match the convex optimum to 1e-8 relative.
// One Python process evaluates all cases (importing torch costs ~1 s).
func TestRecoveredNetworksInTorch(t *testing.T) {
	var cases []nettest.Case
	var names []string
	var optima []float64
	for _, tc := range cnnCases() {
		r := rand.New(rand.NewPCG(0, 7))
		m := mkModel(tc.in, tc.layers...)
		X, y := randXY(r, tc.n, tc.in.Size())
		ps := tc.ps
		if ps.Mode != ir.Sample {
			ps = exact()
		}
		in := mkInput(m, X, y, tc.beta, ps)
		rule, prog, ds := Derive(in)
		if ds.HasErrors() {
			t.Fatalf("%s: %v", tc.name, ds)
		}
		sol, pcvx, status := trySolveCVXOPT(t, prog)
		if status != "optimal" {
			t.Logf("%s: CVXOPT status %s, case skipped", tc.name, status)
			continue
		}
		_, w := recoveredObjective(t, rule, in, prog, sol)
		cases = append(cases, nettest.Case{Model: m, Weights: w, X: X, Y: in.Data.Y})
		names = append(names, tc.name)
		optima = append(optima, pcvx)
	}
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
		// The recovered network equals the convex optimum to the solver's accuracy
		// (1e-6, checked in TestCNNStrongDuality); torch and cnnc evaluate that same
		// network, so they must agree far more tightly.
		obj, _, _, err := network.Objective(c.Model, c.Weights, c.X, c.Y)
		if err != nil {
			t.Fatal(err)
		}
		if rel := math.Abs(res[k].Objective-obj) / math.Abs(obj); rel > 1e-8 {
			t.Errorf("%s: torch objective %.12g, cnnc %.12g", names[k], res[k].Objective, obj)
		}
		if rel := math.Abs(res[k].Objective-optima[k]) / math.Abs(optima[k]); rel > 1e-6 {
			t.Errorf("%s: torch objective %.12g, convex optimum %.12g", names[k], res[k].Objective, optima[k])
		}
	}
	t.Logf("%d architectures checked in PyTorch", len(cases))
}
