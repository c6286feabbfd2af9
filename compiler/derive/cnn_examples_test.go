package derive

import (
	"math"
	"os"
	"testing"

	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
)

// loadExample checks an example file and loads its training data into an Input.
func loadExample(t *testing.T, path string) *Input {
	t.Helper()
	f, ds, _ := check.LoadFile(path, check.Options{})
	if ds.HasErrors() {
		t.Fatalf("%s: %v", path, ds)
	}
	m := f.Trained
	data, _, dl := dataset.Load(f.Data["train"], m.Input(), nil)
	if dl.HasErrors() {
		t.Fatalf("%s: %v", path, dl)
	}
	return &Input{File: f, Model: m, Data: data, Train: f.Train}
}

// TestExampleCircularSignal: the targets of examples/circular_signal.cnn are a
// linear filter with energy at frequencies 1 and 3 only, so the Fourier-ℓ1 program
// recovers a sparse spectrum: at most the two frequency pairs are active (two
// filters), and the recovered network's objective equals the convex optimum.
func TestExampleCircularSignal(t *testing.T) {
	in := loadExample(t, "../../examples/circular_signal.cnn")
	rule, prog, ds := Derive(in)
	if ds.HasErrors() || rule.Name != "linear-circ" {
		t.Fatalf("rule %v: %v", rule, ds)
	}
	sol, p := solveCVXOPT(t, prog)
	rec, w := recoveredObjective(t, rule, in, prog, sol)
	if math.Abs(rec-p) > 1e-6*p {
		t.Fatalf("recovered %.10g, convex %.10g", rec, p)
	}
	z := sol.Vars["zeta"]
	d := len(z) / 2
	var active []int
	for k := 0; k < d; k++ {
		if math.Hypot(z[k], z[d+k]) > 1e-6 {
			active = append(active, k)
		}
	}
	width := w.Layers[1].Out
	t.Logf("p = %.6f, active frequencies %v, filters %d", p, active, width)
	for _, k := range active {
		if k != 1 && k != 3 && k != d-1 && k != d-3 {
			t.Fatalf("frequency %d is active; the planted filter has only 1 and 3 (active %v)", k, active)
		}
	}
	if width > 2 {
		t.Fatalf("%d filters, want ≤ 2 (one per active frequency pair)", width)
	}
}

// TestExampleFashionMaxpool builds the program of examples/fashion_maxpool.cnn (when
// the Fashion-MNIST files are installed) and checks its sizes: 16 positions, one
// global window, C = [M; differences] with n·16 + n·C(16,2) rows.
func TestExampleFashionMaxpool(t *testing.T) {
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
		t.Skip("Fashion-MNIST not installed under /usr/share/datasets/fashion-mnist")
	}
	in := loadExample(t, "../../examples/fashion_maxpool.cnn")
	rule, prog, ds := Derive(in)
	if ds.HasErrors() || rule.Name != "cnn-maxpool" {
		t.Fatalf("rule %v: %v", rule, ds)
	}
	f := prog.Families[0]
	n := in.Data.N()
	if r, _ := f.C.Dims(); r != n*16+n*120 {
		t.Fatalf("C has %d rows, want %d", r, n*16+n*120)
	}
	if f.Patterns() < 2 {
		t.Fatalf("%d max-patterns", f.Patterns())
	}
	t.Logf("n = %d, %d max-patterns", n, f.Patterns())
}
