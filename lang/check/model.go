package check

import (
	"fmt"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/lang/token"
	"github.com/cnnc-org/cnnc/stdlib"
)

// LayerKinds are the layer keywords of a model block (plus `use`).
var LayerKinds = []string{"input", "conv", "circconv", "relu", "gated", "avgpool", "maxpool", "flatten", "linear", "use"}

var kindOf = map[string]ir.LayerKind{
	"input": ir.Input, "conv": ir.Conv, "circconv": ir.CircConv, "relu": ir.ReLU, "gated": ir.Gated,
	"avgpool": ir.AvgPool, "maxpool": ir.MaxPool, "flatten": ir.Flatten, "linear": ir.Linear,
}

// modelState is the running state of shape inference in one model.
type modelState struct {
	m        *ir.Model
	sawInput bool
	broken   bool        // an earlier error stops shape inference
	cur      ir.Shape    // output shape of the last layer
	curFrom  token.Range // where cur was produced
	last     *syntax.Stmt
	missing  bool // "must start with input" was reported
	lastRng  token.Range
	inStd    bool
	run      *ir.Layer // first layer of the current run of branched layers, or nil
}

func (c *checker) model(b *syntax.Block) *ir.Model {
	name, ok := c.header(b, "model NAME {")
	if !ok {
		name = ""
	}
	st := &modelState{m: &ir.Model{Name: name, Range: b.Range}}
	for i, s := range b.Stmts {
		c.layer(st, s, i == 0)
	}
	hasBad := false
	for _, s := range b.Stmts {
		hasBad = hasBad || s.Bad
	}
	switch {
	case !st.sawInput && !hasBad:
		r := b.KindRange
		if _, a := b.Name(); a != nil {
			r = a.Range
		}
		c.errorf("C0202", r, "The first statement of a model is `input SHAPE`, e.g. `input 1x28x28`, `input 2x64` or `input 10`.",
			"model `%s` has no input layer", name)
	case st.last != nil && !st.last.Bad && len(st.m.Layers) > 0:
		l := st.m.Layers[len(st.m.Layers)-1]
		if l.Kind == ir.Linear && l.Branches != 0 {
			c.errorf("C0222", st.lastRng, "The output layer sums the branches: end the model with `linear 1` (no `branches=`) after the last branched layer.",
				"output layer has branches")
		} else if l.Kind != ir.Linear || l.Width == ir.Auto {
			if !st.broken || l.Kind != ir.Linear {
				what := "`" + st.last.Keyword + "`"
				if l.Kind == ir.Linear {
					what = "`linear auto`"
				}
				c.errorf("C0209", st.lastRng, "A model ends with its output layer: `linear 1` for a scalar output or `linear C` for C outputs (a number, not `auto`).",
					"output layer must be `linear N`, found %s", what)
			}
		}
	}
	if !ok {
		return nil
	}
	return st.m
}

// layer checks one statement of a model block.
func (c *checker) layer(st *modelState, s *syntax.Stmt, first bool) {
	if s.Bad {
		if s.Keyword == "input" {
			st.sawInput = true
		}
		st.broken = true
		st.last = s
		return
	}
	if s.Keyword == "use" {
		c.use(st, s, first)
		return
	}
	kind, known := kindOf[s.Keyword]
	if !known {
		d := c.errorf("C0201", s.KeywordRange, "Layers are input, conv, circconv, relu, gated, avgpool, maxpool, flatten and linear (or `use std.NAME`).",
			"unknown layer kind `%s`", s.Keyword)
		d.Suggest = suggest(s.Keyword, LayerKinds)
		st.broken = true
		st.last = nil // no output-layer complaint about an unknown statement
		return
	}
	st.last = s
	st.lastRng = s.Range
	l := &ir.Layer{Index: len(st.m.Layers), Kind: kind, Range: s.Range}
	if kind == ir.Input {
		c.input(st, s, l, first)
		return
	}
	if !st.sawInput {
		if len(st.m.Layers) == 0 && first {
			c.errorf("C0202", s.Range, "The first statement of a model is `input SHAPE`, e.g. `input 1x28x28`; add it above this line.",
				"model must start with `input`, found `%s`", s.Keyword)
			st.missing = true
		}
		st.sawInput = true // reported once
		st.broken = true
	}
	in := st.cur
	if st.broken {
		in = nil
	}
	ok := c.layerArgs(st, s, l, in)
	l.In = in
	c.branchRun(st, l)
	if !ok || in == nil {
		st.broken = true
		st.cur = nil
	} else {
		st.cur, st.curFrom = l.Out, s.Range
	}
	st.m.Layers = append(st.m.Layers, l)
}

func (c *checker) input(st *modelState, s *syntax.Stmt, l *ir.Layer, first bool) {
	if st.missing {
		st.missing = false // the later input is the fix of the first error
		st.m.Layers = append(st.m.Layers, l)
		return
	}
	if st.sawInput || !first {
		d := c.errorf("C0203", s.Range, "A model has exactly one `input`, and it is the first statement.",
			"`input` must be the first layer and appear once")
		if len(st.m.Layers) > 0 {
			d.Related = append(d.Related, diag.Related{Message: "first layer here", Range: st.m.Layers[0].Range})
		}
		st.sawInput = true
		st.broken = true
		return
	}
	st.sawInput = true
	a := c.args("input", s.Args, nil)
	if len(a.pos) != 1 {
		c.errorf("C0204", s.Range, "Write the shape of one sample: `input 1x28x28` (CxHxW), `input 2x64` (CxL) or `input 10` (a vector).",
			"input needs exactly one shape, found %d values", len(a.pos))
		st.broken = true
		st.m.Layers = append(st.m.Layers, l)
		return
	}
	v := a.pos[0]
	var shape ir.Shape
	switch v.Kind {
	case syntax.Number:
		if n, ok := c.integer(v, "input size", 1); ok {
			shape = ir.Shape{n}
		}
	case syntax.Shape:
		if len(v.Dims) > 3 {
			c.errorf("C0204", v.Range, "Input shapes have at most three dimensions: CxHxW for images, CxL for signals, D for vectors.",
				"input shape %s has %d dimensions", v.Raw, len(v.Dims))
		} else if dims, ok := c.dims(v, "input shape", len(v.Dims), 1, false); ok {
			shape = dims
		}
	default:
		c.errorf("C0204", v.Range, "Write the shape of one sample: `input 1x28x28` (CxHxW), `input 2x64` (CxL) or `input 10` (a vector).",
			"input shape must be a shape or a number, found %s", describe(v))
	}
	if shape != nil && shape.Size() > maxSize {
		c.errorf("C0114", v.Range, "", "input shape %s is too large", v.Raw)
		shape = nil
	}
	l.Out = shape
	st.m.Layers = append(st.m.Layers, l)
	if shape == nil {
		st.broken = true
		return
	}
	st.cur, st.curFrom = shape, s.Range
}

// needSpatial reports (C0205) a layer that needs a CxL or CxHxW input.
func (c *checker) needSpatial(st *modelState, s *syntax.Stmt, in ir.Shape) bool {
	if len(in) >= 2 {
		return true
	}
	d := c.errorf("C0205", s.KeywordRange,
		fmt.Sprintf("`%s` slides over positions, so it needs a CxL or CxHxW input; here the input is the vector %s. Give the model an input such as `input 1x%s`, or remove the layers that flatten it.",
			s.Keyword, shapeText(in), shapeText(in)),
		"%s needs a CxL or CxHxW input, found vector %s", s.Keyword, shapeText(in))
	d.Related = append(d.Related, diag.Related{Message: "input of this layer produced here", Range: st.curFrom})
	return false
}

// ints renders sizes as 3x3.
func ints(s []int) string { return ir.Shape(s).String() }

// shapeText renders a shape, with auto widths as "auto".
func shapeText(s ir.Shape) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += "x"
		}
		if v == ir.Auto {
			out += "auto"
		} else {
			out += fmt.Sprint(v)
		}
	}
	return out
}

// layerArgs validates s's arguments into l and computes l.Out from in (nil: the
// input shape is unknown; only the arguments are checked).
func (c *checker) layerArgs(st *modelState, s *syntax.Stmt, l *ir.Layer, in ir.Shape) bool {
	what := "`" + s.Keyword + "`"
	nd := 2 // spatial rank assumed when the input shape is unknown
	if in != nil {
		nd = len(in) - 1
	}
	switch l.Kind {
	case ir.ReLU, ir.Gated, ir.Flatten:
		a := c.args(what, s.Args, nil)
		if len(a.pos) > 0 {
			c.errorf("C0112", a.pos[0].Range, fmt.Sprintf("`%s` takes no values.", s.Keyword), "unexpected value after `%s`", s.Keyword)
			return false
		}
		if len(a.kv) > 0 || len(s.Args) > 0 {
			return false
		}
		if in == nil {
			return true
		}
		if l.Kind == ir.Flatten {
			l.Out = flat(in)
		} else {
			l.Out = in
		}
		return true

	case ir.Linear:
		a := c.args(what, s.Args, []string{"bias", "fixed", "branches"})
		ok := len(a.kv) == countKeys(s.Args)
		if len(a.pos) != 1 {
			c.errorf("C0112", s.Range, "Write `linear N` (N outputs) or `linear auto` (width chosen by the program).",
				"linear needs one width, found %d values", len(a.pos))
			return false
		}
		if v := a.pos[0]; v.Kind == syntax.Ident && v.Text == "auto" {
			l.Width = ir.Auto
		} else if n, good := c.integer(v, "width of linear", 1); good {
			l.Width = n
		} else {
			if v.Kind == syntax.Ident {
				c.diags[len(c.diags)-1].Suggest = "auto"
			}
			ok = false
		}
		if v := a.get("bias"); v != nil {
			b, good := c.boolean(v, "bias")
			l.Bias, ok = b, ok && good
		}
		if v := a.get("fixed"); v != nil {
			if f, good := c.number(v, "fixed"); good {
				l.Fixed = &f
			} else {
				ok = false
			}
		}
		if v := a.get("branches"); v != nil {
			ok = c.branches(v, l) && ok
			if ok && l.Width == ir.Auto {
				c.errorf("C0220", a.pos[0].Range, "With `branches=`, the width is the number of units of each branch and must be a number, e.g. `linear 2 branches=auto` (K branches of 2 units each, K chosen by the program).",
					"a branched linear layer needs its per-branch width, found `auto`")
				ok = false
			}
			if ok && l.Fixed != nil {
				c.errorf("C0220", a.kv["fixed"].Range, "Fixed weights and branches do not combine; remove one of them.", "`fixed=` on a branched layer")
				ok = false
			}
		}
		if !ok || in == nil {
			return ok
		}
		l.Out = ir.Shape{branchWidth(l.Width, l.Branches)}
		return true

	case ir.Conv:
		a := c.args(what, s.Args, []string{"stride", "padding", "filters", "bias", "branches"})
		ok := len(a.kv) == countKeys(s.Args)
		if in != nil && !c.needSpatial(st, s, in) {
			return false
		}
		if len(a.pos) != 1 {
			c.errorf("C0112", s.Range, "Write the kernel size: `conv 3x3` for images, `conv 5` for 1-D signals.",
				"conv needs one kernel size, found %d values", len(a.pos))
			return false
		}
		k, good := c.dims(a.pos[0], "kernel of conv", nd, 1, false)
		ok = ok && good
		l.Kernel = k
		l.Stride, l.Padding = fill(nd, 1), fill(nd, 0)
		if v := a.get("stride"); v != nil {
			s, good := c.dims(v, "stride of conv", nd, 1, true)
			ok = ok && good
			if good {
				l.Stride = s
			}
		}
		if v := a.get("padding"); v != nil {
			p, good := c.dims(v, "padding of conv", nd, 0, true)
			ok = ok && good
			if good {
				l.Padding = p
			}
		}
		ok = c.width(a, l) && ok
		ok = c.perBranchFilters(a, l) && ok
		if v := a.get("bias"); v != nil {
			b, good := c.boolean(v, "bias")
			l.Bias, ok = b, ok && good
		}
		if !ok || in == nil {
			return ok
		}
		out := ir.Shape{branchWidth(l.Width, l.Branches)}
		for i := 0; i < nd; i++ {
			padded := in[i+1] + 2*l.Padding[i]
			if l.Kernel[i] > padded {
				d := c.errorf("C0206", a.pos[0].Range,
					fmt.Sprintf("The kernel %s does not fit in the input %s (spatial size %s with padding %s). Use a smaller kernel or add padding=.",
						ints(l.Kernel), shapeText(in), shapeText(in[1:]), ints(l.Padding)),
					"conv kernel %s is larger than its padded input %s", ints(l.Kernel), shapeText(paddedShape(in, l.Padding)))
				d.Related = append(d.Related, diag.Related{Message: "input shape " + shapeText(in) + " produced here", Range: st.curFrom})
				return false
			}
			out = append(out, (padded-l.Kernel[i])/l.Stride[i]+1)
		}
		l.Out = out
		return true

	case ir.CircConv:
		a := c.args(what, s.Args, []string{"filters", "branches"})
		ok := len(a.kv) == countKeys(s.Args)
		if in != nil && len(in) == 1 {
			in = ir.Shape{1, in[0]} // a vector is a one-channel signal
			nd = 1
		}
		if len(a.pos) > 1 {
			c.errorf("C0112", a.pos[1].Range, "Write `circconv` (full-length filters) or `circconv K`.", "circconv takes at most one kernel size, found %d values", len(a.pos))
			return false
		}
		if len(a.pos) == 1 {
			k, good := c.dims(a.pos[0], "kernel of circconv", nd, 1, false)
			ok = ok && good
			l.Kernel = k
		}
		ok = c.width(a, l) && ok
		ok = c.perBranchFilters(a, l) && ok
		if !ok || in == nil {
			return ok
		}
		if l.Kernel == nil {
			l.Kernel = append([]int(nil), in[1:]...)
		}
		for i := 0; i < nd; i++ {
			if l.Kernel[i] > in[i+1] {
				d := c.errorf("C0206", a.pos[0].Range,
					fmt.Sprintf("A circular kernel is at most the signal size %s; use a smaller kernel or omit it for full-length filters.", shapeText(in[1:])),
					"circconv kernel %s is larger than its input %s", ints(l.Kernel), shapeText(in))
				d.Related = append(d.Related, diag.Related{Message: "input shape produced here", Range: st.curFrom})
				return false
			}
		}
		l.Stride, l.Padding = fill(nd, 1), fill(nd, 0)
		l.Out = append(ir.Shape{branchWidth(l.Width, l.Branches)}, in[1:]...)
		return true

	case ir.AvgPool, ir.MaxPool:
		a := c.args(what, s.Args, []string{"stride"})
		ok := len(a.kv) == countKeys(s.Args)
		if in != nil && !c.needSpatial(st, s, in) {
			return false
		}
		if len(a.pos) != 1 {
			c.errorf("C0112", s.Range, fmt.Sprintf("Write `%s global` or a window such as `%s 2x2`.", s.Keyword, s.Keyword),
				"%s needs `global` or a window size, found %d values", s.Keyword, len(a.pos))
			return false
		}
		if v := a.pos[0]; v.Kind == syntax.Ident {
			if v.Text != "global" {
				d := c.errorf("C0113", v.Range, fmt.Sprintf("Write `%s global` or a window such as `%s 2x2`.", s.Keyword, s.Keyword),
					"%s window must be `global` or a size, found %s", s.Keyword, describe(v))
				d.Suggest = suggest(v.Text, []string{"global"})
				return false
			}
			l.Global = true
			if sv := a.get("stride"); sv != nil {
				c.errorf("C0110", a.kv["stride"].KeyRange, "Global pooling has no stride; remove it or give a window size.", "stride given with global pooling")
				return false
			}
			if !ok || in == nil {
				return ok
			}
			l.Out = ir.Shape{in[0]}
			return true
		}
		k, good := c.dims(a.pos[0], "pooling window", nd, 1, false)
		if !good {
			return false
		}
		l.Kernel, l.Stride = k, append([]int(nil), k...)
		if v := a.get("stride"); v != nil {
			s, good := c.dims(v, "stride of "+s.Keyword, nd, 1, true)
			if !good {
				return false
			}
			l.Stride = s
		}
		if !ok || in == nil {
			return ok
		}
		out := ir.Shape{in[0]}
		for i := 0; i < nd; i++ {
			if k[i] > in[i+1] {
				d := c.errorf("C0207", a.pos[0].Range,
					fmt.Sprintf("The window %s must fit in the spatial size %s of its input; use a smaller window or `%s global`.", ints(k), shapeText(in[1:]), s.Keyword),
					"pooling window %s does not fit input %s", ints(k), shapeText(in))
				d.Related = append(d.Related, diag.Related{Message: "input shape produced here", Range: st.curFrom})
				return false
			}
			out = append(out, (in[i+1]-k[i])/l.Stride[i]+1)
		}
		l.Out = out
		return true
	}
	return false
}

// branchRun checks that the branched layers of one run (consecutive layers with
// branches=, only relu or gated between them) agree on the number of branches.
func (c *checker) branchRun(st *modelState, l *ir.Layer) {
	switch {
	case l.Branches != 0:
		if st.run == nil {
			st.run = l
			return
		}
		if st.run.Branches != l.Branches {
			d := c.errorf("C0221", l.Range, fmt.Sprintf("Every layer of one group of parallel branches has the same `branches=` (%s here); write `branches=%s` on both.", branchText(l.Branches), branchText(st.run.Branches)),
				"branches=%s differs from branches=%s of the layers it continues", branchText(l.Branches), branchText(st.run.Branches))
			d.Related = append(d.Related, diag.Related{Message: "branches first given here", Range: st.run.Range})
		}
	case l.Kind == ir.ReLU || l.Kind == ir.Gated:
	default:
		st.run = nil
	}
}

func branchText(k int) string {
	if k == ir.AutoBranches {
		return "auto"
	}
	return fmt.Sprint(k)
}

// perBranchFilters reads `branches=` of a conv or circconv: with it, `filters` is the
// number of filters of each branch (default 1) and must be a number.
func (c *checker) perBranchFilters(a *argSet, l *ir.Layer) bool {
	v := a.get("branches")
	if v == nil {
		return true
	}
	ok := c.branches(v, l)
	if a.get("filters") == nil {
		l.Width = 1
	} else if ok && l.Width == ir.Auto {
		c.errorf("C0220", a.kv["filters"].Range, "With `branches=`, `filters` is the number of filters of each branch and must be a number (default 1).",
			"a branched %s needs its per-branch filter count, found `auto`", l.Kind)
		ok = false
	}
	return ok
}

// branches reads branches=auto|K into l.Branches.
func (c *checker) branches(v *syntax.Value, l *ir.Layer) bool {
	if v.Kind == syntax.Ident && v.Text == "auto" {
		l.Branches = ir.AutoBranches
		return true
	}
	n, ok := c.integer(v, "branches", 1)
	if !ok && v.Kind == syntax.Ident {
		c.diags[len(c.diags)-1].Suggest = "auto"
	}
	l.Branches = n
	return ok
}

// branchWidth is the output width of a layer with per-branch width w and the given
// Branches value: w without branches, K·w with K branches, Auto when either is auto.
func branchWidth(w, branches int) int {
	switch {
	case branches == 0:
		return w
	case branches == ir.AutoBranches || w == ir.Auto:
		return ir.Auto
	}
	return branches * w
}

// width reads filters=auto|N.
func (c *checker) width(a *argSet, l *ir.Layer) bool {
	v := a.get("filters")
	if v == nil {
		l.Width = ir.Auto
		return true
	}
	if v.Kind == syntax.Ident && v.Text == "auto" {
		l.Width = ir.Auto
		return true
	}
	n, ok := c.integer(v, "filters", 1)
	if !ok && v.Kind == syntax.Ident {
		c.diags[len(c.diags)-1].Suggest = "auto"
	}
	l.Width = n
	return ok
}

func countKeys(args []*syntax.Arg) int {
	seen := map[string]bool{}
	for _, a := range args {
		if a.Key != "" {
			seen[a.Key] = true
		}
	}
	return len(seen)
}

func fill(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func flat(in ir.Shape) ir.Shape {
	if len(in) > 0 && in[0] == ir.Auto {
		return ir.Shape{ir.Auto}
	}
	return ir.Shape{in.Size()}
}

func paddedShape(in ir.Shape, pad []int) ir.Shape {
	out := ir.Shape{in[0]}
	for i, p := range pad {
		out = append(out, in[i+1]+2*p)
	}
	return out
}

// use splices a standard-library model's layers in place of `use std.NAME`.
// Problems inside the spliced layers are reported at the `use` statement, with
// the standard-library line as a related range.
func (c *checker) use(st *modelState, s *syntax.Stmt, first bool) {
	if st.inStd {
		c.errorf("C0212", s.Range, "", "`use` inside a standard-library model")
		return
	}
	a := c.args("`use`", s.Args, nil)
	if len(a.pos) != 1 || a.pos[0].Kind != syntax.Ident {
		c.errorf("C0212", s.Range, "Write `use std.NAME`; `cnnc stdlib` lists the names.", "use needs one standard-library name")
		st.broken = true
		st.last = nil
		return
	}
	v := a.pos[0]
	e, ok := stdlib.Lookup(v.Text)
	if !ok || len(v.Text) < 4 || v.Text[:4] != "std." {
		d := c.errorf("C0211", v.Range, "`cnnc stdlib` lists the standard-library architectures.", "unknown standard-library model `%s`", v.Text)
		d.Suggest = suggest(v.Text, stdlib.Names())
		st.broken = true
		st.last = nil
		return
	}
	sf, sd := syntax.Parse(e.File, e.Source)
	if len(sd) > 0 || len(sf.Blocks) != 1 {
		c.errorf("C0211", v.Range, "", "standard-library model `%s` does not parse", v.Text) // a build defect
		st.broken = true
		return
	}
	mark := len(c.diags)
	st.inStd = true
	for i, ss := range sf.Blocks[0].Stmts {
		if ss.Keyword == "input" && (st.sawInput || !first) {
			continue // the user's input replaces the library's
		}
		before := len(st.m.Layers)
		c.layer(st, ss, first && i == 0)
		for _, l := range st.m.Layers[before:] {
			l.Range = s.Range
		}
	}
	st.inStd = false
	st.lastRng = s.Range
	for _, d := range c.diags[mark:] {
		if d.Range.File == e.File {
			d.Related = append([]diag.Related{{Message: "in " + e.Name + ", spliced by this `use`", Range: d.Range}}, d.Related...)
			d.Range = s.Range
		}
	}
}
