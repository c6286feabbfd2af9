package network_test

import (
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

type tensorSpec struct {
	name  string
	shape []int
	data  []float64
}

// run builds weights for m from the given tensors and runs Forward on the rows x.
func run(t *testing.T, m *ir.Model, ts []tensorSpec, x ...[]float64) [][]float64 {
	t.Helper()
	w := network.New(m, 0, ir.Squared)
	for _, s := range ts {
		w.Set(s.name, s.shape, s.data, "")
	}
	if err := w.Finalize(); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	X := mat.NewDense(len(x), len(x[0]), nil)
	for i, r := range x {
		X.SetRow(i, r)
	}
	Y, err := network.Forward(m, w, X)
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	out := make([][]float64, len(x))
	for i := range out {
		out[i] = mat.Row(nil, i, Y)
	}
	return out
}

func expect(t *testing.T, got [][]float64, want ...[]float64) {
	t.Helper()
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("sample %d: got %v, want %v", i, got[i], want[i])
		}
		for k := range want[i] {
			if math.Abs(got[i][k]-want[i][k]) > 1e-13 {
				t.Fatalf("sample %d: got %v, want %v", i, got[i], want[i])
			}
		}
	}
}

func TestConv1DStridePaddingBias(t *testing.T) {
	// x = [1 2 3 4 5], W = [1 0 −1], b = 0.5, stride 2, padding 1.
	// Padded: [0 1 2 3 4 5 0]; output length ⌊(5+2−3)/2⌋+1 = 3, windows at 0, 2, 4:
	//   [0 1 2]·W = −2, [2 3 4]·W = −2, [4 5 0]·W = 4;  plus 0.5.
	m := mk("c1", ir.Shape{1, 5}, &ir.Layer{Kind: ir.Conv, Kernel: []int{3}, Stride: []int{2}, Padding: []int{1}, Bias: true})
	got := run(t, m, []tensorSpec{
		{"L1.weight", []int{1, 1, 3}, []float64{1, 0, -1}},
		{"L1.bias", []int{1}, []float64{0.5}},
	}, []float64{1, 2, 3, 4, 5})
	expect(t, got, []float64{-1.5, -1.5, 4.5})
}

func TestConv2DTwoChannels(t *testing.T) {
	// Channel 0 = [[1 2 3][4 5 6][7 8 9]], channel 1 = all 10. Filter 0 looks at
	// channel 0 with [[1 2][3 4]]: 1+4+12+20 = 37, 2+6+15+24 = 47, 4+10+21+32 = 67,
	// 5+12+24+36 = 77; and at channel 1 with all ones: + 40 each.
	// Filter 1 is channel 1 with [[1 0][0 0]] only: 10 everywhere. Output [2,2,2].
	m := mk("c2", ir.Shape{2, 3, 3}, &ir.Layer{Kind: ir.Conv, Kernel: []int{2, 2}})
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10}
	got := run(t, m, []tensorSpec{
		{"L1.weight", []int{2, 2, 2, 2}, []float64{1, 2, 3, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0}},
	}, x)
	expect(t, got, []float64{77, 87, 107, 117, 10, 10, 10, 10})
}

func TestConv2DAsymmetricStridePadding(t *testing.T) {
	// x = 1×2×3 [[1 2 3][4 5 6]], W = ones 1×1×1×2, stride (1,2), padding (0,1):
	// padded rows [0 1 2 3 0], [0 4 5 6 0]; width ⌊(3+2−2)/2⌋+1 = 2, columns 0 and 2:
	// row 0: 0+1 = 1, 2+3 = 5; row 1: 0+4 = 4, 5+6 = 11.
	m := mk("c3", ir.Shape{1, 2, 3}, &ir.Layer{Kind: ir.Conv, Kernel: []int{1, 2}, Stride: []int{1, 2}, Padding: []int{0, 1}})
	got := run(t, m, []tensorSpec{{"L1.weight", []int{1, 1, 1, 2}, []float64{1, 1}}}, []float64{1, 2, 3, 4, 5, 6})
	expect(t, got, []float64{1, 5, 4, 11})
}

func TestCircConvHand(t *testing.T) {
	// L = 4, K = 4: left = ⌊3/2⌋ = 1, y[t] = Σ_s W[s]·x[(t+s−1) mod 4].
	// W = e_0: y[t] = x[(t−1) mod 4] → [4 1 2 3] for x = [1 2 3 4].
	m := mk("cc", ir.Shape{1, 4}, &ir.Layer{Kind: ir.CircConv})
	got := run(t, m, []tensorSpec{{"L1.weight", []int{1, 1, 4}, []float64{1, 0, 0, 0}}}, []float64{1, 2, 3, 4})
	expect(t, got, []float64{4, 1, 2, 3})

	// L = 5, K = 3: left = 1. x = e_0, W = [1 2 3]: y[t] ≠ 0 where t+s−1 ≡ 0 (mod 5):
	// t=0,s=1 → 2; t=1,s=0 → 1; t=4,s=2 → 3.  y = [2 1 0 0 3].
	m = mk("cc3", ir.Shape{1, 5}, &ir.Layer{Kind: ir.CircConv, Kernel: []int{3}})
	got = run(t, m, []tensorSpec{{"L1.weight", []int{1, 1, 3}, []float64{1, 2, 3}}}, []float64{1, 0, 0, 0, 0})
	expect(t, got, []float64{2, 1, 0, 0, 3})

	// 2-D, 1×2×2 with kernel 2×2 (left 0 in both): y[i,j] = Σ W[a,e]·x[(i+a) mod 2, (j+e) mod 2];
	// W = [[0 1][0 0]] shifts left: y[i,j] = x[i, j+1 mod 2]. x = [[1 2][3 4]] → [[2 1][4 3]].
	m = mk("cc2", ir.Shape{1, 2, 2}, &ir.Layer{Kind: ir.CircConv})
	got = run(t, m, []tensorSpec{{"L1.weight", []int{1, 1, 2, 2}, []float64{0, 1, 0, 0}}}, []float64{1, 2, 3, 4})
	expect(t, got, []float64{2, 1, 4, 3})
}

// TestCircConvMatchesSection73 checks the documented relation with formulations.md
// §7.3: with W = CircWeight(u), Forward computes (u ⊛ x)[t] = Σ_s u[s]·x[(t−s) mod L],
// evaluated here by the definition, for even and odd L.
func TestCircConvMatchesSection73(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, L := range []int{1, 2, 5, 6, 9} {
		u, x := make([]float64, L), make([]float64, L)
		for i := range u {
			u[i], x[i] = rng.NormFloat64(), rng.NormFloat64()
		}
		want := make([]float64, L)
		for tt := range want {
			for s := 0; s < L; s++ {
				want[tt] += u[s] * x[((tt-s)%L+L)%L]
			}
		}
		m := mk("c73", ir.Shape{1, L}, &ir.Layer{Kind: ir.CircConv, Width: 1})
		got := run(t, m, []tensorSpec{{"L1.weight", []int{1, 1, L}, network.CircWeight(u)}}, x)
		expect(t, got, want)
		back := network.CircFilter(network.CircWeight(u))
		for i := range u {
			if back[i] != u[i] {
				t.Fatalf("L=%d: CircFilter(CircWeight(u)) = %v, want %v", L, back, u)
			}
		}
	}
	// K < L: W[s] = u[K−1−s] gives y[t] = (u ⊛ x)[(t+right) mod L], right = K−1−left.
	L, K := 7, 4
	left := (K - 1) / 2
	right := K - 1 - left
	u, x := []float64{1, -2, 3, 0.5}, []float64{0.3, -1, 2, 4, -3, 1.5, 2.5}
	W := []float64{u[3], u[2], u[1], u[0]}
	want := make([]float64, L)
	for tt := range want {
		for s := 0; s < K; s++ {
			want[tt] += u[s] * x[((tt+right-s)%L+L)%L]
		}
	}
	m := mk("c73k", ir.Shape{1, L}, &ir.Layer{Kind: ir.CircConv, Kernel: []int{K}})
	expect(t, run(t, m, []tensorSpec{{"L1.weight", []int{1, 1, K}, W}}, x), want)
}

func TestReLUAndGated(t *testing.T) {
	// linear W = [[1 1]] then gated with gates [[1 −1]]: z = x0 + x1, gate g = x0 − x1.
	// x = [2 1]: z = 3, g = 1 > 0 → 3.  x = [1 2]: z = 3, g = −1 → 0.  x = [1 1]: g = 0 → 0.
	// With relu instead of gated all three would be 3.
	m := mk("g", ir.Shape{2}, &ir.Layer{Kind: ir.Linear, Width: 1}, &ir.Layer{Kind: ir.Gated})
	got := run(t, m, []tensorSpec{
		{"L1.weight", []int{1, 2}, []float64{1, 1}},
		{"L2.gates", []int{1, 2}, []float64{1, -1}},
	}, []float64{2, 1}, []float64{1, 2}, []float64{1, 1})
	expect(t, got, []float64{3}, []float64{0}, []float64{0})

	// With biases b = −4 and gate bias 0.5: x = [1 1]: z = −2, g = 0.5 → −2 (a gated
	// unit can be negative); x = [2 1]: z = −1, g = 1.5 → −1; x = [1 2]: g = −0.5 → 0.
	m = mk("gb", ir.Shape{2}, &ir.Layer{Kind: ir.Linear, Width: 1, Bias: true}, &ir.Layer{Kind: ir.Gated})
	got = run(t, m, []tensorSpec{
		{"L1.weight", []int{1, 2}, []float64{1, 1}},
		{"L1.bias", []int{1}, []float64{-4}},
		{"L2.gates", []int{1, 2}, []float64{1, -1}},
		{"L2.gate_bias", []int{1}, []float64{0.5}},
	}, []float64{1, 1}, []float64{2, 1}, []float64{1, 2})
	expect(t, got, []float64{-2}, []float64{-1}, []float64{0})

	// relu: max(0, ·) elementwise after linear identity.
	m = mk("r", ir.Shape{3}, &ir.Layer{Kind: ir.Linear, Width: 3}, &ir.Layer{Kind: ir.ReLU})
	got = run(t, m, []tensorSpec{{"L1.weight", []int{3, 3}, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}}, []float64{-1, 0, 2.5})
	expect(t, got, []float64{0, 0, 2.5})
}

func TestPools(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9} // 1×3×3 [[1 2 3][4 5 6][7 8 9]]
	cases := []struct {
		name string
		l    *ir.Layer
		want []float64
	}{
		// 2×2 windows, stride 2 (default), floor mode: one window {1,2,4,5}: mean 3.
		{"avg2", &ir.Layer{Kind: ir.AvgPool, Kernel: []int{2, 2}}, []float64{3}},
		// 2×2 stride 1: maxima 5 6 8 9.
		{"max2s1", &ir.Layer{Kind: ir.MaxPool, Kernel: []int{2, 2}, Stride: []int{1, 1}}, []float64{5, 6, 8, 9}},
		// 1×3 windows stride 1: row means 2 5 8.
		{"avg13", &ir.Layer{Kind: ir.AvgPool, Kernel: []int{1, 3}, Stride: []int{1, 1}}, []float64{2, 5, 8}},
		{"avgG", &ir.Layer{Kind: ir.AvgPool, Global: true}, []float64{5}},
		{"maxG", &ir.Layer{Kind: ir.MaxPool, Global: true}, []float64{9}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, run(t, mk(c.name, ir.Shape{1, 3, 3}, c.l), nil, x), c.want)
		})
	}
	// 1-D: 2×5 signal, maxpool 2 stride 2 → 2×2; max of negatives stays negative.
	m := mk("m1", ir.Shape{2, 5}, &ir.Layer{Kind: ir.MaxPool, Kernel: []int{2}})
	expect(t, run(t, m, nil, []float64{-5, -4, -3, -2, -1, 1, 9, 2, 3, 7}), []float64{-4, -2, 9, 3})
}

func TestFlattenLinearFixed(t *testing.T) {
	// flatten of 2×1×2 [[a b]][[c d]] is [a b c d]; linear W = [[1 10 100 1000]], b = 0.5:
	// 1·1 + 10·2 + 100·3 + 1000·4 + 0.5 = 4321.5.
	m := mk("fl", ir.Shape{2, 1, 2}, &ir.Layer{Kind: ir.Flatten}, &ir.Layer{Kind: ir.Linear, Width: 1, Bias: true})
	got := run(t, m, []tensorSpec{
		{"L2.weight", []int{1, 4}, []float64{1, 10, 100, 1000}},
		{"L2.bias", []int{1}, []float64{0.5}},
	}, []float64{1, 2, 3, 4})
	expect(t, got, []float64{4321.5})
	// The same without flatten (linear flattens implicitly).
	m = mk("fl2", ir.Shape{2, 1, 2}, &ir.Layer{Kind: ir.Linear, Width: 1, Bias: true})
	got = run(t, m, []tensorSpec{
		{"L1.weight", []int{1, 4}, []float64{1, 10, 100, 1000}},
		{"L1.bias", []int{1}, []float64{0.5}},
	}, []float64{1, 2, 3, 4})
	expect(t, got, []float64{4321.5})
	// fixed=2 with no tensor given: 2·(1+2+3) = 12; the weight is materialised, unpenalised.
	m = mk("fx", ir.Shape{3}, &ir.Layer{Kind: ir.Linear, Width: 1, Fixed: fptr(2)})
	expect(t, run(t, m, nil, []float64{1, 2, 3}), []float64{12})
}
