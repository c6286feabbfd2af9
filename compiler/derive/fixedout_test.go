package derive

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/syntax"
)

// srcInput checks a .cnn source and loads its training data for the trained model.
func srcInput(t *testing.T, src string) *Input {
	t.Helper()
	sf, dl := syntax.Parse("t.cnn", []byte(src))
	f, cl := check.Check(sf, check.Options{Dir: "."})
	dl = append(dl, cl...)
	if dl.HasErrors() {
		t.Fatalf("check: %v", dl)
	}
	ds, _, ll := dataset.LoadFor(f.Data["train"], f.Trained, nil)
	if ll.HasErrors() {
		t.Fatalf("data: %v", ll)
	}
	return &Input{File: f, Model: f.Trained, Data: ds, Train: f.Train}
}

func fixedSrc(layers, data, train string) string {
	return "model m {\n" + layers + "}\ndata train {\n    " + data + "\n}\ntrain {\n" + train + "}\n"
}

const fixed1D = "    input 1x40\n    conv 10 stride=10 filters=1\n    relu\n    avgpool global\n    linear 1 fixed=1\n"

func wantDiag(t *testing.T, dl diag.List, code string, fragments ...string) {
	t.Helper()
	for _, d := range dl {
		if d.Code != code {
			continue
		}
		text := d.Summary + " " + d.Detail
		for _, f := range fragments {
			if !strings.Contains(text, f) {
				t.Errorf("%s: %q lacks %q", code, text, f)
			}
		}
		return
	}
	t.Errorf("no %s diagnostic in %v", code, dl)
}

// The rule table sends `linear 1 fixed=…` models to fixed-out and plain `linear 1`
// models to the CNN rules; the output weights c_k follow the pooling.
func TestFixedOutMatchAndWeights(t *testing.T) {
	cases := []struct {
		layers string
		rule   string
		c      []float64
	}{
		{fixed1D, "fixed-out", []float64{0.25, 0.25, 0.25, 0.25}},
		{"    input 1x40\n    conv 10 stride=10 filters=1\n    relu\n    linear 1 fixed=2\n", "fixed-out", []float64{2, 2, 2, 2}},
		{"    input 1x40\n    conv 10 stride=10 filters=1\n    relu\n    flatten\n    linear 1 fixed=2\n", "fixed-out", []float64{2, 2, 2, 2}},
		// windows {0,1} and {2,3} of 5 positions (stride 2 on 12 − 3 + 1 … = 5): c = (½,½,½,½,0)·3
		{"    input 1x12\n    conv 4 stride=2 filters=1\n    relu\n    avgpool 2\n    linear 1 fixed=3\n", "fixed-out", []float64{1.5, 1.5, 1.5, 1.5, 0}},
		// 2-D: 3×3 kernel stride 3 on 1×6×6 → 2×2 positions
		{"    input 1x6x6\n    conv 3x3 stride=3 filters=1\n    relu\n    avgpool global\n    linear 1 fixed=1\n", "fixed-out", []float64{0.25, 0.25, 0.25, 0.25}},
		{"    input 1x40\n    conv 10 stride=10\n    relu\n    avgpool global\n    linear 1\n", "cnn-gap", nil},
	}
	for _, c := range cases {
		in := srcInput(t, fixedSrc(c.layers, "synthetic planted n=30 seed=1", ""))
		rule, prog, dl := Derive(in)
		if dl.HasErrors() || rule == nil {
			t.Fatalf("%q: %v", c.layers, dl)
		}
		if rule.Name != c.rule {
			t.Errorf("%q: rule %s, want %s", c.layers, rule.Name, c.rule)
			continue
		}
		if c.c == nil {
			continue
		}
		got := prog.Anchored.C
		if len(got) != len(c.c) {
			t.Fatalf("%q: c = %v, want %v", c.layers, got, c.c)
		}
		for k := range got {
			if math.Abs(got[k]-c.c[k]) > 1e-15 {
				t.Errorf("%q: c = %v, want %v", c.layers, got, c.c)
				break
			}
		}
		// the planted data use the same weights: the hidden filter fits exactly
		f := prog.Anchored.F(in.Data.Teacher.Filter, prog.N)
		for i, v := range f {
			if math.Abs(v-prog.Y[i]) > 1e-12 {
				t.Fatalf("%q: f_%d(w*) = %g, y = %g", c.layers, i, v, prog.Y[i])
			}
		}
	}
}

// Refusals: negative output weights (with the reason), zero weights, several
// filters, a non-squared loss, negative targets without a budget, an output bias.
func TestFixedOutRefusals(t *testing.T) {
	negModel := strings.Replace(fixed1D, "fixed=1", "fixed=-1", 1)
	in := srcInput(t, fixedSrc(negModel, "synthetic planted n=20 seed=1", ""))
	_, _, dl := Derive(in)
	wantDiag(t, dl, CodeFixedSign, "negative", "convex", "concave")

	in = srcInput(t, fixedSrc(strings.Replace(fixed1D, "fixed=1", "fixed=0", 1), "synthetic planted n=20 seed=1", ""))
	_, _, dl = Derive(in)
	wantDiag(t, dl, CodeFixedSign, "all 0")

	in = srcInput(t, fixedSrc(strings.Replace(fixed1D, "filters=1", "filters=2", 1), "synthetic planted n=20 seed=1", ""))
	_, _, dl = Derive(in)
	wantDiag(t, dl, CodeFixedFilters, "filters=2", "one")

	in = srcInput(t, fixedSrc(fixed1D, "synthetic planted n=20 seed=1", "    loss hinge\n"))
	in.Data = plantedSigns(t, in)
	_, _, dl = Derive(in)
	wantDiag(t, dl, CodeLoss, "hinge")

	in = srcInput(t, fixedSrc(strings.Replace(fixed1D, "fixed=1", "fixed=1 bias=true", 1), "synthetic planted n=20 seed=1", ""))
	_, _, dl = Derive(in)
	wantDiag(t, dl, CodeFixedSign, "bias")

	// noise=0.5 makes some targets negative: infeasible at ε = 0, fine with a budget
	in = srcInput(t, fixedSrc(fixed1D, "synthetic planted n=40 seed=1 noise=0.5", ""))
	_, _, dl = Derive(in)
	wantDiag(t, dl, CodeFixedInfeas, "negative targets")
	in = srcInput(t, fixedSrc(fixed1D, "synthetic planted n=40 seed=1 noise=0.5", "    noise sigma=0.5\n"))
	if _, prog, dl := Derive(in); dl.HasErrors() || math.Abs(prog.Anchored.Eps-0.5*math.Sqrt(40)) > 1e-12 {
		t.Errorf("with noise sigma=0.5: %v, ε = %v", dl, prog)
	}
	in = srcInput(t, fixedSrc(fixed1D, "synthetic planted n=40 seed=1 noise=0.5", "    noise 3\n"))
	if _, prog, dl := Derive(in); dl.HasErrors() || prog.Anchored.Eps != 3 {
		t.Errorf("with noise 3: %v", dl)
	}
	// a noise budget on another rule is a warning
	in = srcInput(t, fixedSrc("    input 1x40\n    conv 10 stride=10\n    relu\n    avgpool global\n    linear 1\n", "synthetic planted n=20 seed=1", "    noise 0.1\n"))
	_, _, dl = Derive(in)
	wantDiag(t, dl, CodeNoiseUnused, "noise", "cnn-gap")
}

// plantedSigns turns the targets into ±1 labels (for the loss refusal only).
func plantedSigns(t *testing.T, in *Input) *dataset.Dataset {
	t.Helper()
	d := *in.Data
	n := d.N()
	Y := mat.NewDense(n, 1, nil)
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			Y.Set(i, 0, 1)
		} else {
			Y.Set(i, 0, -1)
		}
	}
	d.Y = Y
	return &d
}

// The program's data: patches position-major (row k·n + i = x_ik, by direct index
// arithmetic on the signals), the anchor = least squares on [Σ_k c_k x_ik, 1]
// solved independently by the normal equations, ε = 0.
func TestFixedOutProgram(t *testing.T) {
	in := srcInput(t, fixedSrc(strings.Replace(fixed1D, "stride=10", "stride=5 padding=2", 1), "synthetic planted n=30 seed=4", ""))
	_, prog, dl := Derive(in)
	if dl.HasErrors() {
		t.Fatal(dl)
	}
	a := prog.Anchored
	n := prog.N
	// (40 + 4 − 10)/5 + 1 = 7 positions; position k reads signal index 5k − 2 + j
	if a.K != 7 || a.H != 10 || a.Eps != 0 {
		t.Fatalf("K=%d H=%d ε=%g", a.K, a.H, a.Eps)
	}
	for k := 0; k < a.K; k++ {
		for i := 0; i < n; i++ {
			for j := 0; j < 10; j++ {
				want := 0.0
				if q := 5*k - 2 + j; q >= 0 && q < 40 {
					want = in.Data.X.At(i, q)
				}
				if a.X.At(k*n+i, j) != want {
					t.Fatalf("x_{%d,%d}[%d] = %g, want %g", i, k, j, a.X.At(k*n+i, j), want)
				}
			}
		}
	}
	// normal equations of [Z, 1]
	Z := mat.NewDense(n, 11, nil)
	for i := 0; i < n; i++ {
		for k := 0; k < a.K; k++ {
			for j := 0; j < 10; j++ {
				Z.Set(i, j, Z.At(i, j)+a.C[k]*a.X.At(k*n+i, j))
			}
		}
		Z.Set(i, 10, 1)
	}
	var G mat.Dense
	G.Mul(Z.T(), Z)
	var r mat.VecDense
	r.MulVec(Z.T(), mat.NewVecDense(n, prog.Y))
	var b mat.VecDense
	if err := b.SolveVec(&G, &r); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 10; j++ {
		if math.Abs(b.AtVec(j)-a.Anchor[j]) > 1e-9*(1+math.Abs(b.AtVec(j))) {
			t.Errorf("anchor[%d] = %.12g, normal equations %.12g", j, a.Anchor[j], b.AtVec(j))
		}
	}
}

// Recovery writes a network whose forward pass (compiler/network, an independent
// implementation of the convolution) gives f_i(w) of the program for any filter,
// 1-D with padding and 2-D with a bias.
func TestFixedOutRecoveryForward(t *testing.T) {
	for _, layers := range []string{
		strings.Replace(fixed1D, "stride=10", "stride=5 padding=2", 1),
		"    input 2x6x7\n    conv 3x2 stride=2x1 padding=1 filters=1 bias=true\n    relu\n    avgpool 2x2\n    linear 1 fixed=0.5\n",
		"    input 1x9\n    circconv 3 filters=1\n    relu\n    avgpool global\n    linear 1 fixed=1\n",
	} {
		in := srcInput(t, fixedSrc(layers, "synthetic planted n=12 seed=2", ""))
		rule, prog, dl := Derive(in)
		if dl.HasErrors() {
			t.Fatalf("%q: %v", layers, dl)
		}
		w := make([]float64, prog.Anchored.H)
		for j := range w {
			w[j] = math.Sin(float64(3*j + 1))
		}
		sol := &convex.Solution{Vars: map[string][]float64{convex.AnchoredW: w}}
		wt, err := rule.Recover(in, prog, sol)
		if err != nil {
			t.Fatalf("%q: %v", layers, err)
		}
		yhat, err := network.Forward(in.Model, wt, in.Data.X)
		if err != nil {
			t.Fatal(err)
		}
		f := prog.Anchored.F(w, prog.N)
		for i := range f {
			if math.Abs(yhat.At(i, 0)-f[i]) > 1e-12*(1+math.Abs(f[i])) {
				t.Fatalf("%q: network output %g, program f_%d = %g", layers, yhat.At(i, 0), i, f[i])
			}
		}
		_, _, pen, err := network.Objective(in.Model, wt, in.Data.X, in.Data.Y)
		if err != nil || pen != 0 {
			t.Errorf("%q: penalty %g (err %v), want 0: the fixed-output network has no weight decay", layers, pen, err)
		}
	}
}
