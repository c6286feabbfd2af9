package network_test

import (
	"bytes"
	"math"
	"math/rand"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/network/nettest"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// parallel3 is the §9b network input d · linear m1 [bias] branches=K · relu ·
// linear 1 branches=K · relu · linear 1 [bias], with random weights (block-diagonal
// second layer) written in the weights.json layout.
func parallel3(rng *rand.Rand, d, m1, K int, bias bool, reg string) (*ir.Model, *network.Weights, [][][]float64, [][]float64, [][]float64, []float64) {
	m := mk("p3", ir.Shape{d},
		&ir.Layer{Kind: ir.Linear, Width: m1, Bias: bias, Branches: ir.AutoBranches},
		&ir.Layer{Kind: ir.ReLU},
		&ir.Layer{Kind: ir.Linear, Width: 1, Branches: ir.AutoBranches},
		&ir.Layer{Kind: ir.ReLU},
		&ir.Layer{Kind: ir.Linear, Width: 1, Bias: true})
	w := network.New(m, 0.3, ir.Squared)
	w.Regularizer = reg
	w.Layers[1].Branches, w.Layers[3].Branches = K, K
	W1 := make([][][]float64, K) // [k][j] = w1_kj (d entries)
	b1 := make([][]float64, K)
	w2 := make([][]float64, K)
	w3 := make([]float64, K)
	var A, Ab, B []float64
	B = make([]float64, K*K*m1)
	for k := 0; k < K; k++ {
		W1[k] = make([][]float64, m1)
		b1[k] = make([]float64, m1)
		w2[k] = make([]float64, m1)
		for j := 0; j < m1; j++ {
			W1[k][j] = make([]float64, d)
			for i := range W1[k][j] {
				W1[k][j][i] = rng.NormFloat64()
			}
			A = append(A, W1[k][j]...)
			if bias {
				b1[k][j] = rng.NormFloat64()
				Ab = append(Ab, b1[k][j])
			}
			w2[k][j] = rng.NormFloat64()
			B[k*K*m1+k*m1+j] = w2[k][j]
		}
		w3[k] = rng.NormFloat64()
	}
	w.Set("L1.weight", []int{K * m1, d}, A, "")
	if bias {
		w.Set("L1.bias", []int{K * m1}, Ab, "")
	}
	w.Set("L3.weight", []int{K, K * m1}, B, "")
	w.Set("L5.weight", []int{1, K}, w3, "")
	w.Set("L5.bias", []int{1}, []float64{0.7}, "")
	return m, w, W1, b1, w2, w3
}

// TestParallelForwardAndRegularizer: the forward pass of a branched network equals
// Σ_k w3_k (Σ_j w2_kj (x·w1_kj + b_kj)₊)₊ + b, and the objective adds β·R(θ) with the
// path and group formulas, computed here from the branch weights directly; R is
// invariant under the rescaling (w1_kj, w2_kj) → (t·w1_kj, w2_kj/t).
func TestParallelForwardAndRegularizer(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	const d, m1, K, n = 3, 2, 4, 7
	for _, reg := range []string{network.PenaltyPath, network.PenaltyGroup} {
		m, w, W1, b1, w2, w3 := parallel3(rng, d, m1, K, true, reg)
		if err := w.Finalize(); err != nil {
			t.Fatal(err)
		}
		X := mat.NewDense(n, d, nil)
		Y := mat.NewDense(n, 1, nil)
		for i := 0; i < n; i++ {
			for c := 0; c < d; c++ {
				X.Set(i, c, rng.NormFloat64())
			}
			Y.Set(i, 0, rng.NormFloat64())
		}
		yhat, err := network.Forward(m, w, X)
		if err != nil {
			t.Fatal(err)
		}
		loss := 0.0
		for i := 0; i < n; i++ {
			f := 0.7
			for k := 0; k < K; k++ {
				z := 0.0
				for j := 0; j < m1; j++ {
					z += w2[k][j] * math.Max(0, dotv(X.RawRowView(i), W1[k][j])+b1[k][j])
				}
				f += w3[k] * math.Max(0, z)
			}
			if math.Abs(f-yhat.At(i, 0)) > 1e-12 {
				t.Fatalf("%s: sample %d: forward %v, direct %v", reg, i, yhat.At(i, 0), f)
			}
			loss += 0.5 * (f - Y.At(i, 0)) * (f - Y.At(i, 0))
		}
		R := 0.0
		for k := 0; k < K; k++ {
			s := 0.0
			for j := 0; j < m1; j++ {
				a := math.Sqrt(dotv(W1[k][j], W1[k][j]) + b1[k][j]*b1[k][j])
				if reg == network.PenaltyPath {
					s += a * a * w2[k][j] * w2[k][j]
				} else {
					s += a * math.Abs(w2[k][j])
				}
			}
			if reg == network.PenaltyPath {
				s = math.Sqrt(s)
			}
			R += math.Abs(w3[k]) * s
		}
		obj, l, pen, err := network.Objective(m, w, X, Y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(l-loss) > 1e-12 || math.Abs(pen-0.3*R) > 1e-12 || math.Abs(obj-loss-0.3*R) > 1e-12 {
			t.Fatalf("%s: objective %v loss %v penalty %v, want loss %v penalty %v", reg, obj, l, pen, loss, 0.3*R)
		}
		for _, tn := range w.Tensors {
			want := reg
			if tn.Name == "L5.bias" {
				want = network.PenaltyNone
			}
			if tn.Penalty != want {
				t.Errorf("%s: tensor %s penalty %q, want %q", reg, tn.Name, tn.Penalty, want)
			}
		}
		// rescaling invariance
		A := w.Tensor("L1.weight").Data
		Ab := w.Tensor("L1.bias").Data
		B := w.Tensor("L3.weight").Data
		for u := 0; u < K*m1; u++ {
			s := 0.5 + rng.Float64()*3
			for c := 0; c < d; c++ {
				A[u*d+c] *= s
			}
			Ab[u] *= s
			k := u / m1
			B[k*K*m1+u] /= s
		}
		obj2, _, _, err := network.Objective(m, w, X, Y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(obj2-obj) > 1e-12*math.Max(1, obj) {
			t.Errorf("%s: objective %v after rescaling, %v before", reg, obj2, obj)
		}
		// JSON round trip keeps branches and the regulariser
		var buf bytes.Buffer
		if err := w.Write(&buf); err != nil {
			t.Fatal(err)
		}
		w2r, err := network.Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if w2r.Regularizer != reg || w2r.Layers[1].Branches != K || w2r.Layers[3].Branches != K {
			t.Fatalf("round trip lost the branches or regulariser: %q %d %d", w2r.Regularizer, w2r.Layers[1].Branches, w2r.Layers[3].Branches)
		}
		obj3, _, _, err := network.Objective(m, w2r, X, Y)
		if err != nil || obj3 != obj2 {
			t.Fatalf("round trip objective %v (%v), want %v", obj3, err, obj2)
		}
	}
}

// TestParallelRefusals: a second branched layer that is not block-diagonal, a branch
// count the model does not allow and a regulariser on a network of the wrong shape
// are errors that say what is wrong.
func TestParallelRefusals(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	m, w, _, _, _, _ := parallel3(rng, 2, 2, 3, false, network.PenaltyPath)
	w.Tensor("L3.weight").Data[2] = 0.5 // row 0 reads branch 1's first unit
	if err := w.Finalize(); err == nil || !strings.Contains(err.Error(), "block-diagonal") {
		t.Errorf("off-block weight: %v", err)
	}
	m, w, _, _, _, _ = parallel3(rng, 2, 2, 3, false, network.PenaltyPath)
	m.Layers[1].Branches, m.Layers[3].Branches = 2, 2
	if err := w.CheckModel(m); err == nil || !strings.Contains(err.Error(), "branches") {
		t.Errorf("branch count: %v", err)
	}
	fc := mk("fc", ir.Shape{3}, &ir.Layer{Kind: ir.Linear}, &ir.Layer{Kind: ir.ReLU}, &ir.Layer{Kind: ir.Linear, Width: 1})
	wf := network.New(fc, 0.1, ir.Squared)
	fill(t, fc, wf, rng, nil)
	wf.Regularizer = network.PenaltyPath
	if err := wf.Finalize(); err == nil || !strings.Contains(err.Error(), "parallel three-layer") {
		t.Errorf("path regulariser on a two-layer network: %v", err)
	}
}

// circ3Net is the §8 network input 1xL · circconv branches=K · linear 1 branches=K ·
// relu · linear 1 with random weights.
func circ3Net(rng *rand.Rand, L, K int) (*ir.Model, *network.Weights) {
	m := mk("c3", ir.Shape{1, L},
		&ir.Layer{Kind: ir.CircConv, Width: 1, Branches: ir.AutoBranches, Kernel: []int{L}},
		&ir.Layer{Kind: ir.Linear, Width: 1, Branches: ir.AutoBranches},
		&ir.Layer{Kind: ir.ReLU},
		&ir.Layer{Kind: ir.Linear, Width: 1})
	w := network.New(m, 0.2, ir.Squared)
	w.Regularizer = network.PenaltyPath
	w.Layers[1].Branches, w.Layers[2].Branches = K, K
	a := make([]float64, K*L)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	B := make([]float64, K*K*L)
	for k := 0; k < K; k++ {
		for q := 0; q < L; q++ {
			B[k*K*L+k*L+q] = rng.NormFloat64()
		}
	}
	w3 := make([]float64, K)
	for k := range w3 {
		w3[k] = rng.NormFloat64()
	}
	w.Set("L1.weight", []int{K, 1, L}, a, "")
	w.Set("L2.weight", []int{K, K * L}, B, "")
	w.Set("L4.weight", []int{1, K}, w3, "")
	return m, w
}

// TestCirc3Regularizer: for the §8 network the path regulariser is Σ_k |w3_k|·‖a_k‖·‖b_k‖
// and the group one equals it (one unit per branch).
func TestCirc3Regularizer(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	const L, K = 6, 3
	m, w := circ3Net(rng, L, K)
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	R, err := w.RegularizerValue()
	if err != nil {
		t.Fatal(err)
	}
	a, B, w3 := w.Tensor("L1.weight").Data, w.Tensor("L2.weight").Data, w.Tensor("L4.weight").Data
	want := 0.0
	for k := 0; k < K; k++ {
		na := math.Sqrt(dotv(a[k*L:(k+1)*L], a[k*L:(k+1)*L]))
		b := B[k*K*L+k*L : k*K*L+(k+1)*L]
		want += math.Abs(w3[k]) * na * math.Sqrt(dotv(b, b))
	}
	if math.Abs(R-want) > 1e-12*want {
		t.Fatalf("R = %v, want %v", R, want)
	}
	w.Regularizer = network.PenaltyGroup
	for i := range w.Tensors {
		w.Tensors[i].Penalty = ""
	}
	if R2, err := w.RegularizerValue(); err != nil || math.Abs(R2-want) > 1e-12*want {
		t.Fatalf("group R = %v (%v), want %v", R2, err, want)
	}
	if _, err := network.Forward(m, w, mat.NewDense(2, L, nil)); err != nil {
		t.Fatal(err)
	}
}

// TestParallelTorch: PyTorch (a plain Sequential of Linear/Conv1d and ReLU built from
// weights.json) reproduces the predictions and the objective, with the path and group
// regularisers computed by the script independently.
func TestParallelTorch(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	var cases []nettest.Case
	for _, reg := range []string{network.PenaltyPath, network.PenaltyGroup} {
		m, w, _, _, _, _ := parallel3(rng, 3, 2, 4, true, reg)
		X, Y := randData(rng, 9, 3)
		cases = append(cases, nettest.Case{Model: m, Weights: w, X: X, Y: Y})
	}
	m, w := circ3Net(rng, 7, 3)
	X, Y := randData(rng, 5, 7)
	cases = append(cases, nettest.Case{Model: m, Weights: w, X: X, Y: Y})
	res, ok := nettest.TorchEvalAll(t, cases)
	if !ok {
		return
	}
	for i, c := range cases {
		yhat, err := network.Forward(c.Model, c.Weights, c.X)
		if err != nil {
			t.Fatal(err)
		}
		obj, _, _, err := network.Objective(c.Model, c.Weights, c.X, c.Y)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := yhat.Dims()
		for r := 0; r < n; r++ {
			if math.Abs(yhat.At(r, 0)-res[i].Pred.At(r, 0)) > 1e-12*math.Max(1, math.Abs(yhat.At(r, 0))) {
				t.Errorf("case %d sample %d: cnnc %v, torch %v", i, r, yhat.At(r, 0), res[i].Pred.At(r, 0))
			}
		}
		if math.Abs(obj-res[i].Objective) > 1e-12*math.Max(1, obj) {
			t.Errorf("case %d: objective cnnc %v, torch %v", i, obj, res[i].Objective)
		}
	}
}

func randData(rng *rand.Rand, n, d int) (*mat.Dense, *mat.Dense) {
	X := mat.NewDense(n, d, nil)
	Y := mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		for c := 0; c < d; c++ {
			X.Set(i, c, rng.NormFloat64())
		}
		Y.Set(i, 0, rng.NormFloat64())
	}
	return X, Y
}

func dotv(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
