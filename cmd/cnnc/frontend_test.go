package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/stdlib"
)

func runCLI(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

const threeMistakes = `model net {
    input 1x8x8
    conv 3x3 strde=2
    relu
    avgpool global
    linear 1
}

data train {
    synthetic spiral n=10
    limt 5
}

train {
    beta 0
}
`

func writeTemp(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fashionDir is where the Debian package dataset-fashion-mnist installs the
// Fashion-MNIST IDX files that two examples read.
const fashionDir = "/usr/share/datasets/fashion-mnist"

// needsAbsentData reports (with the reason) whether the .cnn file at path reads
// data from fashionDir while that folder is absent.
func needsAbsentData(path string) (string, bool) {
	src, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(src), fashionDir) {
		return "", false
	}
	if _, err := os.Stat(fashionDir); err == nil {
		return "", false
	}
	return fmt.Sprintf("%s reads %s, which is not installed (apt-get install dataset-fashion-mnist)", filepath.Base(path), fashionDir), true
}

func TestCheckValid(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.cnn")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		if filepath.Base(f) == "quickstart.cnn" {
			continue // owned by the lead
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			if why, skip := needsAbsentData(f); skip {
				t.Skip(why)
			}
			out, errs, code := runCLI("check", f)
			// Only notes of checks that could not run may appear on stderr.
			for _, ln := range strings.Split(strings.TrimSpace(errs), "\n") {
				if ln != "" && !strings.HasPrefix(ln, "cnnc check: "+f+": skipped ") {
					t.Errorf("%s: stderr line %q", f, ln)
				}
			}
			if code != 0 || out != "" {
				t.Errorf("%s: exit %d, stdout %q, stderr %q", f, code, out, errs)
			}
		})
	}
}

func TestCheckThreeMistakes(t *testing.T) {
	p := writeTemp(t, "bad.cnn", threeMistakes)
	out, errs, code := runCLI("check", p)
	if code != 1 || out != "" {
		t.Fatalf("exit %d stdout %q", code, out)
	}
	if n := strings.Count(errs, ": error["); n != 3 {
		t.Errorf("%d errors in text output, want 3:\n%s", n, errs)
	}
	for _, want := range []string{p + ":3:14: error[C0110]", p + ":11:5: error[C0301]", p + ":15:10: error[C0403]", "did you mean `stride`?", "^^^^^"} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing %q in:\n%s", want, errs)
		}
	}
	out, errs, code = runCLI("check", "--json", p)
	if code != 1 || errs != "" {
		t.Fatalf("json: exit %d stderr %q", code, errs)
	}
	var doc struct {
		Errors      int `json:"errors"`
		Diagnostics []struct {
			Code  string `json:"code"`
			Range struct {
				Start struct{ Line, Col int } `json:"start"`
			} `json:"range"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	ds := doc.Diagnostics
	if doc.Errors != 3 || len(ds) != 3 || ds[0].Code != "C0110" || ds[0].Range.Start.Line != 3 || ds[0].Range.Start.Col != 14 {
		t.Errorf("json diagnostics %+v", doc)
	}
	out, _, code = runCLI("check", "--json", "../../examples/spiral_relu.cnn")
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || doc.Errors != 0 || len(doc.Diagnostics) != 0 {
		t.Errorf("json on a valid file: exit %d %q", code, out)
	}
	// The old spelling still works (deprecated, with a note on stderr).
	out, errs, code = runCLI("check", "--format=json", p)
	if err := json.Unmarshal([]byte(out), &doc); code != 1 || err != nil || doc.Errors != 3 || !strings.Contains(errs, "deprecated") {
		t.Errorf("--format=json: exit %d %q %q", code, out, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"check"}, {"check", "--format=xml", "x.cnn"}, {"fmt"}, {"explain"}, {"check", "--nope", "x"}, {"stdlib", "extra"}} {
		if _, _, code := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, errs, code := runCLI("check", "does-not-exist.cnn"); code != 1 || !strings.Contains(errs, "does-not-exist.cnn") {
		t.Errorf("missing file: exit %d %q", code, errs)
	}
}

func TestFmt(t *testing.T) {
	messy := "model   net {\n  input 10\n\tlinear auto # hidden\n   relu\n  linear 1\n}\ntrain {\nbeta 1e-2\n}\n"
	want := "model net {\n    input  10\n    linear auto  # hidden\n    relu\n    linear 1\n}\n\ntrain {\n    beta 1e-2\n}\n"
	p := writeTemp(t, "m.cnn", messy)
	out, errs, code := runCLI("fmt", p)
	if code != 0 || out != want || errs != "" {
		t.Fatalf("fmt: exit %d\n%s\nwant\n%s\n%s", code, out, want, errs)
	}
	if b, _ := os.ReadFile(p); string(b) != messy {
		t.Error("fmt without -w changed the file")
	}
	if _, _, code := runCLI("fmt", "-w", p); code != 0 {
		t.Fatalf("fmt -w exit %d", code)
	}
	if b, _ := os.ReadFile(p); string(b) != want {
		t.Errorf("fmt -w wrote:\n%s", b)
	}
	out, _, _ = runCLI("fmt", p)
	if out != want {
		t.Error("fmt is not idempotent")
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("fmt -w left %d files behind", len(ents))
	}
	// A file with a syntax error is reported and left alone.
	bad := "model net {\n    conv 3x3 stride=\n}\n"
	q := writeTemp(t, "bad.cnn", bad)
	out, errs, code = runCLI("fmt", "-w", q)
	if code != 1 || out != "" || !strings.Contains(errs, "S0201") {
		t.Errorf("fmt -w on bad file: exit %d %q %q", code, out, errs)
	}
	if b, _ := os.ReadFile(q); string(b) != bad {
		t.Error("fmt -w rewrote a file with syntax errors")
	}
}

// fashion64 is examples/fashion_gap.cnn's model on the 64 Fashion-MNIST images
// shipped in examples/data.
const fashion64 = `model fashion_cnn {
    input   1x28x28
    conv    4x4 stride=4
    relu
    avgpool global
    linear  1
}

data train {
    images  idx "DATA/fashion64-images-idx3-ubyte.gz"
    labels  idx "DATA/fashion64-labels-idx1-ubyte.gz"
    classes 0 9
    scale   0.00392156862745098
}

train {
    beta     1e-3
    patterns sample 200 seed=1
}
`

func TestExplain(t *testing.T) {
	data, err := filepath.Abs("../../examples/data")
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "fashion64.cnn", strings.ReplaceAll(fashion64, "DATA", data))
	out, errs, code := runCLI("explain", path)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d %s", code, errs)
	}
	// conv 4x4 stride 4 on 28x28: (28 − 4)/4 + 1 = 7.
	for _, want := range []string{"model fashion_cnn (trained)", "1x28x28", "[auto]x7x7", "kernel=4x4 stride=4x4", "classes      0 → −1, 9 → +1", "patterns  sample 200 (seed 1)", "beta      0.001",
		"Convex program", "docs/math/04-cnn-gap.md"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	p := writeTemp(t, "bad.cnn", threeMistakes)
	if out, _, code := runCLI("explain", p); code != 1 || out != "" {
		t.Errorf("explain on bad file: exit %d, stdout %q", code, out)
	}
}

func TestStdlibVerb(t *testing.T) {
	out, _, code := runCLI("stdlib")
	if code != 0 {
		t.Fatal(code)
	}
	for _, e := range stdlib.List() {
		if !strings.Contains(out, e.Name) || !strings.Contains(out, e.Section) || e.Theorem == "" {
			t.Errorf("stdlib listing lacks %s (%s)", e.Name, e.Section)
		}
	}
	out, _, code = runCLI("stdlib", "--show", "std.cnn_gap")
	if code != 0 || !strings.Contains(out, "model cnn_gap {") {
		t.Errorf("--show: %d %q", code, out)
	}
	if _, _, code := runCLI("stdlib", "--show", "std.nope"); code != 2 {
		t.Errorf("--show unknown: exit %d", code)
	}
}
