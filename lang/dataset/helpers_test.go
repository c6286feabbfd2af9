package dataset

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/token"
)

// stmt is the source range every test data block points at: line 3 of t.cnn.
var stmt = token.Range{File: "t.cnn", Start: token.Pos{Offset: 20, Line: 3, Col: 5}, End: token.Pos{Offset: 40, Line: 3, Col: 25}}
var block = token.Range{File: "t.cnn", Start: token.Pos{Offset: 10, Line: 2, Col: 1}, End: token.Pos{Offset: 90, Line: 8, Col: 2}}

func testdata(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", name))
	return p
}

func exampleData(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "data", name)
}

func npyData(x, y string) *ir.Data {
	return &ir.Data{Name: "train", Range: block, Source: ir.DataSource{Kind: ir.NPY, Range: stmt, XPath: x, YPath: y}}
}

func idxData(images, labels string) *ir.Data {
	return &ir.Data{Name: "train", Range: block, Source: ir.DataSource{Kind: ir.IDX, Range: stmt, XPath: images, YPath: labels}}
}

func csvData(path, label string, header bool) *ir.Data {
	return &ir.Data{Name: "train", Range: block, Source: ir.DataSource{Kind: ir.CSV, Range: stmt, Path: path, Label: label, Header: header}}
}

func synthData(gen string, params map[string]float64) *ir.Data {
	return &ir.Data{Name: "train", Range: block, Source: ir.DataSource{Kind: ir.Synthetic, Range: stmt, Generator: gen, Params: params}}
}

// mustLoad loads d and fails on any error diagnostic.
func mustLoad(t *testing.T, d *ir.Data, shape ir.Shape, st *Stats) (*Dataset, *Stats, diag.List) {
	t.Helper()
	ds, out, dl := Load(d, shape, st)
	if dl.HasErrors() || ds == nil {
		t.Fatalf("Load: unexpected errors: %v", dl)
	}
	return ds, out, dl
}

// wantError loads d, expects a nil Dataset and an error with the given code whose
// summary contains every fragment, and whose range is a range of the data block.
func wantError(t *testing.T, d *ir.Data, shape ir.Shape, st *Stats, code string, fragments ...string) *diag.Diagnostic {
	t.Helper()
	ds, _, dl := Load(d, shape, st)
	if ds != nil {
		t.Fatalf("Load succeeded, want error %s %q", code, fragments)
	}
	for _, e := range dl {
		if e.Code != code || e.Severity != diag.Error {
			continue
		}
		ok := true
		for _, f := range fragments {
			ok = ok && strings.Contains(e.Summary, f)
		}
		if !ok {
			continue
		}
		if e.Range != stmt && e.Range != block {
			t.Errorf("%s: range %v is not the data statement", code, e.Range)
		}
		return e
	}
	t.Fatalf("want error %s containing %q, got %v", code, fragments, summaries(dl))
	return nil
}

func summaries(dl diag.List) []string {
	var s []string
	for _, d := range dl {
		s = append(s, d.Severity.String()+"["+d.Code+"] "+d.Summary)
	}
	return s
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeAt(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
