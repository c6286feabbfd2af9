package check

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
)

// TestParseDataSpec: the --data forms with the data block's source options, and
// the unlabeled forms only where prediction inputs are allowed.
func TestParseDataSpec(t *testing.T) {
	csv := "testdata/ok.csv"
	npy := filepath.Join("..", "dataset", "testdata", "x_f8.npy")
	cases := []struct {
		spec      string
		unlabeled bool
		ok        bool
		check     func(d *ir.Data) bool
	}{
		{csv, false, true, func(d *ir.Data) bool { return d.Source.Kind == ir.CSV && d.Source.Label == "last" && !d.Source.Header }},
		{csv + ",header=true,label=first", false, true, func(d *ir.Data) bool { return d.Source.Header && d.Source.Label == "first" }},
		{csv + ",label=2,limit=5", false, true, func(d *ir.Data) bool { return d.Source.Label == "2" && d.Limit == 5 }},
		{csv + ",label=none", true, true, func(d *ir.Data) bool { return d.Source.NoLabel }},
		{csv + ",label=none", false, false, nil},
		{csv + ",header=maybe", false, false, nil},
		{csv + ",colour=red", false, false, nil},
		{csv + ",limit=0", false, false, nil},
		{npy, true, true, func(d *ir.Data) bool { return d.Source.Kind == ir.NPY && d.Source.YPath == "" }},
		{npy, false, false, nil},
		{npy + "," + npy, false, true, func(d *ir.Data) bool { return d.Source.Kind == ir.NPY && d.Source.YPath != "" }},
		{npy + ",header=true", true, false, nil},
		{"synthetic:spiral,n=20,limit=7", false, true, func(d *ir.Data) bool {
			return d.Source.Generator == "spiral" && d.Limit == 7 && d.Source.Params["n"] == 20
		}},
		{"missing.csv", true, false, nil},
	}
	for _, c := range cases {
		d, dl := ParseDataSpec(c.spec, c.unlabeled)
		if c.ok != !dl.HasErrors() {
			t.Errorf("%q (unlabeled %v): errors %v, want ok=%v", c.spec, c.unlabeled, dl, c.ok)
			continue
		}
		if !c.ok {
			if dl[0].Code != "C0308" || dl[0].Range.File != "--data" {
				t.Errorf("%q: diagnostic %s at %s, want C0308 at --data", c.spec, dl[0].Code, dl[0].Range.File)
			}
			continue
		}
		if !c.check(d) {
			t.Errorf("%q: got %+v (limit %d)", c.spec, d.Source, d.Limit)
		}
	}
}

// TestClassesAnyIntegers: `classes -1 1` (±1 labels) is accepted.
func TestClassesAnyIntegers(t *testing.T) {
	src := "model m {\n    input 2\n    linear 1\n}\ndata train {\n    csv \"testdata/ok.csv\"\n    classes -1 1\n}\n"
	f, _ := syntax.Parse("c.cnn", []byte(src))
	out, diags := Check(f, Options{SkipFiles: true})
	if diags.HasErrors() {
		t.Fatalf("classes -1 1: %v", diags)
	}
	if c := out.Data["train"].Classes; len(c) != 2 || c[0] != -1 || c[1] != 1 {
		t.Errorf("classes = %v, want [-1 1]", c)
	}
	f, _ = syntax.Parse("c.cnn", []byte(strings.Replace(src, "classes -1 1", "classes 1 1", 1)))
	if _, diags := Check(f, Options{SkipFiles: true}); !diags.HasErrors() || diags[0].Code != "C0307" {
		t.Errorf("classes 1 1: %v, want C0307", diags)
	}
}
