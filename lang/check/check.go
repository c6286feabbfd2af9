package check

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/lang/token"
	"github.com/cnnc-org/cnnc/stdlib"
)

// Options control checking.
type Options struct {
	// Dir is the folder that relative data paths are resolved against; empty means
	// the folder of the file's name.
	Dir string

	// DataOverride replaces the source of the `data train` block (creating the block
	// if the file has none); its transforms (classes, limit, scale, standardize) are
	// kept. Forms, relative to the current directory:
	//
	//	PATH.csv                    CSV, label in the last column, no header row
	//	X.npy,y.npy                 NumPy features and targets
	//	IMAGES,LABELS               IDX images and labels (gzip optional)
	//	synthetic:NAME[,key=value]  a generated set, e.g. synthetic:spiral,n=200,seed=1
	DataOverride string

	// SkipFiles skips the check that data files exist (for tests, fuzzing and
	// checking a file on a machine without its data).
	SkipFiles bool
}

// BlockKinds are the top-level block kinds.
var BlockKinds = []string{"model", "data", "train"}

type checker struct {
	opts  Options
	name  string
	dir   string
	diags diag.List
	out   *ir.File

	unknownBlock bool // a misspelled block kind: do not also say "no model"
}

func (c *checker) errorf(code string, r token.Range, detail, format string, args ...any) *diag.Diagnostic {
	return c.diags.Errorf(code, r, detail, format, args...)
}

func (c *checker) warnf(code string, r token.Range, detail, format string, args ...any) *diag.Diagnostic {
	d := &diag.Diagnostic{Severity: diag.Warning, Code: code, Range: r, Detail: detail, Summary: fmt.Sprintf(format, args...)}
	c.diags.Add(d)
	return d
}

// Check checks a parsed file. It always returns an ir.File holding everything that
// checked (with defaults filled in), and the diagnostics sorted by position.
func Check(f *syntax.File, opts Options) (*ir.File, diag.List) {
	dir := opts.Dir
	if dir == "" {
		dir = filepath.Dir(f.Name)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c := &checker{opts: opts, name: f.Name, dir: dir}
	c.out = &ir.File{Path: f.Name, Dir: dir, Data: map[string]*ir.Data{}, Train: defaultTrain()}
	var trainBlock *syntax.Block
	for _, b := range f.Blocks {
		if b.Kind == "" {
			continue // header did not parse; reported as a syntax error
		}
		switch b.Kind {
		case "model":
			if m := c.model(b); m != nil {
				if prev := c.out.Model(m.Name); prev != nil {
					d := c.errorf("C0103", m.Range, "Give every model a different name.", "duplicate model `%s`", m.Name)
					d.Related = append(d.Related, diag.Related{Message: "first defined here", Range: prev.Range})
				} else {
					c.out.Models = append(c.out.Models, m)
				}
			}
		case "data":
			if d := c.data(b); d != nil {
				if prev := c.out.Data[d.Name]; prev != nil {
					dg := c.errorf("C0103", d.Range, "Give every data block a different name (`train`, `test`).", "duplicate data block `%s`", d.Name)
					dg.Related = append(dg.Related, diag.Related{Message: "first defined here", Range: prev.Range})
				} else {
					c.out.Data[d.Name] = d
				}
			}
		case "train":
			if trainBlock != nil {
				d := c.errorf("C0105", b.KindRange, "A file has at most one train block; merge them.", "second train block")
				d.Related = append(d.Related, diag.Related{Message: "first train block here", Range: trainBlock.KindRange})
				continue
			}
			trainBlock = b
			c.train(b)
		default:
			d := c.errorf("C0101", b.KindRange, "Top-level blocks are `model NAME { }`, `data NAME { }` and `train { }`.",
				"unknown block kind `%s`", b.Kind)
			d.Suggest = suggest(b.Kind, BlockKinds)
			c.unknownBlock = true
		}
	}
	if len(c.out.Models) == 0 && !hasKind(f, "model") && !f.Incomplete && !c.unknownBlock {
		c.errorf("C0104", token.Range{File: f.Name, Start: token.Pos{Offset: 0, Line: 1, Col: 1}, End: token.Pos{Offset: 0, Line: 1, Col: 1}},
			"Describe the architecture in a block such as `model net { input 10  linear auto  relu  linear 1 }` (one statement per line).",
			"file has no model")
	}
	c.selectModel(trainBlock)
	c.override()
	for name, d := range c.out.Data {
		if name != "train" && name != "test" {
			c.warnf("W0101", d.Range, "Only the data blocks named `train` (trained on) and `test` (evaluated) are used.",
				"data block `%s` is never used", name)
		}
	}
	c.diags.Sort()
	return c.out, c.diags
}

func hasKind(f *syntax.File, kind string) bool {
	for _, b := range f.Blocks {
		if b.Kind == kind {
			return true
		}
	}
	return false
}

// header checks `KIND NAME {` and returns the name.
func (c *checker) header(b *syntax.Block, example string) (string, bool) {
	name, arg := b.Name()
	for _, a := range b.Args {
		if a == arg {
			continue
		}
		if a.Key != "" {
			c.errorf("C0102", a.Range, fmt.Sprintf("A %s block header is `%s`.", b.Kind, example), "unexpected `%s=` in %s block header", a.Key, b.Kind)
		} else {
			c.errorf("C0102", a.Range, fmt.Sprintf("A %s block header is `%s`.", b.Kind, example), "unexpected %s in %s block header", describe(a.Value), b.Kind)
		}
	}
	if arg == nil && b.BadHeader {
		return "", false // the header's syntax error is reported
	}
	if arg == nil {
		c.errorf("C0102", b.KindRange, fmt.Sprintf("A %s block needs a name: `%s`.", b.Kind, example), "%s block without a name", b.Kind)
		return "", false
	}
	if name == "" || name == "true" || name == "false" {
		c.errorf("C0102", arg.Range, fmt.Sprintf("The name of a %s block is an identifier: `%s`.", b.Kind, example), "%s block name must be an identifier, found %s", b.Kind, describe(arg.Value))
		return "", false
	}
	return name, true
}

func (c *checker) selectModel(tb *syntax.Block) {
	t := &c.out.Train
	if t.Model != "" {
		c.out.Trained = c.out.Model(t.Model)
		if c.out.Trained == nil && tb != nil {
			var names []string
			for _, m := range c.out.Models {
				names = append(names, m.Name)
			}
			for _, a := range tb.Args {
				if a.Key == "model" {
					d := c.errorf("C0107", a.Value.Range, fmt.Sprintf("`model=` names the model to train; this file defines %s.", listOr(names)),
						"train names unknown model `%s`", t.Model)
					d.Suggest = suggest(t.Model, names)
				}
			}
		}
		return
	}
	switch len(c.out.Models) {
	case 1:
		c.out.Trained = c.out.Models[0]
		t.Model = c.out.Trained.Name
	case 0:
	default:
		if tb != nil {
			var names []string
			for _, m := range c.out.Models {
				names = append(names, m.Name)
			}
			c.errorf("C0106", tb.KindRange, fmt.Sprintf("This file defines %d models (%s); say which one to train with `train model=NAME {`.", len(names), strings.Join(names, ", ")),
				"train block must name its model")
		}
	}
}

func listOr(names []string) string {
	if len(names) == 0 {
		return "no model"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return strings.Join(q, ", ")
}

// resolvePath makes p absolute against the file's folder and checks it exists.
func (c *checker) resolvePath(p string, r token.Range, what string) string {
	if p == "" {
		c.errorf("C0304", r, "Give the path of the file, relative to the .cnn file's folder or absolute.", "empty %s path", what)
		return ""
	}
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(c.dir, p)
	}
	if !c.opts.SkipFiles {
		st, err := os.Stat(abs)
		switch {
		case err != nil:
			why := "it does not exist"
			if !os.IsNotExist(err) {
				why = fmt.Sprint(unwrapPathErr(err))
			}
			c.errorf("C0304", r, fmt.Sprintf("Looked for %s, but %s. Paths are relative to the folder of the .cnn file.", abs, why),
				"%s file not found: %s", what, p)
		case st.IsDir():
			c.errorf("C0304", r, fmt.Sprintf("%s is a folder; give the path of the %s file in it. Paths are relative to the folder of the .cnn file.", abs, what),
				"%s path is a folder, not a file: %s", what, p)
		case !st.Mode().IsRegular():
			c.errorf("C0304", r, fmt.Sprintf("%s is a %s; cnnc reads data from regular files only (a pipe would block the run). Copy the data into a file.", abs, fileKind(st.Mode())),
				"%s path is not a regular file: %s", what, p)
		}
	}
	return abs
}

// LoadFile reads the .cnn file at path, parses it, checks it (resolving `use std.…`
// references and data paths) and returns the IR, all diagnostics, and the sources
// needed to render them (the file itself and every standard-library file).
func LoadFile(path string, opts Options) (*ir.File, diag.List, diag.Sources) {
	srcs := diag.Sources{}
	for _, e := range stdlib.List() {
		srcs[e.File] = token.NewFile(e.File, e.Source)
	}
	src, err := readSource(path)
	if err != nil {
		var l diag.List
		l.Errorf("C0100", token.Range{File: path}, "Check the file name; cnnc reads .cnn files.", "cannot read %s: %v", path, err)
		return nil, l, srcs
	}
	srcs[path] = token.NewFile(path, src)
	f, diags := syntax.Parse(path, src)
	out, cd := Check(f, opts)
	diags = append(diags, cd...)
	diags.Sort()
	return out, diags, srcs
}

// readSource reads a .cnn file: a regular file only (a FIFO would block, a device
// may never end), refused with a sentence naming what it is.
func readSource(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPathErr(err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("it is a folder, not a .cnn file")
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("it is a %s, not a regular file", fileKind(st.Mode()))
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, unwrapPathErr(err)
	}
	return src, nil
}

// fileKind names a non-regular file mode.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
