package main

// Export round trips on every example (docs/exports.md). For each examples/*.cnn that
// derives a convex program, `cnnc export` writes scs, json, cbf and cvxpy files with
// the real command, and the test checks:
//
//   - the SCS and JSON files read back to exactly (bit for bit) the conic problem that
//     canon.CanonicalizeWith builds from the derived program with the export's options
//     (the squared loss as P, the implied cone rows left out; the CBF file keeps the
//     loss cone);
//   - the CBF file parses (backend/cbf.Read) with the same variables, rows and
//     objective coefficients;
//   - the CVXPY script compiles (python3 -m py_compile);
//   - with python3-cvxopt (small examples only): the SCS and the JSON file, read back,
//     solve with CVXOPT to the same optimum (1e-6 relative); the native pipeline
//     (`cnnc solve`) reaches it too (1e-6 relative);
//   - with NumPy and a CVXOPT solution: the script's own recovery (`--solution`, no
//     CVXPY needed) writes a weights.json whose network.Objective equals that of the
//     rule's Go recovery from the same solution (1e-9 relative);
//   - with CVXPY importable: the script solves with CVXOPT to the same optimum (1e-6
//     relative) and its weights.json passes `cnnc verify` against that optimum.
//
// Vector-output examples export a relaxation; vectorExportChecks (vector_test.go)
// replaces the solver checks for them.
//
// CVXPY is found only when `/usr/bin/python3 -c 'import cvxpy'` succeeds with
// PYTHONPATH set to $CNNC_PYTHONPATH (if set) followed by $PYTHONPATH; e.g. a CVXPY
// source tree built in place: CNNC_PYTHONPATH=/tmp/cvxpy-build/v1.5.4.

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/backend/cbf"
	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/conic/conictest"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/cvxpy"
	"github.com/cnnc-org/cnnc/backend/scs"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/canon"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/train"
)

// Size gates (convex.Sizes of the derived program). Above exportLimit the example is
// not exported at all in this test (fashion_gap's sampled CNN program has ~10⁸ cone
// rows); above solverLimit the solver checks are skipped. Either way the test then
// repeats every check on a shrunk copy of the example (same architecture and rule,
// fewer samples and patterns; see shrink).
const (
	exportLimit      = 300000 // scalar linear constraints
	solverLimit      = 5000   // scalar linear constraints (CVXOPT time)
	solverVarLimit   = 1500   // scalars
	expVarLimit      = 600    // scalars with exponential cones (the native solve of blobs_csv's 966 takes minutes)
	agreeRelative    = 1e-6   // optima of different solvers
	recoveryRelative = 1e-9   // Go vs script recovery from the same solution
)

// loadExample prepares and derives an example the way `cnnc export` does. It skips
// the test when the example's data files are absent or the model has no convex
// equivalent (a deliberate example of a diagnostic).
func loadExample(t *testing.T, path string) *prepared {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb}
	p, err := prepare(e, path, dataFlags{}, true)
	if err != nil {
		msg := errb.String()
		if strings.Contains(msg, "no such file") || strings.Contains(msg, "not found") {
			t.Skipf("%s: data files absent: %s", path, firstLine(msg))
		}
		t.Fatalf("%s: %v\n%s", path, err, msg)
	}
	if vectorTooLarge(p) {
		return nil // the caller tries a shrunk copy
	}
	if err := p.derive(); err != nil {
		if strings.Contains(errb.String(), derive.CodeNoEquivalent) {
			t.Skipf("%s has no convex equivalent (by design): %s", path, firstLine(errb.String()))
		}
		t.Fatalf("%s: derive: %v\n%s", path, err, errb.String())
	}
	return p
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func examples(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.cnn"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	return files
}

var (
	reLimit    = regexp.MustCompile(`\blimit\s+\d+`)
	reN        = regexp.MustCompile(`\bn=\d+`)
	reSample   = regexp.MustCompile(`\bpatterns\s+sample\s+\d+`)
	reAdaptive = regexp.MustCompile(`\bpatterns\s+adaptive\b[^\n#]*`)
	reRelative = regexp.MustCompile(`"(data/[^"]*)"`)
)

// shrink writes a small copy of the example at path into dir: 4 samples (limit,
// synthetic n), 6 sampled patterns (the adaptive mode replaced by its
// sampled start: this test is about the exported program, not the pattern search),
// and relative data paths made absolute. The architecture, loss, β and rule are unchanged.
func shrink(t *testing.T, path, dir string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	s = reLimit.ReplaceAllString(s, "limit 4")
	s = reN.ReplaceAllString(s, "n=4")
	s = reSample.ReplaceAllString(s, "patterns sample 6")
	s = reAdaptive.ReplaceAllString(s, "patterns sample 6 seed=7")
	s = reRelative.ReplaceAllStringFunc(s, func(m string) string {
		return strconv.Quote(filepath.Join(abs, m[1:len(m)-1]))
	})
	if !reLimit.MatchString(s) && !reN.MatchString(s) {
		// A file source without a limit: add one to the train block.
		s = strings.Replace(s, "data train {", "data train {\n    limit 4", 1)
	}
	out := filepath.Join(dir, "small_"+filepath.Base(path))
	if err := os.WriteFile(out, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportRoundTripExamples(t *testing.T) {
	for _, path := range examples(t) {
		path := path
		name := strings.TrimSuffix(filepath.Base(path), ".cnn")
		t.Run(name, func(t *testing.T) {
			if exportRoundTrip(t, path) {
				return
			}
			small := shrink(t, path, t.TempDir())
			t.Run("small", func(t *testing.T) {
				if !exportRoundTrip(t, small) {
					t.Errorf("the shrunk example %s is still too large for the solver checks", small)
				}
			})
		})
	}
}

// exportRoundTrip runs every check on one .cnn file; it returns false when the
// program was too large for some of them (the caller then tries a shrunk copy).
func exportRoundTrip(t *testing.T, path string) bool {
	base := filepath.Base(path)
	p := loadExample(t, path)
	if p == nil {
		t.Logf("%s: the vector relaxation is too large to build (convex.MaxRelaxEntries): not exported here", base)
		return false
	}
	sz := p.Program.Sizes()
	t.Logf("%s (%s): %d samples, %d patterns, %d variables, %d linear constraints", base, p.Rule.Name, sz.Samples, sz.Patterns, sz.Variables, sz.Constraints)
	if sz.Constraints > exportLimit {
		t.Logf("%s: %d linear constraints: not exported here (limit %d)", base, sz.Constraints, exportLimit)
		return false
	}
	// the conic forms the exports write: the SCS and JSON files with the squared loss
	// as P, the CBF file with its cone; both without the implied cone rows (IRRED)
	want, _, err := canon.CanonicalizeWith(p.Program, exportCanon(cnnc.FormatSCS))
	if err != nil {
		t.Fatalf("canonicalize: %v", err)
	}
	wantCBF, _, err := canon.CanonicalizeWith(p.Program, exportCanon(cnnc.FormatCBF))
	if err != nil {
		t.Fatalf("canonicalize: %v", err)
	}
	dir := t.TempDir()
	files := map[string]string{}
	for _, f := range []string{"scs", "json", "cbf", "cvxpy"} {
		ext := f
		if f == "cvxpy" {
			ext = "py"
		}
		out := filepath.Join(dir, "prog."+ext)
		if so, se, code := runCLI("export", path, "--format", f, "-o", out); code != 0 {
			t.Fatalf("export --format %s: exit %d\n%s%s", f, code, so, se)
		}
		files[f] = out
	}

	sf, err := scs.ReadFile(files["scs"])
	if err != nil {
		t.Fatal(err)
	}
	if d := conictest.Diff(want, sf.Problem, false); d != "" {
		t.Errorf("SCS file differs from canon.Canonicalize: %s", d)
	}
	jf, err := os.Open(files["json"])
	if err != nil {
		t.Fatal(err)
	}
	jp, err := conic.ReadJSON(jf)
	jf.Close()
	if err != nil {
		t.Fatal(err)
	}
	if d := conictest.Diff(want, jp, true); d != "" {
		t.Errorf("JSON file differs from canon.Canonicalize: %s", d)
	}
	if d := conictest.Diff(sf.Problem, jp, false); d != "" {
		t.Errorf("the SCS and the JSON file hold different problems: %s", d)
	}
	checkCBF(t, files["cbf"], wantCBF)
	py := pythonOrSkip(t)
	if out, err := exec.Command(py, "-m", "py_compile", files["cvxpy"]).CombinedOutput(); err != nil {
		t.Fatalf("the CVXPY script does not compile: %v\n%s", err, out)
	}

	varLimit := solverVarLimit
	if want.Cones.EP+want.Cones.ED > 0 {
		varLimit = expVarLimit
	}
	if testing.Short() {
		t.Logf("%s: solver checks skipped in -short mode", base)
		return true
	}
	if sz.Constraints > solverLimit || sz.Variables > varLimit {
		t.Logf("%s: solver checks skipped (more than %d constraints or %d variables)", base, solverLimit, varLimit)
		return false
	}
	if p.Rule.Vector != nil {
		vectorExportChecks(t, p, want, sf.Problem, jp)
		return true
	}

	// The native pipeline (nil when it fails; logged, see nativeSolve).
	nat := nativeSolve(t, p)
	restricted := nat != nil && nat.Adaptive == nil // adaptive mode adds patterns: another program
	var opt float64
	have := false
	if nat != nil {
		t.Logf("%s: native optimum %.12g (%s, %d iterations, gap to its dual bound %.2e)", base, nat.ConvexObjective, nat.SolverName, nat.Iterations, nat.ConvexObjective-nat.DualObjective)
		checkRecipe(t, p, nat.Rule, nat.Program, nat.Solution, dir)
		opt, have = nat.ConvexObjective, restricted
	}

	// CVXOPT on the SCS and the JSON file read back.
	if want.Cones.EP+want.Cones.ED > 0 {
		t.Logf("%s: exponential cones (logistic loss): CVXOPT and CVXPY+CVXOPT checks skipped (CVXOPT has no exponential cone)", base)
		return true
	}
	cvxoptFailed := false
	if err := conictest.Available(); err != nil {
		t.Logf("CVXOPT checks skipped: %v", err)
	} else {
		// The SCS and the JSON file read back to the same problem bit for bit
		// (checked above), so one CVXOPT solve covers both.
		rs, _ := conictest.SolveCVXOPT(t, sf.Problem)
		switch {
		case rs.Status == "optimal":
			t.Logf("%s: CVXOPT optimum %.12g (SCS file; the JSON file is the same problem)", base, rs.Objective)
			if restricted && relDiff(nat.ConvexObjective, rs.Objective) > agreeRelative {
				t.Errorf("native optimum %.12g, CVXOPT %.12g (relative difference %.2e)", nat.ConvexObjective, rs.Objective, relDiff(nat.ConvexObjective, rs.Objective))
			}
			if nat == nil {
				checkRecipe(t, p, p.Rule, p.Program, cmapSolution(t, p, rs.X), dir)
			}
			opt, have = rs.Objective, true
		default:
			// CVXOPT's interior-point method can stall on degenerate programs (e.g.
			// cone rows that are identically zero).
			t.Logf("%s: CVXOPT ended with status %s (%s); the native optimum is the reference and CVXPY+CVXOPT is not run", base, rs.Status, rs.Message)
			cvxoptFailed = true
		}
	}

	// CVXPY, where it is importable.
	env, ok := cvxpyEnv()
	switch {
	case !ok:
		t.Log("CVXPY is not installed (set CNNC_PYTHONPATH to a directory where `import cvxpy` works); the script was only compiled")
	case !have:
		t.Log("no reference optimum (native and CVXOPT failed): the CVXPY run is skipped")
	case cvxoptFailed:
		t.Log("CVXOPT failed on the conic export: the CVXPY run (which would use CVXOPT) is skipped")
	default:
		runCVXPY(t, env, path, files["cvxpy"], opt)
	}
	return true
}

// cmapSolution maps a conic solution x of p's canonical form back to the program.
func cmapSolution(t *testing.T, p *prepared, x []float64) *convex.Solution {
	t.Helper()
	_, m, err := canon.CanonicalizeWith(p.Program, exportCanon(cnnc.FormatSCS))
	if err != nil {
		t.Fatal(err)
	}
	return m.Solution(x)
}

// exportCanon is the canonicalisation `cnnc export --format format` writes
// (cnnc.Problem.ConicFor without --all-rows), built here independently of it.
func exportCanon(format string) canon.Options {
	return canon.Options{QuadraticLoss: format != cnnc.FormatCBF, Irredundant: true}
}

// nativeTols are the tolerances nativeSolve tries, tightest first: an optimum to
// ~1e-8 sits well inside the 1e-6 agreement check, and a solver that stops short of a
// tight tolerance (status inaccurate) is retried at the next one.
var nativeTols = []float64{1e-8, 1e-7, 1e-6}

// nativeSolve runs the pipeline of `cnnc solve` (native solvers) and returns its
// outcome when the status is optimal at one of nativeTols. Otherwise it logs the
// failure and returns nil: the native solvers are tested in their own packages, and
// this test then checks the exports against CVXOPT alone.
func nativeSolve(t *testing.T, p *prepared) *train.Outcome {
	t.Helper()
	var last solver.Status
	for _, tol := range nativeTols {
		out, err := train.Run(p.Input(), train.Options{
			Settings: train.SolverSettings{Tol: tol},
			Template: train.NativeTemplate,
			Conic:    train.NativeConic,
			Recorder: solver.Nop{},
		})
		if err != nil {
			t.Logf("NATIVE PIPELINE FAILED (tol %g): %v", tol, err)
			return nil
		}
		if out.Status == solver.Optimal {
			if tol != nativeTols[0] {
				t.Logf("native solve: optimal at tol %g (status %s at tighter tolerances)", tol, last)
			}
			return out
		}
		last = out.Status
	}
	t.Logf("NATIVE SOLVER NOT OPTIMAL: status %s at tol %g", last, nativeTols[len(nativeTols)-1])
	return nil
}

// checkCBF parses the CBF file and compares its sizes and objective with p. (CBF
// states A x + b ∈ K, so A is negated there, and PSD rows are unscaled: the
// coefficients are checked by the backend/cbf tests, not here.)
func checkCBF(t *testing.T, path string, p *conic.Problem) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := cbf.Read(f)
	if err != nil {
		t.Fatalf("cbf.Read: %v", err)
	}
	if c.NumVar != p.N {
		t.Errorf("CBF has %d variables, want %d", c.NumVar, p.N)
	}
	rows := c.NumCon
	for _, s := range c.PSDCon {
		rows += s * (s + 1) / 2
	}
	if rows != p.M {
		t.Errorf("CBF has %d scalar constraint rows (incl. PSD), want %d", rows, p.M)
	}
	obj := make([]float64, p.N)
	for _, e := range c.ObjA {
		if e.J < 0 || e.J >= p.N {
			t.Fatalf("CBF objective index %d out of range", e.J)
		}
		obj[e.J] += e.V
	}
	for j := range obj {
		if obj[j] != p.C[j] {
			t.Fatalf("CBF objective coefficient %d is %g, want %g", j, obj[j], p.C[j])
		}
	}
}

// checkRecipe exports the script for prog (the program the native pipeline solved:
// the adaptive mode may have grown it), runs the script's recovery on solution
// (`--solution`, NumPy only) and compares the network objective of its weights.json
// with that of the rule's Go recovery from the same solution (1e-9 relative), and
// their tensor names, shapes and penalties.
func checkRecipe(t *testing.T, p *prepared, rule *derive.Rule, prog *convex.Program, solution *convex.Solution, dir string) {
	t.Helper()
	py := pythonOrSkip(t, "numpy")
	base := p.Model.Name
	goW, err := rule.Recover(p.Input(), prog, solution)
	if err != nil {
		t.Fatalf("Go recovery: %v", err)
	}
	goObj, _, _, err := network.Objective(p.Model, goW, p.Data.X, p.Data.Y)
	if err != nil {
		t.Fatalf("objective of the Go recovery: %v", err)
	}
	sub := filepath.Join(dir, "recipe")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	q := *p.Problem // the script of prog (the adaptive mode's, not the file's)
	q.Rule, q.Program = rule, prog
	var script, data, sol bytes.Buffer
	if err := q.ExportCVXPY(&script, &data, "prog.npz"); err != nil {
		t.Fatal(err)
	}
	if err := cvxpy.WriteSolution(&sol, prog, solution); err != nil {
		t.Fatal(err)
	}
	scriptPath, solPath, wPath := filepath.Join(sub, "prog.py"), filepath.Join(sub, "solution.npz"), filepath.Join(sub, "weights.json")
	for path, b := range map[string][]byte{scriptPath: script.Bytes(), filepath.Join(sub, "prog.npz"): data.Bytes(), solPath: sol.Bytes()} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(py, scriptPath, "--solution", solPath, "-o", wPath).CombinedOutput(); err != nil {
		t.Fatalf("script --solution: %v\n%s", err, out)
	}
	pyW, err := network.ReadFile(wPath)
	if err != nil {
		t.Fatalf("the script's weights.json: %v", err)
	}
	pyObj, _, _, err := network.Objective(p.Model, pyW, p.Data.X, p.Data.Y)
	if err != nil {
		t.Fatalf("objective of the script's weights: %v", err)
	}
	t.Logf("%s (%s): recovered network objective: Go %.15g, script %.15g", base, p.Rule.Name, goObj, pyObj)
	if relDiff(goObj, pyObj) > recoveryRelative {
		t.Errorf("the script's recovery has objective %.15g, the Go recovery %.15g (relative difference %.2e)", pyObj, goObj, relDiff(goObj, pyObj))
	}
	if len(goW.Tensors) != len(pyW.Tensors) {
		t.Fatalf("Go recovery has %d tensors, the script %d", len(goW.Tensors), len(pyW.Tensors))
	}
	for i := range goW.Tensors {
		a, b := goW.Tensors[i], pyW.Tensors[i]
		if a.Name != b.Name || fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) || a.Penalty != b.Penalty || a.Groups != b.Groups {
			t.Errorf("tensor %d: Go %s %v %s/%d, script %s %v %s/%d", i, a.Name, a.Shape, a.Penalty, a.Groups, b.Name, b.Shape, b.Penalty, b.Groups)
		}
	}
}

var optimumRE = regexp.MustCompile(`(?m)^optimum: (\S+)$`)

// runCVXPY solves the exported script with CVXPY + CVXOPT, compares its optimum with
// opt and verifies its weights.json with `cnnc verify`.
func runCVXPY(t *testing.T, env []string, path, script string, opt float64) {
	t.Helper()
	dir := filepath.Dir(script)
	wPath := filepath.Join(dir, "weights_cvxpy.json")
	// CVXOPT's tolerances: 1e-10 (the conic reference's), else the script's default
	// 1e-8 when CVXOPT fails numerically at the tighter one.
	var out []byte
	var err error
	for _, eps := range []string{"1e-10", "1e-8"} {
		cmd := exec.Command(conictest.Python, script, "CVXOPT", "--eps", eps, "-o", wPath)
		cmd.Env = env
		if out, err = cmd.CombinedOutput(); err == nil {
			t.Logf("%s: CVXPY+CVXOPT at eps %s", filepath.Base(path), eps)
			break
		}
	}
	if err != nil {
		t.Fatalf("python3 %s CVXOPT: %v\n%s", filepath.Base(script), err, out)
	}
	m := optimumRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("the script printed no optimum:\n%s", out)
	}
	got, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: CVXPY+CVXOPT optimum %.12g", filepath.Base(path), got)
	if relDiff(got, opt) > agreeRelative {
		t.Errorf("CVXPY optimum %.12g, CVXOPT on the conic export %.12g (relative difference %.2e)", got, opt, relDiff(got, opt))
	}
	// verify: the network's objective must equal the convex optimum (report below).
	rep := filepath.Join(dir, "cvxpy_report.json")
	if err := os.WriteFile(rep, []byte(fmt.Sprintf(`{"format": "cnnc-report/1", "nonconvex_objective": %.17g}`, got)), 0o644); err != nil {
		t.Fatal(err)
	}
	so, se, code := runCLI("verify", path, "--weights", wPath, "--report", rep, "--tol", "1e-6", "--no-certificate")
	if code != 0 {
		t.Errorf("cnnc verify of the CVXPY weights: exit %d\n%s%s", code, so, se)
	}
}

// relDiff is |a − b| / max(|a|, |b|) (0 when both are 0).
func relDiff(a, b float64) float64 {
	d := math.Max(math.Abs(a), math.Abs(b))
	if d == 0 {
		return 0
	}
	return math.Abs(a-b) / d
}

// pythonOrSkip returns /usr/bin/python3, skipping when it or a module is missing.
func pythonOrSkip(t *testing.T, modules ...string) string {
	t.Helper()
	py := conictest.Python
	if _, err := os.Stat(py); err != nil {
		t.Skipf("%s not found (apt-get install -y python3)", py)
	}
	for _, m := range modules {
		if err := exec.Command(py, "-c", "import "+m).Run(); err != nil {
			t.Skipf("python3 module %s not installed (apt-get install -y python3-%s)", m, m)
		}
	}
	return py
}

var (
	cvxpyOnce sync.Once
	cvxpyVars []string
	cvxpyOK   bool
)

// cvxpyEnv returns the environment in which `import cvxpy` works: PYTHONPATH =
// $CNNC_PYTHONPATH:$PYTHONPATH. ok is false when CVXPY cannot be imported.
func cvxpyEnv() ([]string, bool) {
	cvxpyOnce.Do(func() {
		var parts []string
		for _, k := range []string{"CNNC_PYTHONPATH", "PYTHONPATH"} {
			if v := os.Getenv(k); v != "" {
				parts = append(parts, v)
			}
		}
		env := os.Environ()
		if len(parts) > 0 {
			env = append(env, "PYTHONPATH="+strings.Join(parts, string(os.PathListSeparator)))
		}
		cmd := exec.Command(conictest.Python, "-c", "import cvxpy")
		cmd.Env = env
		if err := cmd.Run(); err == nil {
			cvxpyVars, cvxpyOK = env, true
		}
	})
	return cvxpyVars, cvxpyOK
}

func TestExportErrors(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "spiral_relu.cnn")
	dir := t.TempDir()
	// Usage errors: exit 2, nothing written.
	for _, args := range [][]string{
		{"export", path, "-o", filepath.Join(dir, "x.scs")},
		{"export", path, "--format", "scs"},
		{"export", path, "--format", "mps", "-o", filepath.Join(dir, "x.mps")},
		{"export", "--format", "scs", "-o", filepath.Join(dir, "x.scs")},
	} {
		if _, se, code := runCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, se)
		} else if se == "" {
			t.Errorf("%v: no message", args)
		}
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("usage errors left files: %v", l)
	}
	// Unwritable output: a path below a regular file. Exit 1, a message naming the
	// path, and no partial file anywhere.
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"scs", "json", "cbf", "cvxpy"} {
		out := filepath.Join(blocker, "prog."+f)
		_, se, code := runCLI("export", path, "--format", f, "-o", out)
		if code != exitError {
			t.Errorf("%s to %s: exit %d, want %d\n%s", f, out, code, exitError, se)
		}
		if !strings.Contains(se, blocker) {
			t.Errorf("%s: the message does not name the path: %q", f, se)
		}
	}
	if l := leftovers(t, dir, "file"); len(l) > 0 {
		t.Errorf("failed exports left files: %v", l)
	}
}

// linearCNNs cover the rules no example uses: §7.1 (GAP: a family program with conv
// and output biases), §7.2 (nuclear norm: the SVD recovery, flatten over strided
// positions) and §7.3's short-filter fallback (nuclear norm on circular patches).
var linearCNNs = map[string]string{
	"linear_gap": `model lin {
    input  2x6x6
    conv   3x3 bias=true
    avgpool global
    linear 1 bias=true
}`,
	"linear_flatten": `model lin {
    input  1x8
    conv   3 stride=2
    flatten
    linear 1
}`,
	"linear_circ_short": `model lin {
    input    1x8
    circconv 3
    linear   1
}`,
}

func TestExportRoundTripLinearCNN(t *testing.T) {
	for name, model := range linearCNNs {
		src := model + "\ndata train {\n    synthetic planted n=10 seed=2\n}\ntrain {\n    beta 1e-1\n}\n"
		path := writeTemp(t, name+".cnn", src)
		t.Run(name, func(t *testing.T) {
			if !exportRoundTrip(t, path) {
				t.Fatal("program too large for the solver checks")
			}
		})
	}
}
