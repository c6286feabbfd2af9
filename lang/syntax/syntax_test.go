package syntax

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cnnc-org/cnnc/lang/token"
)

// corpus returns every example and stdlib file.
func corpus(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	for _, pat := range []string{"../../examples/*.cnn", "../../stdlib/arch/*.cnn"} {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[f] = b
		}
	}
	if len(out) < 10 {
		t.Fatalf("corpus has only %d files", len(out))
	}
	return out
}

// stripRanges zeroes every token.Range in the AST so that trees can be compared
// ignoring positions.
func stripRanges(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			stripRanges(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			stripRanges(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(token.Range{}) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			stripRanges(v.Field(i))
		}
	}
}

func sameAST(a, b *File) bool {
	stripRanges(reflect.ValueOf(a))
	stripRanges(reflect.ValueOf(b))
	a.Name, b.Name = "", ""
	return reflect.DeepEqual(a, b)
}

// TestRoundTrip: Parse → Print → Parse gives the same AST, Format is idempotent,
// and the committed files are already canonical.
func TestRoundTrip(t *testing.T) {
	for name, src := range corpus(t) {
		f1, d := Parse(name, src)
		if len(d) > 0 {
			t.Fatalf("%s: %v", name, d)
		}
		var buf bytes.Buffer
		if err := Print(&buf, f1); err != nil {
			t.Fatal(err)
		}
		f2, d := Parse(name, buf.Bytes())
		if len(d) > 0 {
			t.Fatalf("%s reprinted: %v\n%s", name, d, buf.String())
		}
		if !sameAST(f1, f2) {
			t.Errorf("%s: AST changed by printing", name)
		}
		out, _ := Format(name, buf.Bytes())
		if !bytes.Equal(out, buf.Bytes()) {
			t.Errorf("%s: Format not idempotent:\n%s\n---\n%s", name, buf.String(), out)
		}
		if !bytes.Equal(src, buf.Bytes()) {
			t.Errorf("%s is not canonically formatted (run cnnc fmt -w)", name)
		}
	}
}

// TestRecoveryAgrees: on valid files the unit-by-unit recovery parser builds the
// same AST as the whole-file grammar.
func TestRecoveryAgrees(t *testing.T) {
	for name, src := range corpus(t) {
		a, _ := parse(name, src, false)
		b, d := parse(name, src, true)
		if len(d) > 0 || !sameAST(a, b) {
			t.Errorf("%s: recovery parse differs (%v)", name, d)
		}
	}
}

// TestFormatMessy: a badly laid out file becomes canonical, comments survive, and
// the result is a fixed point.
func TestFormatMessy(t *testing.T) {
	src := "# head\n\n\nmodel   net   {   # open\n\n  input    1x8x8\n\t conv 3x3   stride=2 # c1\n  relu\n\n\n  # about pooling\n  avgpool global   # c2\n  linear 1 bias=true\n  # end of model\n}  # close\n# trailing\n"
	want := "# head\n\nmodel net {  # open\n    input   1x8x8\n    conv    3x3 stride=2  # c1\n    relu\n\n    # about pooling\n    avgpool global  # c2\n    linear  1 bias=true\n    # end of model\n}  # close\n# trailing\n"
	out, d := Format("m.cnn", []byte(src))
	if len(d) > 0 {
		t.Fatal(d)
	}
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	again, _ := Format("m.cnn", out)
	if !bytes.Equal(again, out) {
		t.Errorf("not idempotent:\n%s", again)
	}
}

// TestPositions: every node's range covers exactly its source text.
func TestPositions(t *testing.T) {
	src := []byte("model net {\n    conv 3x3 stride=2 name=\"a\\\"b\" list=[1, 2x2]\n}\n")
	f, d := Parse("p.cnn", src)
	if len(d) > 0 {
		t.Fatal(d)
	}
	text := func(r token.Range) string { return string(src[r.Start.Offset:r.End.Offset]) }
	b := f.Blocks[0]
	if text(b.KindRange) != "model" || text(b.Open) != "{" || text(b.Close) != "}" || !strings.HasPrefix(text(b.Range), "model") || !strings.HasSuffix(text(b.Range), "}") {
		t.Errorf("block ranges wrong")
	}
	s := b.Stmts[0]
	if text(s.Range) != `conv 3x3 stride=2 name="a\"b" list=[1, 2x2]` || text(s.KeywordRange) != "conv" {
		t.Errorf("stmt range %q", text(s.Range))
	}
	if s.Range.Start.Line != 2 || s.Range.Start.Col != 5 {
		t.Errorf("stmt position %v", s.Range.Start)
	}
	for _, a := range s.Args {
		if text(a.Range) != a.String() || text(a.Value.Range) != a.Value.Raw {
			t.Errorf("arg %q range %q / value %q", a.String(), text(a.Range), text(a.Value.Range))
		}
	}
	if v := s.Args[2].Value; v.Text != `a"b` || v.Kind != String {
		t.Errorf("string value %+v", v)
	}
	if v := s.Args[3].Value; v.Kind != List || len(v.Items) != 2 || v.Items[1].Dims[1] != 2 {
		t.Errorf("list value %+v", v)
	}
}

// TestSeveralSyntaxErrors: independent errors in separate statements and blocks are
// all reported, each at its exact place, and the rest of the file still parses.
func TestSeveralSyntaxErrors(t *testing.T) {
	src := "model a {\n    conv 3x3 stride=\n    relu\n    linear [1\n}\ndata train {\n    csv \"x.csv\n    limit 3 = 4\n}\n"
	f, d := Parse("e.cnn", []byte(src))
	want := []string{"S0201 2:20", "S0201 4:14", "S0102 7:9", "S0201 8:13"}
	if len(d) != len(want) {
		t.Fatalf("got %v", d)
	}
	for i, x := range d {
		if g := x.Code + " " + x.Range.Start.String(); g != want[i] {
			t.Errorf("diagnostic %d: %s, want %s", i, g, want[i])
		}
	}
	if len(f.Blocks) != 2 || len(f.Blocks[0].Stmts) != 3 || f.Blocks[0].Stmts[1].Keyword != "relu" || f.Blocks[0].Stmts[1].Bad || !f.Blocks[0].Stmts[0].Bad {
		t.Errorf("recovered AST wrong")
	}
	if out, d := Format("e.cnn", []byte(src)); out != nil || len(d) == 0 {
		t.Errorf("Format must refuse a file with syntax errors")
	}
}
