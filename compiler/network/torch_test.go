package network_test

import (
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/network/nettest"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// torchArchs cover every layer kind: 1-D and 2-D conv with stride and padding,
// windowed and global pools, circconv (full and partial kernels, 1-D and 2-D, even and
// odd), gated after linear and conv (with and without gate bias), biases, fixed
// weights, flatten and implicit flatten, scalar and vector outputs.
func torchArchs() []struct {
	m      *ir.Model
	loss   string
	l1sq   string // tensor to give the l1sq penalty
	widths map[int]int
} {
	type arch = struct {
		m      *ir.Model
		loss   string
		l1sq   string
		widths map[int]int
	}
	L := func(k ir.LayerKind) *ir.Layer { return &ir.Layer{Kind: k} }
	return []arch{
		{mk("fc_relu", ir.Shape{5}, &ir.Layer{Kind: ir.Linear, Bias: true}, L(ir.ReLU), &ir.Layer{Kind: ir.Linear, Width: 1, Bias: true}), ir.Squared, "", map[int]int{1: 6}},
		{mk("fc_gated_bias", ir.Shape{4}, &ir.Layer{Kind: ir.Linear, Bias: true}, L(ir.Gated), &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Logistic, "", map[int]int{1: 5}},
		{mk("fc_gated_vec", ir.Shape{6}, &ir.Layer{Kind: ir.Linear}, L(ir.Gated), &ir.Layer{Kind: ir.Linear, Width: 3, Bias: true}), ir.Squared, "", nil},
		{mk("conv1d_gap", ir.Shape{2, 11}, &ir.Layer{Kind: ir.Conv, Kernel: []int{3}, Stride: []int{2}, Padding: []int{1}, Bias: true}, L(ir.ReLU), &ir.Layer{Kind: ir.AvgPool, Global: true}, &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Hinge, "", nil},
		{mk("conv2d_maxpool_vec", ir.Shape{1, 8, 8}, &ir.Layer{Kind: ir.Conv, Kernel: []int{3, 3}, Padding: []int{1, 1}}, L(ir.ReLU), &ir.Layer{Kind: ir.MaxPool, Kernel: []int{2, 2}}, L(ir.Flatten), &ir.Layer{Kind: ir.Linear, Width: 3, Bias: true}), ir.Squared, "L5.weight", map[int]int{1: 2}},
		{mk("conv2d_stride_avgpool", ir.Shape{3, 9, 7}, &ir.Layer{Kind: ir.Conv, Kernel: []int{3, 2}, Stride: []int{2, 1}, Padding: []int{0, 1}}, L(ir.ReLU), &ir.Layer{Kind: ir.AvgPool, Kernel: []int{2, 2}, Stride: []int{1, 2}}, &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Squared, "L4.weight", nil},
		{mk("conv2d_gmp", ir.Shape{2, 6, 6}, &ir.Layer{Kind: ir.Conv, Kernel: []int{2, 2}, Stride: []int{2, 2}, Bias: true}, L(ir.ReLU), &ir.Layer{Kind: ir.MaxPool, Global: true}, &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Logistic, "", nil},
		{mk("circ_full", ir.Shape{1, 7}, &ir.Layer{Kind: ir.CircConv}, &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Squared, "", map[int]int{1: 4}},
		{mk("circ_even_3layer", ir.Shape{2, 9}, &ir.Layer{Kind: ir.CircConv, Kernel: []int{4}, Bias: true}, L(ir.ReLU), L(ir.Flatten), &ir.Layer{Kind: ir.Linear}, L(ir.ReLU), &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Squared, "", map[int]int{4: 5}},
		{mk("circ2d", ir.Shape{2, 5, 6}, &ir.Layer{Kind: ir.CircConv, Kernel: []int{3, 2}}, L(ir.ReLU), &ir.Layer{Kind: ir.AvgPool, Global: true}, &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Squared, "", nil},
		{mk("circ_full_even_gated", ir.Shape{1, 6}, &ir.Layer{Kind: ir.CircConv, Bias: true}, L(ir.Gated), L(ir.Flatten), &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Squared, "", nil},
		{mk("conv_gated_fixed", ir.Shape{1, 6, 6}, &ir.Layer{Kind: ir.Conv, Kernel: []int{2, 2}, Stride: []int{2, 2}, Bias: true}, L(ir.Gated), &ir.Layer{Kind: ir.AvgPool, Global: true}, &ir.Layer{Kind: ir.Linear, Width: 1, Fixed: fptr(0.5), Bias: true}), ir.Squared, "", nil},
		{mk("conv1d_maxpool_window", ir.Shape{3, 12}, &ir.Layer{Kind: ir.Conv, Kernel: []int{2}}, L(ir.ReLU), &ir.Layer{Kind: ir.MaxPool, Kernel: []int{3}, Stride: []int{2}}, &ir.Layer{Kind: ir.AvgPool, Kernel: []int{2}}, L(ir.Flatten), &ir.Layer{Kind: ir.Linear, Width: 2}), ir.Hinge, "", nil},
		{mk("conv1d_gated_pad", ir.Shape{1, 10}, &ir.Layer{Kind: ir.Conv, Kernel: []int{4}, Stride: []int{3}, Padding: []int{2}}, L(ir.Gated), &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Squared, "", nil},
		{mk("fashion_like", ir.Shape{1, 28, 28}, &ir.Layer{Kind: ir.Conv, Kernel: []int{4, 4}, Stride: []int{4, 4}}, L(ir.ReLU), &ir.Layer{Kind: ir.AvgPool, Global: true}, &ir.Layer{Kind: ir.Linear, Width: 1}), ir.Squared, "", map[int]int{1: 8}},
	}
}

// TestForwardMatchesTorch: Forward and Objective agree with a torch.nn.Sequential built
// from weights.json alone (float64) to 1e-12, relative to max(1, |value|).
func TestForwardMatchesTorch(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	var cases []nettest.Case
	archs := torchArchs()
	for _, a := range archs {
		w := network.New(a.m, 0.37, a.loss)
		fill(t, a.m, w, rng, a.widths)
		if a.l1sq != "" {
			w.Tensor(a.l1sq).Penalty = network.PenaltyL1Sq
		}
		if err := w.Finalize(); err != nil {
			t.Fatalf("%s: %v", a.m.Name, err)
		}
		n := 7
		X := randDense(rng, n, a.m.Input().Size())
		_, out := w.Layers[len(w.Layers)-1].In, w.Layers[len(w.Layers)-1].Out
		Y := randDense(rng, n, out)
		if a.loss != ir.Squared {
			for i := 0; i < n; i++ {
				for k := 0; k < out; k++ {
					Y.Set(i, k, math.Copysign(1, Y.At(i, k)))
				}
			}
		}
		cases = append(cases, nettest.Case{Model: a.m, Weights: w, X: X, Y: Y})
	}
	res, ok := nettest.TorchEvalAll(t, cases)
	if !ok {
		return
	}
	for i, c := range cases {
		name := archs[i].m.Name
		got, err := network.Forward(c.Model, c.Weights, c.X)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		r, k := got.Dims()
		if pr, pk := res[i].Pred.Dims(); pr != r || pk != k {
			t.Errorf("%s: Forward is %d×%d, torch %d×%d", name, r, k, pr, pk)
			continue
		}
		for a := 0; a < r; a++ {
			for b := 0; b < k; b++ {
				if g, w := got.At(a, b), res[i].Pred.At(a, b); !near(g, w, 1e-12) {
					t.Errorf("%s: sample %d output %d: Forward %.17g, torch %.17g", name, a, b, g, w)
				}
			}
		}
		obj, loss, pen, err := network.Objective(c.Model, c.Weights, c.X, c.Y)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !near(obj, res[i].Objective, 1e-12) || !near(loss, res[i].Loss, 1e-12) || !near(pen, res[i].Penalty, 1e-12) {
			t.Errorf("%s: objective %.17g = %.17g + %.17g, torch %.17g = %.17g + %.17g", name, obj, loss, pen, res[i].Objective, res[i].Loss, res[i].Penalty)
		}
		// The outputs are not degenerate (a test that could not fail otherwise).
		if mat.Norm(got, math.Inf(1)) == 0 {
			t.Errorf("%s: all outputs are zero", name)
		}
	}
}

// TestTorchEvalSingle exercises the one-network form used by other packages' tests.
func TestTorchEvalSingle(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	m := mk("one", ir.Shape{3}, &ir.Layer{Kind: ir.Linear, Width: 2}, &ir.Layer{Kind: ir.ReLU}, &ir.Layer{Kind: ir.Linear, Width: 1})
	w := network.New(m, 0.1, ir.Squared)
	fill(t, m, w, rng, nil)
	X, Y := randDense(rng, 4, 3), randDense(rng, 4, 1)
	pred, obj, ok := nettest.TorchEval(t, m, w, X, Y)
	if !ok {
		return
	}
	want, _, _, err := network.Objective(m, w, X, Y)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := network.Forward(m, w, X)
	if !near(obj, want, 1e-12) || !mat.EqualApprox(pred, got, 1e-12) {
		t.Errorf("torch objective %v, Go %v; predictions\n%v\n%v", obj, want, mat.Formatted(pred), mat.Formatted(got))
	}
}
