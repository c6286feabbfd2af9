package network

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// maxSize bounds the numbers per sample of every layer's output (2²⁸ float64 = 2 GiB).
const maxSize = 1 << 28

// dims is a sample shape seen as (C, H, W): [D] is (D,1,1) with rank 1, [C,L] is
// (C,1,L) with rank 2, [C,H,W] has rank 3.
type dims struct{ rank, C, H, W int }

func dimsOf(shape []int) (dims, error) {
	for _, v := range shape {
		if v <= 0 {
			return dims{}, fmt.Errorf("shape %v has a non-positive entry", shape)
		}
	}
	if n, ok := safeProd(shape); !ok || n > 1<<40 {
		return dims{}, fmt.Errorf("shape %v is too large", shape)
	}
	switch len(shape) {
	case 1:
		return dims{1, shape[0], 1, 1}, nil
	case 2:
		return dims{2, shape[0], 1, shape[1]}, nil
	case 3:
		return dims{3, shape[0], shape[1], shape[2]}, nil
	}
	return dims{}, fmt.Errorf("shape %v: want [D], [C,L] or [C,H,W]", shape)
}

func (d dims) size() int { return d.C * d.H * d.W }

func (d dims) shape() []int {
	switch d.rank {
	case 1:
		return []int{d.C}
	case 2:
		return []int{d.C, d.W}
	}
	return []int{d.C, d.H, d.W}
}

type stepKind int

const (
	stepConv stepKind = iota // conv and circconv (circ = true)
	stepLinear
	stepReLU
	stepAvgPool
	stepMaxPool
	stepCopy // flatten
)

// step is one layer of the forward pass on one sample (flat row-major buffers).
type step struct {
	layer   int
	kind    stepKind
	in, out dims

	kh, kw, sh, sw, ph, pw int // conv and windowed pools; ph, pw = left offsets for circ
	circ                   bool
	global                 bool

	w, b        []float64 // weight (PyTorch layout), bias (nil when none)
	gate, gateB []float64 // gated: gate weight (nil when not gated), gate bias (nil = 0)
}

// penaltyTerm is one tensor's contribution to the penalty.
type penaltyTerm struct {
	name   string
	kind   string
	shape  []int
	data   []float64
	groups int
}

// plan is a validated Weights ready to run: the steps, the penalty terms and what
// Finalize writes back.
type plan struct {
	steps     []*step
	in, out   dims
	penalties []penaltyTerm

	inOut   map[int][2]int // layer index → resolved (In, Out) for conv/circconv/linear
	fixed   []Tensor       // weights of fixed layers that were not given
	penalty map[string]string
	groups  map[string]int

	runs []branchRun // runs of branched layers (branches.go)
	reg  *regPlan    // the network-level regulariser, when Weights.Regularizer is set
}

func shapeString(s []int) string {
	p := make([]string, len(s))
	for i, v := range s {
		p[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(p, " ") + "]"
}

// safeProd is the product of s, ok = false on overflow past 2⁶².
func safeProd(s []int) (int, bool) {
	n := 1
	for _, v := range s {
		if v < 0 || v > 0 && n > (1<<62)/v {
			return 0, false
		}
		n *= v
	}
	return n, true
}

func prod(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

// spatial normalises a per-dimension parameter (kernel, stride, padding) for an input
// of the given rank to (h, w): one entry per spatial dimension, or a single entry
// broadcast to both dimensions of an image. def is used when the list is empty.
func spatial(name string, v []int, d dims, defH, defW int) (int, int, error) {
	n := d.rank - 1
	switch {
	case len(v) == 0:
		return defH, defW, nil
	case n == 1 && len(v) == 1:
		return 1, v[0], nil
	case n == 2 && len(v) == 1:
		return v[0], v[0], nil
	case n == 2 && len(v) == 2:
		return v[0], v[1], nil
	}
	return 0, 0, fmt.Errorf("%s %v has %d entries, the input %s has %d spatial dimension(s)", name, v, len(v), shapeString(d.shape()), n)
}

// compile validates w and builds its plan. It does not modify w.
func (w *Weights) compile() (*plan, error) {
	if len(w.Layers) == 0 {
		return nil, fmt.Errorf("weights have no layers")
	}
	if w.Layers[0].Type != "input" {
		return nil, fmt.Errorf("layer 0 is %q, want input", w.Layers[0].Type)
	}
	cur, err := dimsOf(w.Layers[0].Shape)
	if err != nil {
		return nil, fmt.Errorf("layer 0 (input): %v", err)
	}
	switch w.Loss {
	case "", "squared", "hinge", "logistic", "cross_entropy":
	default:
		return nil, fmt.Errorf("unknown loss %q (want squared, hinge, logistic or cross_entropy)", w.Loss)
	}
	if math.IsNaN(w.Beta) || math.IsInf(w.Beta, 0) || w.Beta < 0 {
		return nil, fmt.Errorf("beta %v: want a finite number ≥ 0", w.Beta)
	}

	tensors := map[string]*Tensor{}
	for i := range w.Tensors {
		t := &w.Tensors[i]
		if _, dup := tensors[t.Name]; dup {
			return nil, fmt.Errorf("tensor %s appears twice", t.Name)
		}
		for _, v := range t.Shape {
			if v <= 0 {
				return nil, fmt.Errorf("tensor %s has shape %s with a non-positive entry", t.Name, shapeString(t.Shape))
			}
		}
		if n, ok := safeProd(t.Shape); !ok || len(t.Shape) == 0 || n != len(t.Data) {
			return nil, fmt.Errorf("tensor %s has shape %s (%d numbers) but %d data values", t.Name, shapeString(t.Shape), prod(t.Shape), len(t.Data))
		}
		tensors[t.Name] = t
	}
	used := map[string]bool{}

	lastParam := 0
	for k, l := range w.Layers {
		switch l.Type {
		case "conv", "circconv", "linear":
			lastParam = k
		}
	}

	p := &plan{in: cur, inOut: map[int][2]int{}, penalty: map[string]string{}, groups: map[string]int{}}
	units := cur.C // hidden units along the current representation (for l1sq groups)
	fixedWeight := map[string]bool{}
	var prev *step // the step of layer k−1 when it is conv/circconv/linear
	bt := &branchTracker{}

	for k := 1; k < len(w.Layers); k++ {
		l := &w.Layers[k]
		where := fmt.Sprintf("layer %d (%s)", k, l.Type)
		if l.Index != k {
			return nil, fmt.Errorf("layers[%d] has index %d, want %d", k, l.Index, k)
		}
		var st *step
		switch l.Type {
		case "conv", "circconv":
			if cur.rank < 2 {
				return nil, fmt.Errorf("%s needs a [C,L] or [C,H,W] input, got %s", where, shapeString(cur.shape()))
			}
			circ := l.Type == "circconv"
			st = &step{layer: k, kind: stepConv, in: cur, circ: circ}
			if l.Fixed != nil {
				return nil, fmt.Errorf("%s: fixed= applies to linear layers only", where)
			}
			defKh, defKw := 0, 0
			if circ {
				defKh, defKw = cur.H, cur.W
			}
			if st.kh, st.kw, err = spatial("kernel", l.Kernel, cur, defKh, defKw); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			if st.sh, st.sw, err = spatial("stride", l.Stride, cur, 1, 1); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			if st.ph, st.pw, err = spatial("padding", l.Padding, cur, 0, 0); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			if cur.rank == 2 {
				st.ph = 0
			}
			if st.kh < 1 || st.kw < 1 || st.sh < 1 || st.sw < 1 || st.ph < 0 || st.pw < 0 {
				return nil, fmt.Errorf("%s: kernel %v, stride %v, padding %v: kernels and strides must be positive, padding non-negative", where, l.Kernel, l.Stride, l.Padding)
			}
			var oh, ow int
			if circ {
				if st.sh != 1 || st.sw != 1 || st.ph != 0 || st.pw != 0 {
					return nil, fmt.Errorf("%s: circular convolution has stride 1 and no padding, got stride %v padding %v", where, l.Stride, l.Padding)
				}
				if st.kh > cur.H || st.kw > cur.W {
					return nil, fmt.Errorf("%s: kernel %v is larger than the input %s", where, l.Kernel, shapeString(cur.shape()))
				}
				st.ph, st.pw = (st.kh-1)/2, (st.kw-1)/2
				oh, ow = cur.H, cur.W
			} else {
				if st.kh > cur.H+2*st.ph || st.kw > cur.W+2*st.pw {
					return nil, fmt.Errorf("%s: kernel %v is larger than the padded input %s (padding %v)", where, l.Kernel, shapeString(cur.shape()), l.Padding)
				}
				oh = (cur.H+2*st.ph-st.kh)/st.sh + 1
				ow = (cur.W+2*st.pw-st.kw)/st.sw + 1
			}
			ks := []int{st.kw}
			if cur.rank == 3 {
				ks = []int{st.kh, st.kw}
			}
			exp := append([]int{-1, cur.C}, ks...)
			out, err := weightOut(tensors, used, k, l, exp, k == lastParam, where)
			if err != nil {
				return nil, err
			}
			st.w = tensors[fmt.Sprintf("L%d.weight", k)].Data
			if st.b, err = biasOf(tensors, used, k, l, out, where); err != nil {
				return nil, err
			}
			st.out = dims{cur.rank, out, oh, ow}
			p.inOut[k] = [2]int{cur.C, out}
			units = out
			if err := bt.param(p, st, l, where); err != nil {
				return nil, err
			}

		case "linear":
			in := cur.size()
			if l.In != 0 && l.In != in {
				return nil, fmt.Errorf("%s says in=%d, but its input %s has %d features", where, l.In, shapeString(cur.shape()), in)
			}
			if len(l.Kernel)+len(l.Stride)+len(l.Padding) > 0 || l.Global {
				return nil, fmt.Errorf("%s takes no kernel, stride, padding or global", where)
			}
			st = &step{layer: k, kind: stepLinear, in: cur}
			name := fmt.Sprintf("L%d.weight", k)
			if l.Fixed != nil {
				fixedWeight[name] = true
				if math.IsNaN(*l.Fixed) || math.IsInf(*l.Fixed, 0) {
					return nil, fmt.Errorf("%s: fixed=%v is not a finite number", where, *l.Fixed)
				}
				if tensors[name] == nil {
					if l.Out <= 0 {
						return nil, fmt.Errorf("%s: fixed layer needs a width (out) or a %s tensor", where, name)
					}
					data := make([]float64, l.Out*in)
					for i := range data {
						data[i] = *l.Fixed
					}
					ft := Tensor{Name: name, Shape: []int{l.Out, in}, Data: data, Penalty: PenaltyNone}
					p.fixed = append(p.fixed, ft)
					tensors[name] = &p.fixed[len(p.fixed)-1]
				} else {
					for i, v := range tensors[name].Data {
						if v != *l.Fixed {
							return nil, fmt.Errorf("%s: %s[%d] = %v, but the layer is fixed=%v", where, name, i, v, *l.Fixed)
						}
					}
				}
			}
			out, err := weightOut(tensors, used, k, l, []int{-1, in}, k == lastParam, where)
			if err != nil {
				return nil, err
			}
			st.w = tensors[name].Data
			if st.b, err = biasOf(tensors, used, k, l, out, where); err != nil {
				return nil, err
			}
			if units <= 0 || in%units != 0 {
				units = in
			}
			p.groups[name] = units
			st.out = dims{1, out, 1, 1}
			p.inOut[k] = [2]int{in, out}
			units = out
			if err := bt.param(p, st, l, where); err != nil {
				return nil, err
			}

		case "relu":
			st = &step{layer: k, kind: stepReLU, in: cur, out: cur}
			bt.keep(k)

		case "gated":
			bt.keep(k)
			if prev == nil {
				return nil, fmt.Errorf("%s must directly follow a linear, conv or circconv layer", where)
			}
			gname, bname := fmt.Sprintf("L%d.gates", k), fmt.Sprintf("L%d.gate_bias", k)
			wname := fmt.Sprintf("L%d.weight", k-1)
			g := tensors[gname]
			wt := tensors[wname]
			if g == nil {
				return nil, fmt.Errorf("%s needs the gate tensor %s with the shape of %s, %s", where, gname, wname, shapeString(wt.Shape))
			}
			if !equalInts(g.Shape, wt.Shape) {
				return nil, fmt.Errorf("%s has shape %s, %s expects the shape of %s, %s", gname, shapeString(g.Shape), where, wname, shapeString(wt.Shape))
			}
			used[gname] = true
			prev.gate = g.Data
			if gb := tensors[bname]; gb != nil {
				if prev.b == nil {
					return nil, fmt.Errorf("%s given, but layer %d (%s) has no bias", bname, k-1, w.Layers[k-1].Type)
				}
				if !equalInts(gb.Shape, []int{prev.out.C}) {
					return nil, fmt.Errorf("%s has shape %s, %s expects [%d]", bname, shapeString(gb.Shape), where, prev.out.C)
				}
				used[bname] = true
				prev.gateB = gb.Data
			}

		case "avgpool", "maxpool":
			bt.keep(k) // per channel: the branches' channels stay apart
			if cur.rank < 2 {
				return nil, fmt.Errorf("%s needs a [C,L] or [C,H,W] input, got %s", where, shapeString(cur.shape()))
			}
			kind := stepAvgPool
			if l.Type == "maxpool" {
				kind = stepMaxPool
			}
			st = &step{layer: k, kind: kind, in: cur, global: l.Global}
			if anyNonZero(l.Padding) || l.Bias || l.Fixed != nil {
				return nil, fmt.Errorf("%s takes no padding, bias or fixed", where)
			}
			if l.Global {
				if len(l.Kernel)+len(l.Stride) > 0 {
					return nil, fmt.Errorf("%s: a global pool takes no window or stride", where)
				}
				st.out = dims{1, cur.C, 1, 1}
				break
			}
			if len(l.Kernel) == 0 {
				return nil, fmt.Errorf("%s needs a window or global", where)
			}
			if st.kh, st.kw, err = spatial("window", l.Kernel, cur, 0, 0); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			if st.sh, st.sw, err = spatial("stride", l.Stride, cur, st.kh, st.kw); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			if st.kh < 1 || st.kw < 1 || st.sh < 1 || st.sw < 1 {
				return nil, fmt.Errorf("%s: window %v and stride %v must be positive", where, l.Kernel, l.Stride)
			}
			if st.kh > cur.H || st.kw > cur.W {
				return nil, fmt.Errorf("%s: window %v does not fit the input %s", where, l.Kernel, shapeString(cur.shape()))
			}
			st.out = dims{cur.rank, cur.C, (cur.H-st.kh)/st.sh + 1, (cur.W-st.kw)/st.sw + 1}

		case "flatten":
			st = &step{layer: k, kind: stepCopy, in: cur, out: dims{1, cur.size(), 1, 1}}
			bt.keep(k)

		case "input":
			return nil, fmt.Errorf("%s: input must be the first layer only", where)
		default:
			return nil, fmt.Errorf("layer %d has unknown type %q", k, l.Type)
		}
		prev = nil
		if st != nil && (st.out.C <= 0 || st.out.H <= 0 || st.out.W <= 0 || st.out.C > maxSize || st.out.H > maxSize || st.out.W > maxSize || st.out.size() > maxSize) {
			return nil, fmt.Errorf("%s: output %d×%d×%d is empty or larger than %d numbers per sample", where, st.out.C, st.out.H, st.out.W, maxSize)
		}
		if st != nil {
			p.steps = append(p.steps, st)
			cur = st.out
			if st.kind == stepConv || st.kind == stepLinear {
				prev = st
			}
		}
	}
	p.out = cur
	bt.end()
	p.runs = bt.runs
	if err := p.planRegularizer(w, tensors, lastParam); err != nil {
		return nil, err
	}

	var extra []string
	for name := range tensors {
		if !used[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("tensor %s does not belong to any layer (expected L<index>.weight, .bias, .gates or .gate_bias of a layer that has one)", strings.Join(extra, ", "))
	}

	// Penalties, in the order of the tensor list (materialised fixed weights last).
	all := make([]*Tensor, 0, len(w.Tensors)+len(p.fixed))
	for i := range w.Tensors {
		all = append(all, &w.Tensors[i])
	}
	for i := range p.fixed {
		all = append(all, &p.fixed[i])
	}
	for _, t := range all {
		kind := t.Penalty
		if p.reg != nil && p.reg.covers[t.Name] {
			if kind != "" && kind != w.Regularizer {
				return nil, fmt.Errorf("tensor %s has penalty %q, but the network's regularizer %q covers it", t.Name, kind, w.Regularizer)
			}
			kind = w.Regularizer
		}
		if kind == "" {
			kind = defaultPenalty(t.Name, lastParam, fixedWeight[t.Name])
		}
		switch kind {
		case PenaltyL2, PenaltyNone:
		case PenaltyPath, PenaltyGroup:
			if p.reg == nil || !p.reg.covers[t.Name] {
				return nil, fmt.Errorf("tensor %s has penalty %q, which only the tensors of a parallel three-layer network with regularizer %q carry", t.Name, kind, kind)
			}
		case PenaltyL1Sq:
			if len(t.Shape) < 2 {
				return nil, fmt.Errorf("tensor %s has penalty l1sq, which needs a tensor of rank ≥ 2 (units on axis 1), got shape %s", t.Name, shapeString(t.Shape))
			}
		default:
			return nil, fmt.Errorf("tensor %s has unknown penalty %q (want l2, l1sq or none)", t.Name, t.Penalty)
		}
		if fixedWeight[t.Name] && kind != PenaltyNone {
			return nil, fmt.Errorf("tensor %s belongs to a fixed layer and cannot be penalised (penalty %q)", t.Name, kind)
		}
		groups := 0
		if kind == PenaltyL1Sq {
			groups = t.Groups
			if groups == 0 {
				groups = p.groups[t.Name]
			}
			if groups == 0 {
				groups = t.Shape[1]
			}
			if groups < 0 || t.Shape[1]%groups != 0 {
				return nil, fmt.Errorf("tensor %s: groups=%d does not divide axis 1 of shape %s", t.Name, groups, shapeString(t.Shape))
			}
		} else if t.Groups != 0 {
			return nil, fmt.Errorf("tensor %s: groups applies to penalty l1sq only", t.Name)
		}
		p.penalty[t.Name] = kind
		p.groups[t.Name] = groups
		p.penalties = append(p.penalties, penaltyTerm{t.Name, kind, t.Shape, t.Data, groups})
	}
	return p, nil
}

// defaultPenalty is the penalty of a tensor whose Penalty is empty (see package doc).
func defaultPenalty(name string, lastParam int, fixed bool) string {
	switch {
	case fixed:
		return PenaltyNone
	case strings.HasSuffix(name, ".weight"):
		return PenaltyL2
	case strings.HasSuffix(name, ".bias"):
		if name == fmt.Sprintf("L%d.bias", lastParam) {
			return PenaltyNone
		}
		return PenaltyL2
	}
	return PenaltyNone
}

// weightOut checks L<k>.weight against exp (exp[0] = −1: the width, to resolve) and
// returns the width. A declared width (l.Out ≠ 0) must be met exactly by the output
// layer and bounds a hidden layer's (docs/language.md: numeric hidden widths are upper bounds).
func weightOut(tensors map[string]*Tensor, used map[string]bool, k int, l *Layer, exp []int, output bool, where string) (int, error) {
	name := fmt.Sprintf("L%d.weight", k)
	want := make([]string, len(exp))
	for i, v := range exp {
		want[i] = fmt.Sprint(v)
	}
	switch {
	case output && l.Out > 0:
		want[0] = fmt.Sprint(l.Out)
	case l.Out > 0:
		want[0] = fmt.Sprintf("m≤%d", l.Out)
	default:
		want[0] = "m"
	}
	expect := "[" + strings.Join(want, " ") + "]"
	t := tensors[name]
	if t == nil {
		return 0, fmt.Errorf("%s is missing: %s expects %s", name, where, expect)
	}
	ok := len(t.Shape) == len(exp)
	for i := 1; ok && i < len(exp); i++ {
		ok = t.Shape[i] == exp[i]
	}
	if ok && l.Out > 0 {
		ok = t.Shape[0] == l.Out || !output && t.Shape[0] < l.Out
	}
	if !ok {
		return 0, fmt.Errorf("%s has shape %s, %s expects %s", name, shapeString(t.Shape), where, expect)
	}
	used[name] = true
	return t.Shape[0], nil
}

// biasOf returns L<k>.bias (nil when the layer has none) after checking its shape.
func biasOf(tensors map[string]*Tensor, used map[string]bool, k int, l *Layer, out int, where string) ([]float64, error) {
	name := fmt.Sprintf("L%d.bias", k)
	t := tensors[name]
	if !l.Bias {
		if t != nil {
			return nil, fmt.Errorf("%s given, but %s has bias=false", name, where)
		}
		return nil, nil
	}
	if t == nil {
		return nil, fmt.Errorf("%s is missing: %s has bias=true and expects [%d]", name, where, out)
	}
	if !equalInts(t.Shape, []int{out}) {
		return nil, fmt.Errorf("%s has shape %s, %s expects [%d]", name, shapeString(t.Shape), where, out)
	}
	used[name] = true
	return t.Data, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func anyNonZero(v []int) bool {
	for _, x := range v {
		if x != 0 {
			return true
		}
	}
	return false
}
