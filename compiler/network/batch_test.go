package network_test

import (
	"math"
	"math/rand"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// batchModels are random networks for the batched forward pass: conv with padding and
// stride, several channels, 1-D and 2-D, gated conv and gated linear layers (with and
// without gate bias), pools, circular conv, flatten.
func batchModels() []*ir.Model {
	return []*ir.Model{
		mk("conv2d", ir.Shape{3, 9, 8},
			&ir.Layer{Kind: ir.Conv, Kernel: []int{3, 3}, Stride: []int{2, 2}, Padding: []int{1, 1}, Width: 5, Bias: true},
			&ir.Layer{Kind: ir.ReLU},
			&ir.Layer{Kind: ir.Conv, Kernel: []int{2, 2}, Stride: []int{1, 2}, Padding: []int{1, 0}, Width: 4, Bias: true},
			&ir.Layer{Kind: ir.Gated},
			&ir.Layer{Kind: ir.MaxPool, Kernel: []int{2, 2}},
			&ir.Layer{Kind: ir.Flatten},
			&ir.Layer{Kind: ir.Linear, Width: 6, Bias: true},
			&ir.Layer{Kind: ir.Gated},
			&ir.Layer{Kind: ir.Linear, Width: 2, Bias: true}),
		mk("conv1d", ir.Shape{2, 17},
			&ir.Layer{Kind: ir.Conv, Kernel: []int{4}, Stride: []int{3}, Padding: []int{2}, Width: 6, Bias: true},
			&ir.Layer{Kind: ir.ReLU},
			&ir.Layer{Kind: ir.AvgPool, Global: true},
			&ir.Layer{Kind: ir.Linear, Width: 1}),
		mk("gatednobias", ir.Shape{2, 7, 7},
			&ir.Layer{Kind: ir.Conv, Kernel: []int{5, 5}, Padding: []int{3, 3}, Width: 3},
			&ir.Layer{Kind: ir.Gated},
			&ir.Layer{Kind: ir.AvgPool, Kernel: []int{2, 3}, Stride: []int{2, 1}},
			&ir.Layer{Kind: ir.Linear, Width: 3},
			&ir.Layer{Kind: ir.Gated},
			&ir.Layer{Kind: ir.Linear, Width: 1, Bias: true}),
		mk("circ", ir.Shape{2, 6, 5},
			&ir.Layer{Kind: ir.CircConv, Kernel: []int{3, 2}, Width: 3, Bias: true},
			&ir.Layer{Kind: ir.Gated},
			&ir.Layer{Kind: ir.Conv, Kernel: []int{2, 2}, Stride: []int{2, 2}, Width: 4},
			&ir.Layer{Kind: ir.ReLU},
			&ir.Layer{Kind: ir.MaxPool, Global: true},
			&ir.Layer{Kind: ir.Linear, Width: 2}),
		mk("mlp", ir.Shape{10},
			&ir.Layer{Kind: ir.Linear, Width: 70, Bias: true},
			&ir.Layer{Kind: ir.ReLU},
			&ir.Layer{Kind: ir.Linear, Width: 7, Bias: true},
			&ir.Layer{Kind: ir.Gated},
			&ir.Layer{Kind: ir.Linear, Width: 3}),
		// K = 4·5·5 = 100 > 64 rows of the patch matrix; 1600 positions per sample,
		// more than one product's columns at the default budget.
		mk("wide", ir.Shape{4, 40, 40},
			&ir.Layer{Kind: ir.Conv, Kernel: []int{5, 5}, Padding: []int{2, 2}, Width: 16, Bias: true},
			&ir.Layer{Kind: ir.ReLU},
			&ir.Layer{Kind: ir.AvgPool, Global: true},
			&ir.Layer{Kind: ir.Linear, Width: 1}),
	}
}

func batchWeights(t testing.TB, m *ir.Model, seed int64) *network.Weights {
	t.Helper()
	w := network.New(m, 1e-3, ir.Squared)
	fill(t, m, w, rand.New(rand.NewSource(seed)), nil)
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	return w
}

func sameBits(a, b *mat.Dense) bool {
	ra, ca := a.Dims()
	rb, cb := b.Dims()
	if ra != rb || ca != cb {
		return false
	}
	for i := 0; i < ra; i++ {
		x, y := a.RawRowView(i), b.RawRowView(i)
		for k := range x {
			if math.Float64bits(x[k]) != math.Float64bits(y[k]) {
				return false
			}
		}
	}
	return true
}

// TestForwardBatchedMatchesScalar: the batched forward pass agrees with the per-sample
// scalar one to 1e-12 relative, for sample counts that are not multiples of the batch
// and at budgets small enough to split batches into one sample and a sample's patch
// matrix into several products; and gives the same bits at every budget.
func TestForwardBatchedMatchesScalar(t *testing.T) {
	for mi, m := range batchModels() {
		t.Run(m.Name, func(t *testing.T) {
			w := batchWeights(t, m, int64(mi+1))
			n := 302
			if m.Name == "wide" {
				n = 11
			}
			rng := rand.New(rand.NewSource(int64(100 + mi)))
			X := randDense(rng, n, prod(m.Input()))
			want, err := network.ForwardScalar(w, X)
			if err != nil {
				t.Fatal(err)
			}
			var first *mat.Dense
			// {0, 0, 0}: the default budgets
			for _, b := range [][3]int{{0, 0, 0}, {7, 1 << 20, 1 << 19}, {128, 1, 50}, {3, 1, 1}} {
				restore := func() {}
				if b[0] > 0 {
					restore = network.SetForwardBudgets(b[0], b[1], b[2])
				}
				got, err := network.Forward(m, w, X)
				bs, _ := network.ForwardBatchSize(w)
				restore()
				if err != nil {
					t.Fatal(err)
				}
				if bs > 1 && n%bs == 0 {
					t.Errorf("budgets %v: n = %d is a multiple of the batch %d", b, n, bs)
				}
				for i := 0; i < n; i++ {
					g, wr := got.RawRowView(i), want.RawRowView(i)
					for k := range wr {
						if !near(g[k], wr[k], 1e-12) {
							t.Fatalf("budgets %v: sample %d output %d: batched %v, scalar %v", b, i, k, g[k], wr[k])
						}
					}
				}
				if first == nil {
					first = got
				} else if !sameBits(got, first) {
					t.Fatalf("budgets %v: the output differs in its bits from the default budgets'", b)
				}
			}
		})
	}
}

// TestForwardBatchedDeterministic: the output is bit-identical with GOMAXPROCS 1 and
// 2, and a sample's output does not depend on the other samples of the call.
func TestForwardBatchedDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for mi, m := range batchModels() {
		t.Run(m.Name, func(t *testing.T) {
			w := batchWeights(t, m, int64(mi+1))
			n := 517
			if m.Name == "wide" {
				n = 40
			}
			X := randDense(rand.New(rand.NewSource(int64(200+mi))), n, prod(m.Input()))
			var ref *mat.Dense
			for _, procs := range []int{1, 2, 1, 2} {
				runtime.GOMAXPROCS(procs)
				got, err := network.Forward(m, w, X)
				if err != nil {
					t.Fatal(err)
				}
				if ref == nil {
					ref = got
				} else if !sameBits(got, ref) {
					t.Fatalf("GOMAXPROCS %d: the output differs in its bits", procs)
				}
			}
			// samples 5..16 alone
			sub, err := network.Forward(m, w, mat.DenseCopyOf(X.Slice(5, 17, 0, prod(m.Input()))))
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(sub, ref.Slice(5, 17, 0, ref.RawMatrix().Cols).(*mat.Dense)) {
				t.Fatal("samples 5..16 run alone differ in their bits from the full run")
			}
		})
	}
}

func prod(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}
