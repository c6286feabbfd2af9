package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/train"
)

// vectorTooLarge reports whether p's model matches a vector rule whose conic
// relaxation is too large to build (the export refuses it with a diagnostic).
func vectorTooLarge(p *prepared) bool {
	rule, _ := derive.Select(p.Input())
	if rule == nil || rule.Vector == nil {
		return false
	}
	vp, dl := rule.Vector.Build(p.Input())
	if dl.HasErrors() || vp == nil {
		return false
	}
	return float64(vp.Patterns())*float64(vp.N*vp.C)*float64(vp.H*vp.C) > convex.MaxRelaxEntries
}

// vectorExportChecks replaces the solver checks of the export round trip for a
// vector-output example (the export is a relaxation, not the training problem): the
// native conic solver and CVXOPT (SCS and JSON files read back; no exponential
// cones) agree on the relaxation's optimum to 1e-6, and with exact patterns or a
// gated model that optimum is at most the upper bound of `cnnc solve`'s bracket (a
// relaxation bounds the training problem over the same patterns from below; for a
// gated model it is that problem, so the two agree to the bracket's gap).
func vectorExportChecks(t *testing.T, p *prepared, want, fromSCS, fromJSON *conic.Problem) {
	t.Helper()
	if want.Cones.EP+want.Cones.ED > 0 && os.Getenv("CNNC_LONG") == "" {
		// cross-entropy: exponential cones take the first-order conic method (minutes
		// even on the shrunk Fashion copy); the read-back checks above still ran
		t.Logf("%s: exponential cones: the solver checks run with CNNC_LONG=1", p.Model.Name)
		return
	}
	nat, err := train.NativeConic(want, train.SolverSettings{Tol: 1e-7}, solver.Nop{})
	if err != nil {
		t.Fatalf("native conic solve of the relaxation: %v", err)
	}
	if nat.Status != solver.Optimal {
		t.Fatalf("native conic solve of the relaxation: status %s", nat.Status)
	}
	out, err := train.Run(p.Input(), train.Options{Settings: train.SolverSettings{Tol: 1e-6}})
	if err != nil {
		t.Fatalf("cnnc solve pipeline: %v", err)
	}
	v := out.Vector
	t.Logf("%s: relaxation optimum %.10g (native conic, %d iterations); bracket [%.10g, %.10g]", p.Model.Name, nat.Primal, nat.Iterations, v.Lower, v.Upper)
	// With exact patterns (or a gated model) the relaxation bounds every network, the
	// recovered one included; over sampled patterns it bounds only networks whose
	// patterns are in the sample, which the recovered one need not be.
	if v.Global && nat.Primal > v.Upper*(1+1e-6) {
		t.Errorf("the relaxation's optimum %.12g exceeds the recovered network's objective %.12g", nat.Primal, v.Upper)
	}
	if v.Program.Gated && relDiff(nat.Primal, v.Upper) > 1e-5 {
		t.Errorf("gated model: the exported program (exact) has optimum %.12g, the bracket's upper bound is %.12g", nat.Primal, v.Upper)
	}
	if want.Cones.EP+want.Cones.ED > 0 {
		t.Logf("%s: exponential cones (cross-entropy): CVXOPT check skipped (CVXOPT has no exponential cone)", p.Model.Name)
		return
	}
	if err := conictest.Available(); err != nil {
		t.Logf("CVXOPT checks skipped: %v", err)
		return
	}
	files := map[string]*conic.Problem{"SCS": fromSCS, "JSON": fromJSON}
	if conictest.Diff(fromSCS, fromJSON, false) == "" {
		// the same problem bit for bit: one CVXOPT solve covers both (minutes under load)
		files = map[string]*conic.Problem{"SCS (and the identical JSON)": fromSCS}
	}
	for name, q := range files {
		r, _ := conictest.SolveCVXOPT(t, q)
		if r.Status != "optimal" {
			t.Errorf("CVXOPT on the %s file: status %s (%s)", name, r.Status, r.Message)
			continue
		}
		if relDiff(r.Objective, nat.Primal) > agreeRelative {
			t.Errorf("CVXOPT on the %s file: %.12g, native conic %.12g", name, r.Objective, nat.Primal)
		}
	}
}

const vectorCNN = `model net3 {
    input  2
    linear auto bias=true
    relu
    linear 3 bias=true
}

data train {
    csv     "%s" label=last header=true
    classes 2 0 1
}

train {
    loss     squared
    beta     0.05
    patterns exact
}
`

// TestVectorCLI: a three-class file (classes listed as 2 0 1) through solve, predict,
// explain and export. solve closes the bracket (exit 0) and report.json carries it
// with its scope, the class labels in one-hot order and a confusion matrix that
// adds up to the samples; predict prints the user's labels; explain names the
// copositive program and the relaxation the export writes; every export format is
// written.
func TestVectorCLI(t *testing.T) {
	dir := t.TempDir()
	csvPath, err := filepath.Abs(filepath.Join("..", "..", "examples", "data", "three_blobs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(vectorCNN, "%s", csvPath, 1)
	file := filepath.Join(dir, "v.cnn")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	so, se, code := runCLI("solve", file, "-o", out, "--quiet")
	if code != 0 {
		t.Fatalf("solve exit %d\n%s%s", code, so, se)
	}
	for _, want := range []string{"bracket", "global optimum", "copositive", "confusion"} {
		if !strings.Contains(so, want) {
			t.Errorf("solve summary lacks %q:\n%s", want, so)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Status  string `json:"status"`
		Bracket struct {
			Lower, Upper, RelGap float64
			Global               bool
			LowerScope           string `json:"lower_scope"`
		} `json:"bracket"`
		Classes        []int   `json:"classes"`
		ConfusionTrain [][]int `json:"confusion_train"`
		Samples        int     `json:"samples"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != "optimal" || !rep.Bracket.Global || rep.Bracket.Lower > rep.Bracket.Upper || (rep.Bracket.Upper-rep.Bracket.Lower)/rep.Bracket.Upper > 1e-6 {
		t.Errorf("report: status %s, bracket %+v", rep.Status, rep.Bracket)
	}
	if len(rep.Classes) != 3 || rep.Classes[0] != 2 || rep.Classes[1] != 0 || rep.Classes[2] != 1 {
		t.Errorf("classes %v, want [2 0 1] (the listed order)", rep.Classes)
	}
	total := 0
	for _, row := range rep.ConfusionTrain {
		for _, c := range row {
			total += c
		}
	}
	if len(rep.ConfusionTrain) != 3 || total != rep.Samples {
		t.Errorf("confusion matrix %v does not add up to %d samples", rep.ConfusionTrain, rep.Samples)
	}
	so, se, code = runCLI("predict", file, "--weights", filepath.Join(out, "weights.json"))
	if code != 0 {
		t.Fatalf("predict exit %d\n%s", code, se)
	}
	for _, line := range strings.Split(strings.TrimSpace(so), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		// index, label, 3 outputs: the label is the class of the largest output
		// in the listed order 2 0 1
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			t.Errorf("predict line %q: want index, label and 3 outputs", line)
			continue
		}
		best, arg := math.Inf(-1), -1
		for k, v := range f[2:] {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			if x > best {
				best, arg = x, k
			}
		}
		if want := []string{"2", "0", "1"}[arg]; f[1] != want {
			t.Errorf("predict line %q: label %s, the largest output is class %s's", line, f[1], want)
		}
	}
	so, se, code = runCLI("explain", file)
	if code != 0 || !strings.Contains(so, "copositive") || !strings.Contains(so, "relaxation (b)") || !strings.Contains(so, "docs/math/10-vector-output.md") {
		t.Errorf("explain exit %d:\n%s%s", code, so, se)
	}
	for _, f := range []string{"scs", "cbf", "json", "cvxpy"} {
		if so, se, code := runCLI("export", file, "--format", f, "-o", filepath.Join(dir, "rel."+f), "--relaxation", "gated"); code != 0 {
			t.Errorf("export %s: exit %d\n%s%s", f, code, so, se)
		}
	}
	if _, _, code := runCLI("export", file, "--format", "json", "-o", filepath.Join(dir, "x.json"), "--relaxation", "nope"); code != 2 {
		t.Errorf("export --relaxation nope: exit %d, want 2 (usage)", code)
	}
}
