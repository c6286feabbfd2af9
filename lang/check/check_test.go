package check

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/stdlib"
)

type want struct {
	code      string
	line, col int
}

func (w want) String() string { return fmt.Sprintf("%s@%d:%d", w.code, w.line, w.col) }

var markerRE = regexp.MustCompile(`#!(above)?((?:\s+[SCW][0-9]{4}@[0-9]+)+)\s*$`)

// splitCases reads testdata/errors.txt: cases separated by `---` lines, each with
// its expected diagnostics taken from `#!` markers (see the file's header).
func splitCases(t *testing.T, path string) (names []string, srcs []string, wants [][]want) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(data), "\n---\n")
	for i, p := range parts[1:] {
		p = strings.TrimPrefix(p, "---\n")
		var ws []want
		lines := strings.Split(p, "\n")
		for n, ln := range lines {
			m := markerRE.FindStringSubmatch(ln)
			if m == nil {
				continue
			}
			line := n + 1
			if m[1] == "above" {
				line = n
			}
			for _, f := range strings.Fields(m[2]) {
				var w want
				code, col, _ := strings.Cut(f, "@")
				w.code, w.line = code, line
				fmt.Sscan(col, &w.col)
				ws = append(ws, w)
			}
		}
		if len(ws) == 0 {
			t.Fatalf("case %d has no #! marker", i+1)
		}
		names = append(names, fmt.Sprintf("case%02d", i+1))
		srcs = append(srcs, p)
		wants = append(wants, ws)
	}
	return
}

func got(diags diag.List) []want {
	var out []want
	for _, d := range diags {
		out = append(out, want{d.Code, d.Range.Start.Line, d.Range.Start.Col})
	}
	return out
}

func sortWants(ws []want) []string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.String()
	}
	sort.Strings(s)
	return s
}

// TestErrorCases checks every case of testdata/errors.txt: exactly the marked
// codes at exactly the marked line:col.
func TestErrorCases(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	names, srcs, wants := splitCases(t, "testdata/errors.txt")
	if len(names) < 40 {
		t.Fatalf("only %d cases", len(names))
	}
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
				if d.Summary == "" || strings.ToLower(d.Summary[:1]) != d.Summary[:1] {
					t.Errorf("%s: summary must be terse lowercase: %q", d.Code, d.Summary)
				}
				if d.Code[0] != 'W' && d.Code[0] != 'S' && d.Detail == "" {
					t.Errorf("%s: no detail", d.Code)
				}
			}
		})
	}
}

// TestThreeMistakes: three independent mistakes in one file give exactly three
// diagnostics, one per mistake, in source order.
func TestThreeMistakes(t *testing.T) {
	src := `model net {
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
	f, diags := syntax.Parse("three.cnn", []byte(src))
	_, cd := Check(f, Options{})
	diags = append(diags, cd...)
	diags.Sort()
	if len(diags) != 3 {
		t.Fatalf("got %d diagnostics, want 3: %v", len(diags), diags)
	}
	wantCodes := []string{"C0110@3:14", "C0301@11:5", "C0403@15:10"}
	for i, d := range diags {
		if g := fmt.Sprintf("%s@%d:%d", d.Code, d.Range.Start.Line, d.Range.Start.Col); g != wantCodes[i] {
			t.Errorf("diagnostic %d = %s, want %s", i, g, wantCodes[i])
		}
	}
	if diags[0].Suggest != "stride" || diags[1].Suggest != "limit" {
		t.Errorf("suggestions %q %q, want stride, limit", diags[0].Suggest, diags[1].Suggest)
	}
}

// TestShapes checks inferred shapes against hand computation:
// conv ⌊(L + 2P − K)/S⌋ + 1, pools ⌊(L − K)/S⌋ + 1.
func TestShapes(t *testing.T) {
	src := `model net {
    input   3x32x30
    conv    5x3 stride=2 padding=1 filters=8 bias=true
    relu
    maxpool 2x2
    avgpool 3x2 stride=1
    flatten
    linear  auto
    gated
    linear  4 fixed=0.5
}
model sig {
    input    2x64
    conv     7 stride=3
    circconv 4 filters=6
    avgpool  global
    linear   1
}
`
	// net: H: (32+2−5)/2+1 = 15, W: (30+2−3)/2+1 = 15 → 8x15x15; maxpool 2x2 stride 2:
	// (15−2)/2+1 = 7 → 8x7x7; avgpool 3x2 stride 1: 5x6 → 8x5x6; flatten 240.
	// sig: (64−7)/3+1 = 20 → auto x20; circconv keeps 20 → 6x20; global → 6.
	f, diags := syntax.Parse("shapes.cnn", []byte(src))
	out, cd := Check(f, Options{})
	if len(diags)+len(cd) != 0 {
		t.Fatalf("unexpected diagnostics: %v %v", diags, cd)
	}
	wantOut := map[string][]string{
		"net": {"3x32x30", "8x15x15", "8x15x15", "8x7x7", "8x5x6", "240", "0", "0", "4"},
		"sig": {"2x64", "0x20", "6x20", "6", "1"},
	}
	for _, m := range out.Models {
		var g []string
		for _, l := range m.Layers {
			g = append(g, l.Out.String())
		}
		if strings.Join(g, " ") != strings.Join(wantOut[m.Name], " ") {
			t.Errorf("%s shapes %v, want %v", m.Name, g, wantOut[m.Name])
		}
	}
	conv := out.Models[0].Layers[1]
	if conv.Width != 8 || !conv.Bias || conv.Stride[0] != 2 || conv.Padding[1] != 1 || conv.Kernel[0] != 5 || conv.Kernel[1] != 3 {
		t.Errorf("conv layer %+v", conv)
	}
	if l := out.Models[0].Layers[8]; l.Fixed == nil || *l.Fixed != 0.5 || l.Width != 4 {
		t.Errorf("linear fixed layer %+v", l)
	}
	if l := out.Models[1].Layers[2]; l.Kind != ir.CircConv || l.Kernel[0] != 4 || l.Width != 6 {
		t.Errorf("circconv layer %+v", l)
	}
	if out.Trained != nil {
		t.Errorf("two models and no train block: nothing is selected")
	}
}

// TestDefaults: an empty train block gets the defaults of spec/language.md.
func TestDefaults(t *testing.T) {
	src := "model m {\n    input 3\n    linear 1\n}\ntrain {\n}\n"
	f, _ := syntax.Parse("d.cnn", []byte(src))
	out, diags := Check(f, Options{})
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	tr := out.Train
	if tr.Loss != "squared" || tr.Beta != 1e-3 || tr.Patterns.Mode != ir.Sample || tr.Patterns.N != 1000 || tr.Patterns.Seed != 0 || tr.Solver.Name != "native" || tr.Model != "m" || out.Trained == nil {
		t.Errorf("defaults %+v", tr)
	}
	f, _ = syntax.Parse("e.cnn", []byte(src[:len(src)-10]+"train {\n    patterns exact\n}\n"))
	out, _ = Check(f, Options{})
	if out.Train.Patterns.Mode != ir.Exact || out.Train.Patterns.Max != 100000 {
		t.Errorf("exact default max: %+v", out.Train.Patterns)
	}
}

// TestValidFiles: every example and every stdlib entry checks cleanly.
// fashionDir is where the Debian package dataset-fashion-mnist installs the
// Fashion-MNIST files two examples read.
const fashionDir = "/usr/share/datasets/fashion-mnist"

func TestValidFiles(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.cnn")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, path := range files {
		opts := Options{}
		if src, _ := os.ReadFile(path); strings.Contains(string(src), fashionDir) {
			if _, err := os.Stat(fashionDir); err != nil {
				// Checked without the data files: everything else must still pass.
				t.Logf("%s: %s is not installed (apt-get install dataset-fashion-mnist); checked without looking for its data files", path, fashionDir)
				opts.SkipFiles = true
			}
		}
		_, diags, _ := LoadFile(path, opts)
		if len(diags) > 0 {
			t.Errorf("%s: %v", path, diags)
		}
	}
	for _, e := range stdlib.List() {
		f, d := syntax.Parse(e.File, e.Source)
		out, cd := Check(f, Options{})
		if len(d)+len(cd) > 0 {
			t.Errorf("%s: %v %v", e.Name, d, cd)
		}
		if len(out.Models) != 1 || out.Models[0].Name != e.Model {
			t.Errorf("%s: model block must be named %s", e.Name, e.Model)
		}
	}
}

// TestUseSplices: `use std.NAME` gives the same layers as writing them out.
func TestUseSplices(t *testing.T) {
	a := "model m {\n    input 1x12x12\n    use std.cnn_gap\n}\n"
	b := "model m {\n    input 1x12x12\n    conv 3x3\n    relu\n    avgpool global\n    linear 1\n}\n"
	fa, _ := syntax.Parse("a.cnn", []byte(a))
	fb, _ := syntax.Parse("b.cnn", []byte(b))
	oa, da := Check(fa, Options{})
	ob, db := Check(fb, Options{})
	if len(da)+len(db) > 0 {
		t.Fatal(da, db)
	}
	la, lb := oa.Models[0].Layers, ob.Models[0].Layers
	if len(la) != len(lb) {
		t.Fatalf("%d vs %d layers", len(la), len(lb))
	}
	for i := range la {
		if la[i].Kind != lb[i].Kind || !la[i].Out.Equal(lb[i].Out) || la[i].Index != i {
			t.Errorf("layer %d: %v %v vs %v %v", i, la[i].Kind, la[i].Out, lb[i].Kind, lb[i].Out)
		}
	}
}

// TestDataOverride: --data replaces the train source and keeps the transforms.
func TestDataOverride(t *testing.T) {
	src := "model m {\n    input 2\n    linear 1\n}\ndata train {\n    synthetic spiral\n    limit 7\n}\n"
	f, _ := syntax.Parse("o.cnn", []byte(src))
	out, diags := Check(f, Options{DataOverride: "testdata/ok.csv"})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	d := out.Data["train"]
	if d.Source.Kind != ir.CSV || !filepath.IsAbs(d.Source.Path) || d.Limit != 7 {
		t.Errorf("override: %+v", d)
	}
	_, diags = Check(f, Options{DataOverride: "missing.csv"})
	if len(diags) != 1 || diags[0].Code != "C0308" {
		t.Errorf("missing override file: %v", diags)
	}
	out, diags = Check(f, Options{DataOverride: "synthetic:planted,n=9"})
	if len(diags) > 0 || out.Data["train"].Source.Params["n"] != 9 {
		t.Errorf("synthetic override: %v %+v", diags, out.Data["train"].Source)
	}
}

func TestSuggest(t *testing.T) {
	cases := map[string]string{"avgpol": "avgpool", "lienar": "linear", "reul": "relu", "xyzzy": "", "conv": ""}
	for in, w := range cases {
		if g := suggest(in, LayerKinds); g != w {
			t.Errorf("suggest(%q) = %q, want %q", in, g, w)
		}
	}
}
