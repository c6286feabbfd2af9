package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// oneDocument parses out as exactly one JSON object (nothing but white space
// after it) and returns it.
func oneDocument(t *testing.T, what, out string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: stdout is not a JSON object: %v\n%s", what, err, out)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		t.Fatalf("%s: stdout holds more than one JSON document (next: %.60q)\n%s", what, extra, out)
	}
	if _, ok := doc["diagnostics"]; !ok && doc["format"] != "cnnc-report/1" {
		if _, isFile := doc["objective"]; !isFile && doc["entries"] == nil && doc["version"] == nil {
			t.Errorf("%s: the document has no diagnostics field: %v", what, keys(doc))
		}
	}
	return doc
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	return k
}

// TestJSONEveryVerb runs every verb with --json, successes and failures, and
// parses stdout as exactly one JSON document.
func TestJSONEveryVerb(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.cnn")
	os.WriteFile(file, []byte(tinyFC), 0o644)
	// A file with a warning (all targets equal) that still solves.
	warn := filepath.Join(dir, "warn.cnn")
	os.WriteFile(filepath.Join(dir, "same.csv"), []byte("1,2,1\n3,1,1\n-1,0,1\n2,2,1\n"), 0o644)
	os.WriteFile(warn, []byte("model net {\n    input 2\n    linear auto\n    relu\n    linear 1\n}\ndata train {\n    csv \"same.csv\"\n}\ntrain {\n    patterns exact\n}\n"), 0o644)
	bad := filepath.Join(dir, "bad.cnn")
	os.WriteFile(bad, []byte(threeMistakes), 0o644)
	out := filepath.Join(dir, "out")
	weights := filepath.Join(out, "weights.json")
	prog := filepath.Join(dir, "prog.json")

	cases := []struct {
		name string
		args []string
		code int
		want string // a key the document must have
	}{
		{"check", []string{"check", file}, exitOK, "files"},
		{"check-bad", []string{"check", bad}, exitError, "diagnostics"},
		{"fmt", []string{"fmt", file}, exitOK, "files"},
		{"fmt-bad", []string{"fmt", bad}, exitOK, "files"},
		{"explain", []string{"explain", file}, exitOK, "program"},
		{"explain-bad", []string{"explain", bad}, exitError, "error"},
		{"solve", []string{"solve", file, "-o", out}, exitOK, "convex_objective"},
		{"solve-warning", []string{"solve", warn, "-o", filepath.Join(dir, "warn.out")}, -1, "status"},
		{"solve-bad", []string{"solve", bad, "-o", filepath.Join(dir, "bad.out")}, exitError, "error"},
		{"verify", []string{"verify", file, "--weights", weights}, exitOK, "nonconvex_objective"},
		{"verify-missing", []string{"verify", file, "--weights", filepath.Join(dir, "none.json")}, exitError, "error"},
		{"predict", []string{"predict", file, "--weights", weights}, exitOK, "predictions"},
		{"predict-usage", []string{"predict", file}, exitUsage, "error"},
		{"export", []string{"export", file, "--format", "json", "-o", prog}, exitOK, "files"},
		{"export-cvxpy", []string{"export", file, "--format", "cvxpy", "-o", filepath.Join(dir, "prog.py")}, exitOK, "files"},
		{"solve-file", []string{"solve-file", prog, "--quiet"}, exitOK, "objective"},
		{"stdlib", []string{"stdlib"}, exitOK, "entries"},
		{"stdlib-show", []string{"stdlib", "--show", "std.cnn_gap"}, exitOK, "entries"},
		{"version", []string{"version"}, exitOK, "version"},
		{"unknown-flag", []string{"check", "--nope", file}, exitUsage, "error"},
		{"unknown-verb", []string{"frobnicate"}, exitUsage, "error"},
	}
	for _, c := range cases {
		args := append(append([]string(nil), c.args...), "--json")
		stdout, stderr, code := runCLI(args...)
		if c.code >= 0 && code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", c.name, code, c.code, stdout, stderr)
			continue
		}
		doc := oneDocument(t, c.name, stdout)
		if _, ok := doc[c.want]; !ok {
			t.Errorf("%s: the document lacks %q: %v", c.name, c.want, keys(doc))
		}
		if c.name == "solve-warning" {
			ds, _ := doc["diagnostics"].([]any)
			if len(ds) == 0 || !strings.Contains(stdout, "W0101") {
				t.Errorf("solve-warning: the report's diagnostics lack the warning W0101: %v", doc["diagnostics"])
			}
		}
		if c.name == "check-bad" {
			if ds, _ := doc["diagnostics"].([]any); len(ds) != 3 {
				t.Errorf("check-bad: %d diagnostics, want 3", len(ds))
			}
		}
	}
	// The report written to disk is the document solve printed.
	so, _, _ := runCLI("solve", file, "-o", out, "--json", "--quiet")
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	var a, f map[string]any
	json.Unmarshal([]byte(so), &a)
	json.Unmarshal(b, &f)
	delete(a, "solve_seconds")
	delete(f, "solve_seconds")
	ja, _ := json.Marshal(a)
	jf, _ := json.Marshal(f)
	if !bytes.Equal(ja, jf) {
		t.Errorf("solve --json printed a different document from report.json")
	}
}

// TestPlusMinusOneTargets: ±1 targets without a classes statement count as two
// classes (accuracy in the report and the summary, hinge loss included), and
// `classes -1 1` is accepted.
func TestPlusMinusOneTargets(t *testing.T) {
	dir := t.TempDir()
	// Two features and a ±1 target per row.
	pm := "1,2,1\n2,1,-1\n-1,0,1\n0,-2,-1\n2,2,1\n-2,1,-1\n1,-1,-1\n-1,-1,1\n"
	os.WriteFile(filepath.Join(dir, "pm.csv"), []byte(pm), 0o644)
	for _, c := range []struct{ name, data, loss string }{
		{"squared", "csv \"pm.csv\"", "squared"},
		{"hinge", "csv \"pm.csv\"", "hinge"},
		{"classes", "csv \"pm.csv\"\n    classes -1 1", "squared"},
	} {
		file := filepath.Join(dir, c.name+".cnn")
		os.WriteFile(file, []byte("model net {\n    input 2\n    linear auto bias=true\n    relu\n    linear 1\n}\ndata train {\n    "+c.data+"\n}\ntrain {\n    loss "+c.loss+"\n    beta 1e-2\n    patterns exact\n}\n"), 0o644)
		so, se, code := runCLI("solve", file, "-o", filepath.Join(dir, c.name+".out"), "--quiet")
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", c.name, code, so, se)
		}
		if strings.Contains(so, "accuracy —") || !strings.Contains(so, "accuracy ") {
			t.Errorf("%s: the summary has no accuracy:\n%s", c.name, so)
		}
		r := readReport(t, filepath.Join(dir, c.name+".out", "report.json"))
		if acc, ok := r["train_accuracy"].(float64); !ok || acc < 0 || acc > 1 {
			t.Errorf("%s: train_accuracy = %v", c.name, r["train_accuracy"])
		}
	}
}
