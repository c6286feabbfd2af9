package check

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/lang/token"
)

// DataStatements are the statements of a data block.
var DataStatements = []string{"csv", "npy", "images", "labels", "synthetic", "classes", "limit", "scale", "standardize"}

// Generators are the synthetic data sets and their parameters (all numbers):
//
//	planted: n samples (default 100), seed, noise σ (≥ 0, default 0); Gaussian
//	         signals of the model's input shape and one hidden unit-norm filter w*
//	         planted in the model's first convolution: yᵢ = Σₖ cₖ(⟨xᵢₖ, w*⟩)₊ + σeᵢ
//	         (§11; lang/dataset/planted.go gives the positions and weights cₖ).
//	spiral:  n samples (default 100), seed, noise (default 0), turns (default 1.5):
//	         two interleaved spirals in 2-D labelled −1 / +1.
var Generators = map[string][]string{
	"planted": {"n", "seed", "noise"},
	"spiral":  {"n", "seed", "noise", "turns"},
}

func (c *checker) data(b *syntax.Block) *ir.Data {
	name, ok := c.header(b, "data train {")
	d := &ir.Data{Name: name, Range: b.Range}
	var src *syntax.Stmt // the statement that set the source
	var images, labels *syntax.Stmt
	tried := false // a source statement was written (even if it had errors)
	seen := map[string]*syntax.Stmt{}
	setSource := func(s *syntax.Stmt) bool {
		if src != nil {
			dg := c.errorf("C0303", s.KeywordRange, "A data block reads exactly one source: csv, npy, images+labels, or synthetic. Put the other source in its own data block.",
				"data block `%s` has more than one source", name)
			dg.Related = append(dg.Related, diag.Related{Message: "source already given here", Range: src.Range})
			return false
		}
		src = s
		d.Source.Range = s.Range
		return true
	}
	for _, s := range b.Stmts {
		if s.Bad {
			if s.Keyword == "csv" || s.Keyword == "npy" || s.Keyword == "synthetic" || s.Keyword == "images" {
				src = s
			}
			continue
		}
		if !contains(DataStatements, s.Keyword) {
			dg := c.errorf("C0301", s.KeywordRange, "Data statements are csv, npy, images, labels, synthetic, classes, limit, scale and standardize.",
				"unknown data statement `%s`", s.Keyword)
			dg.Suggest = suggest(s.Keyword, DataStatements)
			continue
		}
		if prev := seen[s.Keyword]; prev != nil {
			dg := c.errorf("C0116", s.KeywordRange, "Give this statement once per data block.", "`%s` given twice", s.Keyword)
			dg.Related = append(dg.Related, diag.Related{Message: "first given here", Range: prev.Range})
			continue
		}
		seen[s.Keyword] = s
		if s.Keyword == "csv" || s.Keyword == "npy" || s.Keyword == "synthetic" || s.Keyword == "images" || s.Keyword == "labels" {
			tried = true
		}
		what := "`" + s.Keyword + "`"
		switch s.Keyword {
		case "csv":
			a := c.args(what, s.Args, []string{"label", "header"})
			if !c.npos(s, a, 1, "Write `csv \"file.csv\" [label=last|first|COLUMN] [header=true|false]`.") || !setSource(s) {
				continue
			}
			d.Source.Kind = ir.CSV
			d.Source.Label = "last"
			if p, ok := c.str(a.pos[0], "the csv path"); ok {
				d.Source.Path = c.resolvePath(p, a.pos[0].Range, "csv")
			}
			if v := a.get("label"); v != nil {
				switch {
				case v.Kind == syntax.Ident && (v.Text == "last" || v.Text == "first"):
					d.Source.Label = v.Text
				case v.Kind == syntax.String && v.Text != "":
					d.Source.Label = v.Text
				case v.Kind == syntax.Number:
					if n, ok := c.integer(v, "label column", 0); ok {
						d.Source.Label = fmt.Sprint(n)
					}
				default:
					dg := c.errorf("C0113", v.Range, "Write `label=last`, `label=first`, a 0-based column number, or a column name in quotes.",
						"label must be last, first, a column number or a column name, found %s", describe(v))
					if v.Kind == syntax.Ident {
						dg.Suggest = suggest(v.Text, []string{"last", "first"})
					}
				}
			}
			if v := a.get("header"); v != nil {
				d.Source.Header, _ = c.boolean(v, "header")
			}
		case "npy":
			a := c.args(what, s.Args, nil)
			if !c.npos(s, a, 2, "Write `npy \"X.npy\" \"y.npy\"`: the features, then the targets.") || !setSource(s) {
				continue
			}
			d.Source.Kind = ir.NPY
			if p, ok := c.str(a.pos[0], "the features (X) path"); ok {
				d.Source.XPath = c.resolvePath(p, a.pos[0].Range, "npy")
			}
			if p, ok := c.str(a.pos[1], "the targets (y) path"); ok {
				d.Source.YPath = c.resolvePath(p, a.pos[1].Range, "npy")
			}
		case "images", "labels":
			a := c.args(what, s.Args, nil)
			if !c.npos(s, a, 2, fmt.Sprintf("Write `%s idx \"file[.gz]\"`.", s.Keyword)) {
				continue
			}
			if f := a.pos[0]; f.Kind != syntax.Ident || f.Text != "idx" {
				dg := c.errorf("C0113", f.Range, fmt.Sprintf("The only image format is IDX (MNIST layout): `%s idx \"file[.gz]\"`.", s.Keyword),
					"unknown %s format %s", s.Keyword, describe(f))
				if f.Kind == syntax.Ident {
					dg.Suggest = suggest(f.Text, []string{"idx"})
				}
				continue
			}
			p, ok := c.str(a.pos[1], "the "+s.Keyword+" path")
			if !ok {
				continue
			}
			abs := c.resolvePath(p, a.pos[1].Range, s.Keyword)
			if s.Keyword == "images" {
				if !setSource(s) {
					continue
				}
				images = s
				d.Source.Kind = ir.IDX
				d.Source.XPath = abs
			} else {
				labels = s
				d.Source.YPath = abs
			}
		case "synthetic":
			if len(s.Args) == 0 || s.Args[0].Key != "" || s.Args[0].Value.Kind != syntax.Ident {
				c.errorf("C0112", s.Range, "Write `synthetic NAME [key=value ...]` with NAME planted or spiral.", "synthetic needs a generator name")
				continue
			}
			gen := s.Args[0].Value
			keys, known := Generators[gen.Text]
			if !known {
				dg := c.errorf("C0306", gen.Range, "The generators are `planted` and `spiral`.", "unknown synthetic data set `%s`", gen.Text)
				dg.Suggest = suggest(gen.Text, sortedKeys(Generators))
				continue
			}
			a := c.args(what, s.Args, keys)
			if len(a.pos) > 1 {
				c.errorf("C0112", a.pos[1].Range, "Generator parameters are key=value pairs, e.g. `synthetic spiral n=200 seed=1`.", "unexpected value in synthetic")
			}
			if !setSource(s) {
				continue
			}
			d.Source.Kind = ir.Synthetic
			d.Source.Generator = gen.Text
			d.Source.Params = map[string]float64{}
			for _, k := range sortedKeys(a.kv) {
				v := a.kv[k].Value
				switch k {
				case "n":
					if n, ok := c.integer(v, k, 1); ok {
						d.Source.Params[k] = float64(n)
					}
				case "seed":
					if n, ok := c.integerIn(v, k, 0, 1<<53); ok {
						d.Source.Params[k] = float64(n)
					}
				default:
					if f, ok := c.number(v, k); ok {
						if f < 0 {
							c.errorf("C0114", v.Range, fmt.Sprintf("%s must be ≥ 0.", k), "%s must be ≥ 0, found %s", k, v.Raw)
						} else {
							d.Source.Params[k] = f
						}
					}
				}
			}
		case "classes":
			d.ClassesRange = s.Range
			a := c.args(what, s.Args, nil)
			switch {
			case len(a.pos) == 1 && a.pos[0].Kind == syntax.Ident && a.pos[0].Text == "all":
				d.AllClasses = true
			case len(a.pos) == 2:
				// Class labels are any integers (e.g. `classes -1 1` for ±1 labels).
				x, ok1 := c.integerIn(a.pos[0], "class", -1<<31, 1<<31)
				y, ok2 := c.integerIn(a.pos[1], "class", -1<<31, 1<<31)
				if ok1 && ok2 {
					if x == y {
						c.errorf("C0307", s.Range, "`classes A B` keeps two different classes: A becomes −1 and B becomes +1.", "classes must be two different labels, found %d twice", x)
					} else {
						d.Classes = []int{x, y}
					}
				}
			case len(a.pos) >= 3:
				// classes A B C …: keep these classes, one-hot targets in the listed order
				var cls []int
				ok := true
				seenC := map[int]bool{}
				for _, v := range a.pos {
					x, okx := c.integer(v, "class", 0)
					if !okx {
						ok = false
						continue
					}
					if seenC[x] {
						c.errorf("C0307", v.Range, "`classes A B C …` lists each class once; the one-hot columns follow the list.", "class %d is listed twice", x)
						ok = false
					}
					seenC[x] = true
					cls = append(cls, x)
				}
				if ok {
					d.Classes = cls
				}
			default:
				dg := c.errorf("C0307", s.Range, "Write `classes A B` (A → −1, B → +1, other rows dropped), `classes A B C …` (one-hot targets over the listed classes) or `classes all` (one-hot targets over every class).",
					"classes needs two or more class labels or `all`")
				if len(a.pos) == 1 && a.pos[0].Kind == syntax.Ident {
					dg.Suggest = suggest(a.pos[0].Text, []string{"all"})
				}
			}
		case "limit":
			a := c.args(what, s.Args, nil)
			if c.npos(s, a, 1, "Write `limit N`: keep the first N samples after filtering.") {
				d.Limit, _ = c.integer(a.pos[0], "limit", 1)
			}
		case "scale":
			a := c.args(what, s.Args, nil)
			if c.npos(s, a, 1, "Write `scale F`: multiply every feature by F.") {
				if f, ok := c.number(a.pos[0], "scale"); ok {
					if f == 0 {
						c.errorf("C0114", a.pos[0].Range, "Scaling by zero erases the data; give a non-zero factor such as 0.00392156862745098 (1/255).", "scale must not be 0")
					} else {
						d.Scale, d.HasScale = f, true
					}
				}
			}
		case "standardize":
			a := c.args(what, s.Args, nil)
			c.npos(s, a, 0, "Write `standardize` alone.")
			d.Standardize = true
		}
	}
	if images != nil && labels == nil && seen["labels"] == nil {
		c.errorf("C0305", images.Range, "IDX images need their labels: add `labels idx \"…-labels-idx1-ubyte.gz\"`.", "images without labels")
	}
	if labels != nil && images == nil && seen["images"] == nil {
		c.errorf("C0305", labels.Range, "IDX labels need their images: add `images idx \"…-images-idx3-ubyte.gz\"`.", "labels without images")
	}
	if src == nil && !tried && (c.opts.DataOverride == "" || name != "train") {
		c.errorf("C0302", b.KindRange, "Add one source: `csv \"file.csv\"`, `npy \"X.npy\" \"y.npy\"`, `images idx …` with `labels idx …`, or `synthetic spiral`.",
			"data block `%s` has no source", name)
	}
	if d.AllClasses && d.Classes != nil {
		c.errorf("C0307", b.KindRange, "", "both `classes all` and a list of classes")
	}
	if !ok {
		return nil
	}
	return d
}

// npos checks the number of positional values of s.
func (c *checker) npos(s *syntax.Stmt, a *argSet, n int, detail string) bool {
	if len(a.pos) == n {
		return true
	}
	r := s.Range
	if len(a.pos) > n {
		r = a.pos[n].Range
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	c.errorf("C0112", r, detail, "`%s` takes %d value%s, found %d", s.Keyword, n, plural, len(a.pos))
	return false
}

// override applies Options.DataOverride to the `data train` block: its source
// (and a limit= option) replace the block's; its other transforms stay.
func (c *checker) override() {
	o := c.opts.DataOverride
	if o == "" {
		return
	}
	nd, dl := parseDataSpec(o, false, c.opts.SkipFiles)
	c.diags = append(c.diags, dl...)
	if dl.HasErrors() {
		return
	}
	d := c.out.Data["train"]
	if d == nil {
		d = &ir.Data{Name: "train", Range: nd.Range}
		c.out.Data["train"] = d
	}
	d.Source = nd.Source
	if nd.Limit > 0 {
		d.Limit = nd.Limit
	}
}

// ParseDataSpec reads a data source written in the command line's --data forms,
// with the options of a data block's source (relative paths are relative to the
// current directory; files must exist):
//
//	PATH.csv[,header=true|false][,label=last|first|COLUMN]  CSV (default: label last, no header)
//	X.npy,y.npy                                           NumPy features and targets
//	IMAGES,LABELS                                         IDX images and labels (gzip optional)
//	synthetic:NAME[,key=value...]                         a generated set
//
// each optionally followed by ,limit=N. With unlabeled (prediction inputs) three
// more forms read features without targets: PATH.csv,label=none, X.npy alone and
// IMAGES alone. The returned block has only a source (and Limit); diagnostics are
// positioned in the pseudo-file "--data".
func ParseDataSpec(spec string, unlabeled bool) (*ir.Data, diag.List) {
	return parseDataSpec(spec, unlabeled, false)
}

func parseDataSpec(o string, unlabeled, skipFiles bool) (*ir.Data, diag.List) {
	var dl diag.List
	r := token.Range{File: "--data", Start: token.Pos{Offset: 0, Line: 1, Col: 1}, End: token.Pos{Offset: len(o), Line: 1, Col: len(o) + 1}}
	d := &ir.Data{Name: "train", Range: r}
	src := ir.DataSource{Range: r}
	bad := func(detail, format string, args ...any) *diag.Diagnostic {
		return dl.Errorf("C0308", r, detail, format, args...)
	}
	exists := func(p string) bool {
		if skipFiles || fileExists(p) {
			return true
		}
		bad(fmt.Sprintf("The file %s given with --data does not exist.", p), "--data file not found: %s", p)
		return false
	}
	forms := "--data takes FILE.csv[,header=true][,label=COLUMN], X.npy,y.npy, IMAGES,LABELS (IDX) or synthetic:NAME[,key=value...], each optionally followed by ,limit=N."
	if unlabeled {
		forms += " Without targets: FILE.csv,label=none, X.npy or IMAGES alone."
	}
	parts := strings.Split(o, ",")
	// limit=N may follow any form.
	if k := len(parts) - 1; k > 0 && strings.HasPrefix(parts[k], "limit=") {
		n, err := strconv.Atoi(strings.TrimPrefix(parts[k], "limit="))
		if err != nil || n < 1 {
			bad("limit=N keeps the first N samples; N must be a positive integer.", "bad --data option %q", parts[k])
			return nil, dl
		}
		d.Limit, parts = n, parts[:k]
	}
	var paths []string
	opts := map[string]string{}
	if !strings.HasPrefix(o, "synthetic:") {
		for _, p := range parts {
			if k, v, found := strings.Cut(p, "="); found {
				if k != "header" && k != "label" {
					bad(forms, "unknown --data option %q", p)
					return nil, dl
				}
				opts[k] = v
			} else if len(opts) > 0 {
				bad(forms, "--data: the file %q must come before the options", p)
				return nil, dl
			} else {
				paths = append(paths, p)
			}
		}
	}
	isCSV := len(paths) == 1 && strings.HasSuffix(strings.ToLower(paths[0]), ".csv")
	if len(opts) > 0 && !isCSV {
		bad(forms, "--data options header= and label= apply to a .csv file")
		return nil, dl
	}
	switch {
	case strings.HasPrefix(o, "synthetic:"):
		gen := strings.TrimPrefix(parts[0], "synthetic:")
		keys, ok := Generators[gen]
		if !ok {
			dg := bad("The generators are `planted` and `spiral`, e.g. `--data synthetic:spiral,n=200`.", "unknown synthetic data set `%s` in --data", gen)
			dg.Suggest = suggest(gen, sortedKeys(Generators))
			return nil, dl
		}
		src.Kind, src.Generator, src.Params = ir.Synthetic, gen, map[string]float64{}
		for _, kv := range parts[1:] {
			k, v, found := strings.Cut(kv, "=")
			var f float64
			_, err := fmt.Sscan(v, &f)
			if !found || !contains(keys, k) || err != nil || f < 0 {
				bad(fmt.Sprintf("Parameters of %s are %s, written key=value with non-negative numbers.", gen, strings.Join(keys, ", ")), "bad --data parameter %q", kv)
				return nil, dl
			}
			src.Params[k] = f
		}
	case isCSV:
		src.Kind, src.Path, src.Label = ir.CSV, absPath(paths[0]), "last"
		if v, ok := opts["header"]; ok {
			switch v {
			case "true":
				src.Header = true
			case "false":
			default:
				bad("Write header=true or header=false.", "bad --data option header=%s", v)
				return nil, dl
			}
		}
		if v, ok := opts["label"]; ok {
			switch {
			case v == "":
				bad("Write label=last, label=first, a 0-based column number or a header name.", "empty --data option label=")
				return nil, dl
			case v == "none" && !unlabeled:
				bad("Training data need targets: give the label column with label=last, label=first, a 0-based column number or a header name.", "--data label=none: the training data have no targets")
				return nil, dl
			}
			src.Label = v
			src.NoLabel = v == "none"
		}
		if !exists(src.Path) {
			return nil, dl
		}
	case len(paths) == 2 && paths[0] != "" && paths[1] != "":
		src.XPath, src.YPath = absPath(paths[0]), absPath(paths[1])
		src.Kind = ir.IDX
		if strings.HasSuffix(strings.ToLower(paths[0]), ".npy") {
			src.Kind = ir.NPY
		}
		if !exists(src.XPath) || !exists(src.YPath) {
			return nil, dl
		}
	case len(paths) == 1 && paths[0] != "" && unlabeled:
		src.XPath = absPath(paths[0])
		src.Kind = ir.IDX
		if strings.HasSuffix(strings.ToLower(paths[0]), ".npy") {
			src.Kind = ir.NPY
		}
		if !exists(src.XPath) {
			return nil, dl
		}
	default:
		bad(forms, "cannot read --data %q", o)
		return nil, dl
	}
	d.Source = src
	return d, dl
}
