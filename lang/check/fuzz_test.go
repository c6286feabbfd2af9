package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/lang/token"
	"github.com/cnnc-org/cnnc/stdlib"
)

// FuzzParseCheck: parsing and checking any input never panics, and every
// diagnostic's range lies inside the file with line and column consistent with
// its byte offset.
func FuzzParseCheck(f *testing.F) {
	files, _ := filepath.Glob("../../examples/*.cnn")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, e := range stdlib.List() {
		f.Add(e.Source)
	}
	if b, err := os.ReadFile("testdata/errors.txt"); err == nil {
		for _, c := range strings.Split(string(b), "\n---\n") {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<20 {
			t.Skip("input over the per-input size limit (1 MiB)")
		}
		const name = "fuzz.cnn"
		sf, diags := syntax.Parse(name, src)
		_, cd := Check(sf, Options{SkipFiles: true})
		diags = append(diags, cd...)
		tf := token.NewFile(name, src)
		for _, d := range diags {
			checkRange(t, tf, d, src)
		}
		if !diags.HasErrors() {
			out, fd := syntax.Format(name, src)
			if fd.HasErrors() {
				t.Fatalf("valid file does not format: %v", fd)
			}
			again, _ := syntax.Format(name, out)
			if string(again) != string(out) {
				t.Fatalf("format not idempotent:\n%s\n---\n%s", out, again)
			}
		}
	})
}

func checkRange(t *testing.T, tf *token.File, d *diag.Diagnostic, src []byte) {
	r := d.Range
	if r.File != tf.Name {
		t.Fatalf("%s: range in file %q, want %q", d.Code, r.File, tf.Name)
	}
	for _, p := range []token.Pos{r.Start, r.End} {
		if p.Offset < 0 || p.Offset > len(src) {
			t.Fatalf("%s: offset %d outside [0, %d]", d.Code, p.Offset, len(src))
		}
		if want := tf.Pos(p.Offset); want != p {
			t.Fatalf("%s: position %+v inconsistent with offset (want %+v)", d.Code, p, want)
		}
	}
	if r.End.Offset < r.Start.Offset {
		t.Fatalf("%s: range ends before it starts", d.Code)
	}
}
