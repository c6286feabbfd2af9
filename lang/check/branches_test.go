package check

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
)

// TestBranchErrorCases: the diagnostics of testdata/branches_errors.txt.
func TestBranchErrorCases(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	names, srcs, wants := splitCases(t, "testdata/branches_errors.txt")
	for i := range names {
		t.Run(names[i], func(t *testing.T) {
			f, diags := syntax.Parse(names[i], []byte(srcs[i]))
			_, cd := Check(f, Options{Dir: dir})
			diags = append(diags, cd...)
			diags.Sort()
			g, w := sortWants(got(diags)), sortWants(wants[i])
			if strings.Join(g, " ") != strings.Join(w, " ") {
				var sb strings.Builder
				diag.WriteText(&sb, diags, nil)
				t.Errorf("got %v, want %v\nsource:\n%s\ndiagnostics:\n%s", g, w, srcs[i], sb.String())
			}
			for _, d := range diags {
				if d.Summary == "" || strings.ToLower(d.Summary[:1]) != d.Summary[:1] || d.Detail == "" {
					t.Errorf("%s: summary %q detail %q", d.Code, d.Summary, d.Detail)
				}
			}
		})
	}
}

// TestBranchShapes: per-branch widths, K·width outputs, auto K, circconv's default of
// one filter per branch, and the regularizer statement.
func TestBranchShapes(t *testing.T) {
	src := `model a {
    input  3
    linear 2 bias=true branches=auto
    relu
    linear 1 branches=auto
    relu
    linear 1
}
model b {
    input    1x8
    circconv branches=4
    linear   1 branches=4
    relu
    linear   1
}
train model=a {
    regularizer group
}
`
	f, diags := syntax.Parse("br.cnn", []byte(src))
	out, cd := Check(f, Options{})
	if len(diags)+len(cd) != 0 {
		t.Fatalf("unexpected diagnostics: %v %v", diags, cd)
	}
	want := map[string][]string{
		"a": {"3", "0", "0", "0", "0", "1"},
		"b": {"1x8", "4x8", "4", "4", "1"},
	}
	for _, m := range out.Models {
		var g []string
		for _, l := range m.Layers {
			g = append(g, l.Out.String())
		}
		if strings.Join(g, " ") != strings.Join(want[m.Name], " ") {
			t.Errorf("%s shapes %v, want %v", m.Name, g, want[m.Name])
		}
	}
	a, b := out.Model("a"), out.Model("b")
	if l := a.Layers[1]; l.Width != 2 || l.Branches != ir.AutoBranches || !l.Bias {
		t.Errorf("a layer 1 %+v", l)
	}
	if l := b.Layers[1]; l.Width != 1 || l.Branches != 4 {
		t.Errorf("b layer 1 %+v", l)
	}
	if out.Train.Regularizer != ir.Group || !out.Train.RegRange.IsValid() {
		t.Errorf("regularizer %q", out.Train.Regularizer)
	}
	f, _ = syntax.Parse("d.cnn", []byte("model m {\n    input 3\n    linear 1\n}\n"))
	out, _ = Check(f, Options{})
	if r := out.Train.Regularizer; r != "" && r != ir.WeightDecay {
		t.Errorf("default regularizer %q", r)
	}
}
