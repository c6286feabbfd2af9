package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/compiler/network"
)

// `cnnc solve` on examples/fixed_out.cnn (§11): the report certifies a locally unique
// global minimum, records the hidden filter and its distance to the recovered one,
// planted.json is the hidden network (zero loss, and equal to the recovered one to
// that distance), and `cnnc verify` recomputes the certificate from either file.
func TestSolveFixedOut(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := runCLI("solve", "../../examples/fixed_out.cnn", "-o", dir, "--json", "-q")
	if code != 0 {
		t.Fatalf("solve: exit %d\n%s\n%s", code, out, errs)
	}
	var rep struct {
		Status   string
		ZeroLoss *struct {
			Certified, Unique bool
			MaxResidual       float64 `json:"max_abs_residual"`
		} `json:"zero_loss"`
		Planted *struct {
			Filter      []float64
			FilterError float64 `json:"filter_error"`
			File        string
		}
		NonconvexObjective float64 `json:"nonconvex_objective"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if rep.Status != "optimal" || rep.ZeroLoss == nil || !rep.ZeroLoss.Certified || !rep.ZeroLoss.Unique || rep.ZeroLoss.MaxResidual > 1e-10 {
		t.Fatalf("report: status %s, zero_loss %+v", rep.Status, rep.ZeroLoss)
	}
	if rep.Planted == nil || len(rep.Planted.Filter) != 10 || rep.Planted.FilterError > 1e-10 || rep.Planted.File != "planted.json" {
		t.Fatalf("planted: %+v", rep.Planted)
	}
	w, err := network.ReadFile(filepath.Join(dir, "weights.json"))
	if err != nil {
		t.Fatal(err)
	}
	hidden, err := network.ReadFile(filepath.Join(dir, "planted.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := w.Tensor("L1.weight"), hidden.Tensor("L1.weight")
	if a == nil || b == nil || len(a.Data) != 10 || len(b.Data) != 10 {
		t.Fatalf("conv weights: %v, %v", a, b)
	}
	d := 0.0
	for j := range a.Data {
		d = math.Hypot(d, a.Data[j]-b.Data[j])
		if b.Data[j] != rep.Planted.Filter[j] {
			t.Fatalf("planted.json filter differs from the report's at %d", j)
		}
	}
	if math.Abs(d-rep.Planted.FilterError) > 1e-15 {
		t.Errorf("‖ŵ − w*‖ from the files %.3e, report %.3e", d, rep.Planted.FilterError)
	}
	for _, f := range []string{"weights.json", "planted.json"} {
		out, errs, code := runCLI("verify", "../../examples/fixed_out.cnn", "--weights", filepath.Join(dir, f), "--report", filepath.Join(dir, "report.json"))
		if code != 0 || !strings.Contains(out, "GLOBAL MINIMUM (zero training loss), locally unique") {
			t.Errorf("verify %s: exit %d\n%s\n%s", f, code, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
		t.Error(err)
	}
}
