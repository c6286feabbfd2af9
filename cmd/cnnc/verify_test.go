package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// solveTiny solves tinyFC (with the given loss) into a fresh folder and returns the
// file, the folder and report.json.
func solveTiny(t *testing.T, loss string) (string, string, map[string]any) {
	t.Helper()
	src := tinyFC
	if loss != "" {
		src = strings.Replace(src, "train {\n", "train {\n    loss     "+loss+"\n", 1)
		src = strings.Replace(src, "synthetic spiral n=12 seed=3 noise=0.1", "synthetic spiral n=12 seed=3 noise=0.1\n    classes -1 1", 1)
	}
	file := writeTemp(t, "tiny.cnn", src)
	dir := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := runCLI("solve", file, "-o", dir, "--quiet")
	if code != exitOK {
		t.Fatalf("solve (%s) exit %d\nstdout:\n%s\nstderr:\n%s", loss, code, stdout, stderr)
	}
	return file, dir, readReport(t, filepath.Join(dir, "report.json"))
}

// TestReportCertificate: report.json carries the certificate behind dual_objective —
// its dual point (one entry per sample), ρ, θ and the bound, a global scope for exact
// patterns — and the bound it states is dual_objective, below the convex optimum.
func TestReportCertificate(t *testing.T) {
	_, _, r := solveTiny(t, "")
	c, ok := r["certificate"].(map[string]any)
	if !ok {
		t.Fatalf("report.json has no certificate object: %v", r["certificate"])
	}
	if c["scope"] != "global" || c["source"] == nil {
		t.Errorf("certificate scope %v source %v, want global", c["scope"], c["source"])
	}
	lam, _ := c["lambda"].([]any)
	if len(lam) != int(number(t, r, "samples")) {
		t.Errorf("certificate λ has %d entries for %v samples", len(lam), r["samples"])
	}
	if b, d := number(t, c, "bound"), number(t, r, "dual_objective"); b != d || d > number(t, r, "convex_objective") {
		t.Errorf("certificate bound %v, dual_objective %v, convex %v", b, d, r["convex_objective"])
	}
	if rho := number(t, c, "rho"); !(rho > 0.99 && rho < 1+1e-5) {
		t.Errorf("certificate ρ = %v at an optimal solve", rho)
	}
	if !strings.HasPrefix(r["dual_scope"].(string), "global") {
		t.Errorf("dual_scope %q", r["dual_scope"])
	}
}

// TestVerifyTampered: weights whose objective is not certified fail verify with a
// nonzero exit code and a diagnostic — exit 1 when report.json is beside them (the
// objective disagrees), exit 3 when it is not (the certificate at the weights' own
// prediction does not reach the tolerance); the untouched weights pass both ways when
// the report is there.
func TestVerifyTampered(t *testing.T) {
	file, dir, _ := solveTiny(t, "")
	weights := filepath.Join(dir, "weights.json")
	if so, se, code := runCLI("verify", file, "--weights", weights); code != exitOK || !strings.Contains(so, "certified") {
		t.Fatalf("verify of the solve's own weights: exit %d\n%s%s", code, so, se)
	}
	// tamper: scale every output weight by 1.01
	var w map[string]any
	b, _ := os.ReadFile(weights)
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	for _, tt := range w["tensors"].([]any) {
		tm := tt.(map[string]any)
		if tm["name"] == "L3.weight" {
			for i, v := range tm["data"].([]any) {
				tm["data"].([]any)[i] = v.(float64) * 1.01
			}
		}
	}
	out, _ := json.Marshal(w)
	with := filepath.Join(dir, "tampered.json")
	os.WriteFile(with, out, 0o644)
	so, se, code := runCLI("verify", file, "--weights", with)
	if code != exitError || !strings.Contains(se, "not the ones the report describes") {
		t.Errorf("tampered weights beside report.json: exit %d (want %d)\n%s%s", code, exitError, so, se)
	}
	alone := filepath.Join(t.TempDir(), "weights.json")
	os.WriteFile(alone, out, 0o644)
	so, se, code = runCLI("verify", file, "--weights", alone)
	if code != exitNotSolved || !strings.Contains(se, "not certified") {
		t.Errorf("tampered weights without report.json: exit %d (want %d)\n%s%s", code, exitNotSolved, so, se)
	}
}

// TestVerifyAgreesWithSolveQuickstart: on the README's first example, solve reports a
// global certified bound and verify, recomputing ρ and the bound from the dual point
// in report.json, certifies the same weights (exit 0) and reproduces the bound; the
// check at the weights' own prediction is printed and labelled as such.
func TestVerifyAgreesWithSolveQuickstart(t *testing.T) {
	file := filepath.Join("..", "..", "examples", "quickstart.cnn")
	dir := filepath.Join(t.TempDir(), "out")
	so, se, code := runCLI("solve", file, "-o", dir, "--quiet")
	if code != exitOK {
		t.Fatalf("solve exit %d\n%s%s", code, so, se)
	}
	r := readReport(t, filepath.Join(dir, "report.json"))
	so, se, code = runCLI("verify", file, "--weights", filepath.Join(dir, "weights.json"))
	if code != exitOK {
		t.Fatalf("verify exit %d\n%s%s", code, so, se)
	}
	for _, want := range []string{"stored dual point:", "own prediction:", "verdict:             certified", "a global certificate"} {
		if !strings.Contains(so, want) {
			t.Errorf("verify output lacks %q:\n%s", want, so)
		}
	}
	c := r["certificate"].(map[string]any)
	if !strings.Contains(so, fmt.Sprintf("(report: %.9f)", number(t, c, "rho"))) {
		t.Errorf("verify does not reproduce the report's ρ %v:\n%s", c["rho"], so)
	}
	if math.IsNaN(number(t, r, "dual_objective")) {
		t.Error("no certified bound")
	}
}
