package network_test

import (
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// TestObjectiveTwoLayer checks Objective on f(x) = Σ_j w_j (u_jᵀx + b_j)_+ + c against
// the formula written out here: ½Σ(f−y)² + (β/2)(‖U‖² + ‖b‖² + ‖w‖²), c unpenalised.
func TestObjectiveTwoLayer(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const n, d, m, beta = 20, 4, 5, 0.3
	mod := mk("fc", ir.Shape{d},
		&ir.Layer{Kind: ir.Linear, Bias: true}, &ir.Layer{Kind: ir.ReLU},
		&ir.Layer{Kind: ir.Linear, Width: 1, Bias: true})
	U, b, wv := randDense(rng, m, d), randDense(rng, 1, m), randDense(rng, 1, m)
	c := 0.7
	X, Y := randDense(rng, n, d), randDense(rng, n, 1)
	for _, loss := range []string{ir.Squared, ir.Hinge, ir.Logistic} {
		w := network.New(mod, beta, loss)
		w.Set("L1.weight", []int{m, d}, U.RawMatrix().Data, "")
		w.Set("L1.bias", []int{m}, b.RawMatrix().Data, "")
		w.Set("L3.weight", []int{1, m}, wv.RawMatrix().Data, "")
		w.Set("L3.bias", []int{1}, []float64{c}, "")
		if err := w.Finalize(); err != nil {
			t.Fatal(err)
		}
		Yt := Y
		if loss != ir.Squared {
			Yt = signs(rng, n)
		}
		var wantLoss float64
		for i := 0; i < n; i++ {
			f := c
			for j := 0; j < m; j++ {
				z := b.At(0, j)
				for k := 0; k < d; k++ {
					z += U.At(j, k) * X.At(i, k)
				}
				f += wv.At(0, j) * math.Max(z, 0)
			}
			y := Yt.At(i, 0)
			switch loss {
			case ir.Squared:
				wantLoss += 0.5 * (f - y) * (f - y)
			case ir.Hinge:
				wantLoss += math.Max(0, 1-y*f)
			case ir.Logistic:
				wantLoss += math.Log(1 + math.Exp(-y*f))
			}
		}
		sq := func(M *mat.Dense) float64 { return mat.Norm(M, 2) * mat.Norm(M, 2) }
		wantPen := beta / 2 * (sq(U) + sq(b) + sq(wv))
		obj, l, p, err := network.Objective(mod, w, X, Yt)
		if err != nil {
			t.Fatal(err)
		}
		if !near(l, wantLoss, 1e-12) || !near(p, wantPen, 1e-12) || !near(obj, wantLoss+wantPen, 1e-12) {
			t.Errorf("%s: objective %v = %v + %v, want %v + %v", loss, obj, l, p, wantLoss, wantPen)
		}
	}
}

// TestPenaltyL1Sq: conv with 2 filters over 1×4 (kernel 3 → 2 positions), relu, flatten,
// linear 1 with the §5.2 ℓ1² penalty. Flatten order is (channel, position), so unit 0
// owns w[0], w[1] and unit 1 owns w[2], w[3]:
// P = (|1| + |−2|)² + (|3| + |0.5|)² = 9 + 12.25 = 21.25;  conv ‖U‖² = 1+4+9+1+1+1 = 17.
// penalty = (β/2)(17 + 21.25) with β = 0.5 → 9.5625.
func TestPenaltyL1Sq(t *testing.T) {
	mod := mk("l1", ir.Shape{1, 4},
		&ir.Layer{Kind: ir.Conv, Kernel: []int{3}}, &ir.Layer{Kind: ir.ReLU},
		&ir.Layer{Kind: ir.Flatten}, &ir.Layer{Kind: ir.Linear, Width: 1})
	w := network.New(mod, 0.5, ir.Squared)
	w.Set("L1.weight", []int{2, 1, 3}, []float64{1, 2, 3, 1, 1, -1}, "")
	w.Set("L4.weight", []int{1, 4}, []float64{1, -2, 3, 0.5}, network.PenaltyL1Sq)
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	if g := w.Tensor("L4.weight").Groups; g != 2 {
		t.Errorf("groups = %d, want 2 (one per conv filter)", g)
	}
	if p := w.Tensor("L4.weight").PenaltyValue(); p != 21.25 {
		t.Errorf("P(L4.weight) = %v, want 21.25", p)
	}
	X := mat.NewDense(1, 4, []float64{1, 0, 0, 0})
	_, _, pen, err := network.Objective(mod, w, X, mat.NewDense(1, 1, []float64{0}))
	if err != nil {
		t.Fatal(err)
	}
	if pen != 9.5625 {
		t.Errorf("penalty = %v, want 9.5625", pen)
	}
}

// TestDefaultPenalties: hidden bias l2, output bias none, gates none, fixed none.
func TestDefaultPenalties(t *testing.T) {
	mod := mk("d", ir.Shape{3},
		&ir.Layer{Kind: ir.Linear, Width: 2, Bias: true}, &ir.Layer{Kind: ir.Gated},
		&ir.Layer{Kind: ir.Linear, Width: 1, Bias: true, Fixed: fptr(1)})
	w := network.New(mod, 1, ir.Squared)
	fill(t, mod, w, rand.New(rand.NewSource(2)), nil)
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"L1.weight": "l2", "L1.bias": "l2", "L2.gates": "none", "L2.gate_bias": "none", "L3.weight": "none", "L3.bias": "none"}
	if len(w.Tensors) != len(want) {
		t.Fatalf("tensors %d, want %d", len(w.Tensors), len(want))
	}
	for i, name := range []string{"L1.weight", "L1.bias", "L2.gates", "L2.gate_bias", "L3.weight", "L3.bias"} {
		if tt := w.Tensors[i]; tt.Name != name || tt.Penalty != want[name] {
			t.Errorf("tensor %d = %s (%s), want %s (%s)", i, tt.Name, tt.Penalty, name, want[name])
		}
	}
	if v := w.Tensor("L3.weight").Data; len(v) != 2 || v[0] != 1 || v[1] != 1 {
		t.Errorf("fixed weight materialised as %v, want [1 1]", v)
	}
}

func TestLogisticStable(t *testing.T) {
	// y·ŷ = −1000: log(1 + e^{1000}) = 1000 + log(1 + e^{−1000}) = 1000 (no overflow);
	// y·ŷ = 1000: log1p(e^{−1000}) = e^{−1000} underflows to 0.
	l, err := network.Loss(ir.Logistic, mat.NewDense(2, 1, []float64{-1000, 1000}), mat.NewDense(2, 1, []float64{1, 1}))
	if err != nil || l != 1000 {
		t.Errorf("logistic loss = %v (%v), want 1000", l, err)
	}
}

func TestAccuracyAndPredict(t *testing.T) {
	// ±1: signs agree on rows 0 and 2 (ŷ = 0 counts as −1).
	a, err := network.Accuracy(mat.NewDense(4, 1, []float64{0.3, -2, 0, 5}), mat.NewDense(4, 1, []float64{1, 1, -1, -1}))
	if err != nil || a != 0.5 {
		t.Errorf("sign accuracy = %v (%v), want 0.5", a, err)
	}
	// one-hot: argmax 1 vs 1 (hit), 0 vs 2 (miss), 2 vs 2 (hit).
	a, err = network.Accuracy(mat.NewDense(3, 3, []float64{0, 3, 1, 9, 1, 2, -1, -2, 0}), mat.NewDense(3, 3, []float64{0, 1, 0, 0, 0, 1, 0, 0, 1}))
	if err != nil || math.Abs(a-2.0/3) > 1e-15 {
		t.Errorf("argmax accuracy = %v (%v), want 2/3", a, err)
	}
	if _, err := network.Accuracy(mat.NewDense(2, 1, nil), mat.NewDense(3, 1, nil)); err == nil {
		t.Error("Accuracy accepted mismatched sizes")
	}
	mod := mk("p", ir.Shape{2}, &ir.Layer{Kind: ir.Linear, Width: 1})
	w := network.New(mod, 0, "")
	w.Set("L1.weight", []int{1, 2}, []float64{1, -1}, "")
	_, class, err := network.Predict(mod, w, mat.NewDense(2, 2, []float64{2, 1, 1, 2}))
	if err != nil || class[0] != 1 || class[1] != -1 {
		t.Errorf("Predict classes %v (%v), want [1 -1]", class, err)
	}
}
