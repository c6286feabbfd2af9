package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFashionTorchScriptObjective (CNNC_LONG=1; needs the Fashion-MNIST IDX files,
// NumPy and PyTorch): the PyTorch baseline of examples/fashion_multiclass.cnn,
// examples/fashion_multiclass_torch.py, measures the same thing as cnnc. A shrunk
// copy of the example (60 training and 60 test images, 8 sampled patterns) is solved
// by `cnnc solve`; the script, reading the IDX files and preprocessing them itself,
// evaluates the recovered weights.json with its own objective and agrees with
// report.json's objective (1e-9 relative) and accuracies (exactly); then it trains
// the same architecture with Adam for a few epochs (one seed) and reports a finite
// objective.
func TestFashionTorchScriptObjective(t *testing.T) {
	if os.Getenv("CNNC_LONG") == "" {
		t.Skip("CNNC_LONG=1 runs the Fashion-MNIST PyTorch script check")
	}
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
		t.Skipf("Fashion-MNIST IDX files absent: %v", err)
	}
	py := pythonOrSkip(t, "numpy", "torch")
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "fashion_multiclass.cnn"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(src), "limit   1000", "limit   60")
	s = strings.Replace(s, "patterns sample 100 seed=1", "patterns sample 8 seed=1", 1)
	if s == string(src) || strings.Count(s, "limit   60") != 2 {
		t.Fatal("examples/fashion_multiclass.cnn changed: update this test's shrinking")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "f60.cnn")
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if so, se, code := runCLI("solve", file, "-o", out, "--quiet", "--tol", "1e-3"); code != 0 && code != 3 {
		t.Fatalf("solve exit %d\n%s%s", code, so, se)
	}
	var rep struct {
		Objective float64 `json:"nonconvex_objective"`
		TrainAcc  float64 `json:"train_accuracy"`
		TestAcc   float64 `json:"test_accuracy"`
		TrainLoss float64 `json:"train_loss"`
		TestLoss  float64 `json:"test_loss"`
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("..", "..", "examples", "fashion_multiclass_torch.py")
	cmd := exec.Command(py, script, "--weights", filepath.Join(out, "weights.json"), "--n", "60", "--test", "60", "--json")
	o, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --weights: %v\n%s", script, err, o)
	}
	var ev struct {
		Objective float64 `json:"objective"`
		TrainLoss float64 `json:"train_loss"`
		TestLoss  float64 `json:"test_loss"`
		TrainAcc  float64 `json:"train_accuracy"`
		TestAcc   float64 `json:"test_accuracy"`
	}
	if err := json.Unmarshal(o, &ev); err != nil {
		t.Fatalf("%s --weights --json: %v\n%s", script, err, o)
	}
	t.Logf("cnnc: objective %.12g, train loss %.8g acc %g, test loss %.8g acc %g; script: %.12g, %.8g %g, %.8g %g",
		rep.Objective, rep.TrainLoss, rep.TrainAcc, rep.TestLoss, rep.TestAcc, ev.Objective, ev.TrainLoss, ev.TrainAcc, ev.TestLoss, ev.TestAcc)
	for _, c := range []struct {
		name      string
		cnnc, py  float64
		tolerance float64
	}{{"objective", rep.Objective, ev.Objective, 1e-9}, {"train loss", rep.TrainLoss, ev.TrainLoss, 1e-9}, {"test loss", rep.TestLoss, ev.TestLoss, 1e-9},
		{"train accuracy", rep.TrainAcc, ev.TrainAcc, 0}, {"test accuracy", rep.TestAcc, ev.TestAcc, 0}} {
		if !(math.Abs(c.cnnc-c.py) <= c.tolerance*math.Abs(c.cnnc)) {
			t.Errorf("%s: cnnc %.12g, the PyTorch script %.12g", c.name, c.cnnc, c.py)
		}
	}
	cmd = exec.Command(py, script, "--width", "3", "--n", "60", "--test", "60", "--epochs", "20", "--seeds", "1", "--json")
	o, err = cmd.Output()
	if err != nil {
		t.Fatalf("%s --width 3: %v\n%s", script, err, o)
	}
	var tr struct {
		Best struct {
			Objective float64 `json:"objective"`
		} `json:"best"`
	}
	if err := json.Unmarshal(o, &tr); err != nil || math.IsNaN(tr.Best.Objective) || tr.Best.Objective <= 0 {
		t.Errorf("training run: %v, objective %v\n%s", err, tr.Best.Objective, o)
	}
}
