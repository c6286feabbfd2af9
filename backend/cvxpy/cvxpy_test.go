package cvxpy

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/convex"
	"gonum.org/v1/gonum/mat"
)

// tinyProgram is a two-pattern FC ReLU program (formulations.md §2) built by hand.
func tinyProgram() *convex.Program {
	X := mat.NewDense(3, 2, []float64{1, 1, -1, 1, 0.5, 1})
	D := mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 1})
	S := mat.NewDense(3, 2, []float64{1, -1, -1, 1, 1, 1})
	return &convex.Program{
		Model: "tiny", Theorem: "two-layer ReLU", Section: "§2", Loss: "squared",
		Y: []float64{1, -1, 0.5}, N: 3, Beta: 0.1,
		Families: []*convex.Family{{
			Name: "relu", Layer: 1, H: 2, A: X, Sample: []int{0, 1, 2}, Weight: convex.MustDenseWeights(D), C: X, Sign: convex.MustDenseSigns(S),
			Signs: []float64{1, -1},
		}},
	}
}

func python(t *testing.T, modules ...string) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("/usr/bin/python3 not found (apt-get install -y python3)")
	}
	for _, m := range modules {
		if err := exec.Command(py, "-c", "import "+m).Run(); err != nil {
			t.Skipf("python module %s not importable (Debian: apt-get install -y python3-%s)", m, m)
		}
	}
	return py
}

func TestNPZReadByNumPy(t *testing.T) {
	py := python(t, "numpy")
	dir := t.TempDir()
	var buf bytes.Buffer
	arrays := map[string]Array{
		"m": {Shape: []int{2, 3}, Data: []float64{1, 2, 3, 4, 5, math.Pi}},
		"s": {Shape: []int{}, Data: []float64{-0.5}},
		"v": {Shape: []int{4}, Data: []float64{1e-300, -2, 3e200, 0}},
	}
	if err := WriteNPZ(&buf, arrays); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a.npz")
	os.WriteFile(path, buf.Bytes(), 0o644)
	out, err := exec.Command(py, "-c", `
import numpy as np, sys
d = np.load(sys.argv[1])
print(d["m"].shape, repr(d["m"][1, 2]), d["s"].shape, float(d["s"]), d["v"].tolist())
`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy could not read the npz: %v\n%s", err, out)
	}
	want := "(2, 3) 3.141592653589793 () -0.5 [1e-300, -2.0, 3e+200, 0.0]"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("numpy read %q, want %q", got, want)
	}
}

func TestScriptIsValidPython(t *testing.T) {
	py := python(t)
	var script, data bytes.Buffer
	r := &Recipe{Model: "tiny", Beta: 0.1, Loss: "squared", Hidden: 1, HiddenShape: []int{1}, HiddenBias: true, Output: 3, Slots: 1, OutputPenalty: "l2",
		Layers: []map[string]any{{"index": 0, "type": "input"}, {"index": 1, "type": "linear"}, {"index": 2, "type": "relu"}, {"index": 3, "type": "linear"}}}
	if err := Write(&script, &data, "tiny.npz", tinyProgram(), r); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.py")
	os.WriteFile(path, script.Bytes(), 0o644)
	if out, err := exec.Command(py, "-m", "py_compile", path).CombinedOutput(); err != nil {
		t.Fatalf("script does not compile: %v\n%s\n%s", err, out, script.String())
	}
	for _, want := range []string{"cp.norm(v, 2, axis=1)", "cp.sum_squares(yhat - y)", ">= 0"} {
		if !strings.Contains(script.String(), want) {
			t.Errorf("script lacks %q", want)
		}
	}
}
