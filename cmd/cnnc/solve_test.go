package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/network/nettest"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
)

// tinyFC is a two-layer ReLU problem small enough to enumerate every pattern.
const tinyFC = `model net {
    input  2
    linear auto bias=true
    relu
    linear 1
}

data train {
    synthetic spiral n=12 seed=3 noise=0.1
}

train {
    beta     0.01
    patterns exact
}
`

func readReport(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

func number(t *testing.T, r map[string]any, key string) float64 {
	t.Helper()
	v, ok := r[key].(float64)
	if !ok {
		t.Fatalf("report field %s = %v, want a number", key, r[key])
	}
	return v
}

// TestSolveVerifyPredict runs the three verbs on one problem and checks the
// headline invariant (the recovered network's objective, computed from its weights,
// equals the convex optimum), the certificate (dual ≤ convex), that verify agrees with
// the report, and — where PyTorch is installed — that a torch.nn.Sequential built from
// weights.json reproduces predictions and objective.
func TestSolveVerifyPredict(t *testing.T) {
	file := writeTemp(t, "tiny.cnn", tinyFC)
	dir := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := runCLI("solve", file, "-o", dir, "--quiet")
	if code != exitOK {
		t.Fatalf("solve exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	r := readReport(t, filepath.Join(dir, "report.json"))
	for _, k := range []string{"format", "model", "theorem", "status", "samples", "patterns", "variables", "constraints",
		"convex_objective", "dual_objective", "nonconvex_objective", "active_neurons", "iterations", "solve_seconds",
		"train_loss", "train_accuracy", "test_loss", "test_accuracy"} {
		if _, ok := r[k]; !ok {
			t.Errorf("report.json lacks %q", k)
		}
	}
	if r["format"] != "cnnc-report/1" || r["status"] != "optimal" {
		t.Fatalf("format %v status %v", r["format"], r["status"])
	}
	cvx, ncv, dual := number(t, r, "convex_objective"), number(t, r, "nonconvex_objective"), number(t, r, "dual_objective")
	if rel := math.Abs(cvx-ncv) / math.Max(1, math.Abs(cvx)); rel > 1e-6 {
		t.Errorf("strong duality: convex %.12g, recovered network %.12g (relative %.2e)", cvx, ncv, rel)
	}
	if dual > cvx+1e-9 || cvx-dual > 1e-6*math.Max(1, cvx) {
		t.Errorf("certified gap: dual %.12g, convex %.12g", dual, cvx)
	}
	if number(t, r, "active_neurons") > number(t, r, "samples")+1 {
		t.Errorf("active neurons %v exceed n+1 (the optimum is sparse)", r["active_neurons"])
	}

	weights := filepath.Join(dir, "weights.json")
	stdout, stderr, code = runCLI("verify", file, "--weights", weights)
	if code != exitOK || !strings.Contains(stdout, "agrees") {
		t.Fatalf("verify exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, _, code = runCLI("predict", file, "--weights", weights)
	if code != exitOK {
		t.Fatalf("predict exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 14 || lines[0] != "# index\tlabel\toutput" || !strings.HasPrefix(lines[13], "# train set: 12 samples") {
		t.Fatalf("predict printed %d lines, last %q", len(lines), lines[len(lines)-1])
	}

	// PyTorch reference, built from weights.json alone.
	f, dl, _ := check.LoadFile(file, check.Options{})
	if dl.HasErrors() {
		t.Fatal(dl)
	}
	ds, _, dl := dataset.Load(f.Data["train"], f.Trained.Input(), nil)
	if dl.HasErrors() {
		t.Fatal(dl)
	}
	w, err := network.ReadFile(weights)
	if err != nil {
		t.Fatal(err)
	}
	pred, obj, ok := nettest.TorchEval(t, f.Trained, w, ds.X, ds.Y)
	if !ok {
		return
	}
	mine, err := network.Forward(f.Trained, w, ds.X)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < ds.N(); i++ {
		if d := math.Abs(pred.At(i, 0) - mine.At(i, 0)); d > 1e-9 {
			t.Errorf("sample %d: torch %.12g, cnnc %.12g", i, pred.At(i, 0), mine.At(i, 0))
		}
	}
	if rel := math.Abs(obj-ncv) / math.Max(1, ncv); rel > 1e-8 {
		t.Errorf("torch objective %.12g, report %.12g", obj, ncv)
	}
}

// TestSolveAllEqualTargets: regression targets that are all equal are a degenerate
// but well-posed problem: a warning says so, and the solve still runs.
func TestSolveAllEqualTargets(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "same.csv"), []byte("1,2,1\n3,1,1\n-1,0,1\n2,2,1\n"), 0o644)
	file := filepath.Join(dir, "same.cnn")
	os.WriteFile(file, []byte("model net {\n    input 2\n    linear auto\n    relu\n    linear 1\n}\ndata train {\n    csv \"same.csv\"\n}\ntrain {\n    patterns exact\n}\n"), 0o644)
	_, stderr, code := runCLI("solve", file, "-o", filepath.Join(dir, "out"), "--quiet")
	if code == exitError || code == exitUsage {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "warning[W0101]") {
		t.Errorf("no all-equal warning:\n%s", stderr)
	}
}

// TestSolveBadInput: each bad input is one clear diagnostic, exit 1, no panic, and
// no output folder.
func TestSolveBadInput(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "empty.csv"), []byte("x1,x2,y\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "same.csv"), []byte("1,2,1\n3,1,1\n-1,0,1\n2,2,1\n"), 0o644)
	model := "model net {\n    input 2\n    linear auto\n    relu\n    linear 1\n}\n"
	cases := []struct{ name, src, code string }{
		{"empty", model + "data train {\n    csv \"empty.csv\" header=true\n}\n", "F0102"},
		{"one-class", model + "data train {\n    csv \"same.csv\"\n    classes 0 1\n}\n", "F01"},
		{"beta-zero", model + "data train {\n    synthetic spiral n=10\n}\ntrain {\n    beta 0\n}\n", "C"},
		{"beta-negative", model + "data train {\n    synthetic spiral n=10\n}\ntrain {\n    beta -1\n}\n", "C"},
		{"rank-too-large", "model net {\n    input 8\n    linear auto\n    relu\n    linear 1\n}\ndata train {\n    synthetic planted n=60 seed=1\n}\ntrain {\n    patterns exact max=1000\n}\n", "F0205"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, c.name+".cnn")
			os.WriteFile(file, []byte(c.src), 0o644)
			out := filepath.Join(dir, c.name+".out")
			stdout, stderr, code := runCLI("solve", file, "-o", out, "--quiet")
			if code != exitError {
				t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, "error["+c.code) {
				t.Errorf("stderr lacks error[%s…]:\n%s", c.code, stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created despite the error", out)
			}
		})
	}
}
