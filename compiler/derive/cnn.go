package derive

// Two-layer ReLU CNNs (§4, docs/math/04-cnn-gap.md, §5.2, §6, template table §12).
//
// All three rules share one shape: a convolution (K positions, patches x_{i,k} ∈ Rʰ,
// stacked patch matrix M of compiler/patch), ReLU, a pooling stage that maps the K
// positions to a windows l = 1..a with weights p_{lk}, and a scalar linear output.
// The non-convex problem with m filters u_j ∈ Rʰ and output weights w_j ∈ Rᵃ is
//
//	min ℓ( Σ_j Σ_l w_{jl} pool_l((X_k u_j)_+) , y ) + (β/2) Σ_j ( ‖u_j‖₂² + R_out(w_j)² )
//
// with pool_l = Σ_{k∈l} p_{lk}(·) (average pooling p_{lk} = 1/|l|, no pooling =
// one window per position with p = 1) or max_{k∈l}(·) (max pooling), and
// R_out(w) = |w| when a = 1 (plain weight decay), R_out(w) = ‖w‖₁ when a > 1 (the
// ℓ1² output penalty of §5.2; with a > 1 plain weight decay has no exact SOCP, §5.1).
//
// Derivation (§1.3). Every unit is positively homogeneous in u_j, so rescaling
// (u, w) → (tu, w/t) turns the penalty into β Σ_j ‖u_j‖ R_out(w_j) with ‖u_j‖ ≤ 1
// after optimising t. The dual constraint max_{‖u‖≤1, R_out(w)≤1} |vᵀ Σ_l w_l pool_l|
// ≤ β separates over windows because the ℓ1 ball's extreme points are ±e_l, so an
// optimal network has one window per neuron, and on each cone of window l's
// arrangement the unit is linear in u. Dualising back gives, per window l,
//
//	min ℓ( Σ_l Σ_p Σ_{k∈l} p_{lk} D^k_{l,p} X_k (c_{l,p} − c'_{l,p}), y ) + β Σ_{l,p} (‖c_{l,p}‖₂ + ‖c'_{l,p}‖₂)
//	s.t. (2D^k_{l,p} − I) X_k c_{l,p} ≥ 0 and the same for c'   (k ∈ l)
//
// Scaling (binding, docs/language.md): the loss is summed over samples and the average
// pooling's 1/|l| sits in the prediction operator (Family.Weight = p_{lk}·D), not in
// β, so the convex optimum equals the objective of the PyTorch network with
// AvgPool/AdaptiveAvgPool (which averages) and weight decay (β/2)Σ‖·‖² on the conv
// filters and output weights. (A numerical check that sums the K positions instead
// is reproduced by feeding K·X: (1/K)Σ_k (K X_k u)_+ = Σ_k (X_k u)_+.)
//
// Max pooling (§6): max_k (z_k)_+ = (max_k z_k)_+, so on the region where every
// sample's winning position π(i) ∈ l ∪ {off} is fixed the unit is linear:
// prediction row i = x_{i,π(i)}ᵀ u (0 when off), cone 𝒦_π = { x_{i,π(i)}ᵀu ≥ 0,
// (x_{i,π(i)} − x_{i,k'})ᵀu ≥ 0 ∀k' ∈ l; x_{i,k'}ᵀu ≤ 0 ∀k' ∈ l when off }.
// Max-patterns are constant on the cells of the augmented arrangement of the rows
// x_{ik} and x_{ik} − x_{ik'} (k < k' in l), which backend/pattern enumerates.
//
// Recovery (§4, §5.2): each nonzero block c of window l and copy s = ±1 gives a
// filter u = c/√‖c‖ and output weights w = s·√‖c‖·e_l; then (β/2)(‖u‖² + ‖w‖₁²) =
// β‖c‖ and, because u lies in its pattern's cone, (X_k u)_+ = D^k X_k u, so the
// network's prediction and objective equal the convex program's.
//
// Family layout (convex package doc): A = C = M_l = [X_k]_{k∈l} (row j·n + i is
// x_{i,l_j}), Sample[r] = r mod n, Weight = p_{lk}·D (max: 1 on the winner's row),
// Sign = 2D − 1 (max: the signed rows of 𝒦_π over C = [M_l; differences]).

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/patch"
	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// recoverTol is the block-norm threshold below which a block is treated as zero
// during recovery: ‖c‖ ≤ recoverTol·max_b ‖c_b‖ (the FC rules' ZeroBlockTol).
// Dropping such a block changes the objective by at most β‖c‖ plus its (equally
// small) prediction effect.
const recoverTol = ZeroBlockTol

func init() {
	Register(&Rule{
		Name:    "cnn-gap",
		Section: "§4",
		Doc:     "docs/math/04-cnn-gap.md",
		Theorem: "two-layer ReLU CNN with global average pooling, Ergen & Pilanci 2021",
		Pattern: "conv K · relu · avgpool global · linear 1",
		Match:   func(m *ir.Model) Match { return matchSteps(m, cnnSteps(true, poolAvgGlobal)) },
		Check:   checkCNN,
		Build:   buildReLUCNN,
		Recover: recoverReLUCNN,
	})
	Register(&Rule{
		Name:    "cnn-pool",
		Section: "§5.2",
		Doc:     "docs/math/05-cnn-pool.md",
		Theorem: "two-layer ReLU CNN with pooling windows or flatten, ℓ1² output penalty (Ergen & Pilanci 2021; cnnc derivation §5.2)",
		Pattern: "conv K · relu · avgpool W [stride=S] | flatten · linear 1",
		Match:   func(m *ir.Model) Match { return matchSteps(m, cnnSteps(true, poolAvgWindowOrFlatten)) },
		Check:   checkCNN,
		Build:   buildReLUCNN,
		Recover: recoverReLUCNN,
	})
	Register(&Rule{
		Name:    "cnn-maxpool",
		Section: "§6",
		Doc:     "docs/math/06-maxpool.md",
		Theorem: "two-layer ReLU CNN with max pooling, max-pattern program (cnnc derivation §6)",
		Pattern: "conv K · relu · maxpool global|W · linear 1",
		Match:   func(m *ir.Model) Match { return matchSteps(m, cnnSteps(true, poolMax)) },
		Check:   checkCNN,
		Build:   buildReLUCNN,
		Recover: recoverReLUCNN,
	})
}

// ---------------------------------------------------------------------------
// Matching

type step struct {
	want     string // in words, for "expected …"
	ok       func(l *ir.Layer) bool
	optional bool
}

// matchSteps matches the layers after the input against steps in order; optional
// steps may be skipped. It reports the first layer that does not fit.
func matchSteps(m *ir.Model, steps []step) Match {
	if m == nil || len(m.Layers) == 0 {
		return Match{Why: "empty model"}
	}
	layers := m.Layers[1:]
	li, si := 0, 0
	for si < len(steps) {
		if li >= len(layers) {
			// skip trailing optional steps
			for si < len(steps) && steps[si].optional {
				si++
			}
			if si == len(steps) {
				break
			}
			last := m.Layers[len(m.Layers)-1]
			return Match{Layers: li, Differs: last, Why: fmt.Sprintf("the model ends after %s; expected %s next", last.Kind, steps[si].want)}
		}
		l := layers[li]
		if steps[si].ok(l) {
			li++
			si++
			continue
		}
		if steps[si].optional {
			si++
			continue
		}
		return Match{Layers: li, Differs: l, Why: fmt.Sprintf("expected %s, found %s", steps[si].want, describeLayer(l))}
	}
	if li < len(layers) {
		return Match{Layers: li, Differs: layers[li], Why: fmt.Sprintf("expected the end of the model, found %s", describeLayer(layers[li]))}
	}
	return Match{OK: true, Layers: li}
}

func describeLayer(l *ir.Layer) string {
	switch l.Kind {
	case ir.AvgPool, ir.MaxPool:
		if l.Global {
			return l.Kind.String() + " global"
		}
		return fmt.Sprintf("%s %s", l.Kind, ir.Shape(l.Kernel))
	case ir.Linear:
		w := fmt.Sprint(l.Width)
		if l.Width == ir.Auto {
			w = "auto"
		}
		if l.Fixed != nil {
			return fmt.Sprintf("linear %s fixed=%g", w, *l.Fixed)
		}
		return "linear " + w
	case ir.Conv, ir.CircConv:
		return fmt.Sprintf("%s %s", l.Kind, ir.Shape(l.Kernel))
	}
	return l.Kind.String()
}

type poolRule int

const (
	poolAvgGlobal poolRule = iota
	poolAvgWindowOrFlatten
	poolMax
	poolLinearGlobal  // linear CNN: avgpool global
	poolLinearFlatten // linear CNN: flatten or avgpool W
)

func isConv(l *ir.Layer) bool { return l.Kind == ir.Conv || l.Kind == ir.CircConv }
func isKind(k ir.LayerKind) func(*ir.Layer) bool {
	return func(l *ir.Layer) bool { return l.Kind == k }
}
func isScalarOut(l *ir.Layer) bool { return l.Kind == ir.Linear && l.Width == 1 && l.Fixed == nil }

// cnnSteps is the step list conv · [relu] · pool · [flatten] · linear 1.
func cnnSteps(relu bool, pr poolRule) []step {
	s := []step{{want: "conv", ok: isConv}}
	if relu {
		s = append(s, step{want: "relu", ok: isKind(ir.ReLU)})
	}
	switch pr {
	case poolAvgGlobal, poolLinearGlobal:
		s = append(s, step{want: "avgpool global", ok: func(l *ir.Layer) bool { return l.Kind == ir.AvgPool && l.Global }})
	case poolAvgWindowOrFlatten, poolLinearFlatten:
		s = append(s, step{want: "avgpool W or flatten", ok: func(l *ir.Layer) bool {
			return (l.Kind == ir.AvgPool && !l.Global) || l.Kind == ir.Flatten
		}})
	case poolMax:
		s = append(s, step{want: "maxpool", ok: isKind(ir.MaxPool)})
	}
	s = append(s, step{want: "flatten", ok: isKind(ir.Flatten), optional: true})
	s = append(s, step{want: "linear 1", ok: isScalarOut})
	return s
}

// arch is a matched conv · [act] · [pool] · [flatten] · linear model.
type arch struct {
	conv, act, pool, out *ir.Layer
}

func parseArch(m *ir.Model) arch {
	var a arch
	for _, l := range m.Layers[1:] {
		switch {
		case isConv(l):
			a.conv = l
		case l.Kind == ir.ReLU:
			a.act = l
		case l.Kind == ir.AvgPool || l.Kind == ir.MaxPool:
			a.pool = l
		case l.Kind == ir.Linear:
			a.out = l
		}
	}
	return a
}

// ---------------------------------------------------------------------------
// Shared data preparation

// cnnData is the extracted data of a matched model.
type cnnData struct {
	in      *Input
	a       arch
	p       *patch.Patches
	y       []float64
	windows [][]int     // positions of each pooling window (flatten: one per position)
	weights [][]float64 // p_{lk} for each window entry (max pooling: unused)
	pooled  []int       // pooled grid (flatten: the conv output grid)
	max     bool
}

// sampleShape is the model's input shape as the convolution sees it: a vector [D]
// input to circconv is a one-channel signal [1, D].
func sampleShape(m *ir.Model) ir.Shape {
	in := m.Input()
	if len(in) == 1 {
		return ir.Shape{1, in[0]}
	}
	return in
}

// convPadding returns the left padding of the conv layer: its zero padding, or
// ⌊(K−1)/2⌋ for circconv (PyTorch padding='same', padding_mode='circular').
func convPadding(l *ir.Layer) []int {
	if l.Kind == ir.CircConv {
		p := make([]int, len(l.Kernel))
		for d, k := range l.Kernel {
			p[d] = (k - 1) / 2
		}
		return p
	}
	return l.Padding
}

// checkCNN is the Check of the CNN rules: the scalar-output checks and the size
// of the patch matrix (patch.Bytes of n samples, the conv's output positions and
// patch features) against the memory budget, at the conv layer.
func checkCNN(in *Input) diag.List {
	dl := checkScalar(in)
	a := parseArch(in.Model)
	if a.conv == nil || in.Data == nil || len(a.conv.Out) < 2 {
		return dl
	}
	K := int64(1)
	for _, v := range a.conv.Out[1:] {
		K = budget.Mul(K, int64(v))
	}
	h := int64(sampleShape(in.Model)[0])
	for _, k := range a.conv.Kernel {
		h = budget.Mul(h, int64(k))
	}
	if a.conv.Bias {
		h++
	}
	n := int64(in.Data.N())
	err := budget.Check(in.MaxMemory, patch.Bytes(n, K, h), fmt.Sprintf("the patch matrix of %d samples × %d positions × %d features", n, K, h),
		"Each sample contributes one row per output position of the convolution: lower the padding, raise the stride, or use fewer samples (`limit N`).")
	if err != nil {
		stageError(&dl, a.conv.Range, err, CodeShape, "")
	}
	return dl
}

func prepare(in *Input, a arch) (*cnnData, diag.List) {
	var ds diag.List
	y := CheckData(in, &ds)
	if ds.HasErrors() || !CheckBeta(in, &ds) {
		return nil, ds
	}
	p, err := patch.ExtractWith(in.Data.X, sampleShape(in.Model), a.conv.Kernel, a.conv.Stride, convPadding(a.conv), a.conv.Kind == ir.CircConv,
		patch.Options{MaxMemory: in.MaxMemory, AppendOnes: a.conv.Bias, Progress: in.Progress, Context: in.Context})
	if err != nil {
		stageError(&ds, a.conv.Range, err, CodeShape, "The convolution's kernel, stride and padding must fit the input shape.")
		return nil, ds
	}
	d := &cnnData{in: in, a: a, p: p, y: y}
	switch {
	case a.pool == nil: // flatten: one window per position
		d.pooled = p.Out
		for k := 0; k < p.K; k++ {
			d.windows = append(d.windows, []int{k})
			d.weights = append(d.weights, []float64{1})
		}
	default:
		var kernel, stride []int
		if !a.pool.Global {
			kernel, stride = a.pool.Kernel, a.pool.Stride
		}
		w, pooled, err := patch.Windows(p.Out, kernel, stride)
		if err != nil {
			ds.Errorf(CodeShape, a.pool.Range, "The pooling window must fit the convolution's output grid.", "%v", err)
			return nil, ds
		}
		d.windows, d.pooled = w, pooled
		d.max = a.pool.Kind == ir.MaxPool
		for _, win := range w {
			ws := make([]float64, len(win))
			for j := range ws {
				ws[j] = 1 / float64(len(win))
			}
			d.weights = append(d.weights, ws)
		}
	}
	return d, ds
}

// ---------------------------------------------------------------------------
// ReLU CNN build

func buildReLUCNN(in *Input) (*convex.Program, diag.List) {
	a := parseArch(in.Model)
	d, ds := prepare(in, a)
	if ds.HasErrors() {
		return nil, ds
	}
	win := len(d.windows)
	prog := &convex.Program{
		Model:      in.Model.Name,
		Loss:       in.Train.Loss,
		Y:          d.y,
		N:          d.p.N,
		Beta:       in.Train.Beta,
		OutputBias: a.out.Bias,
	}
	if prog.Loss == "" {
		prog.Loss = ir.Squared
	}
	// Doc is set here, not from the matched rule: cnn-pool with a single window
	// (avgpool over the whole grid, flatten of one position) is the §4 program.
	switch {
	case d.max:
		prog.Theorem = "two-layer ReLU CNN with max pooling, max-pattern program (cnnc derivation §6)"
		prog.Section, prog.Doc = "§6", "docs/math/06-maxpool.md"
	case win == 1:
		prog.Theorem = "two-layer ReLU CNN with global average pooling, Ergen & Pilanci 2021"
		prog.Section, prog.Doc = "§4", "docs/math/04-cnn-gap.md"
	default:
		prog.Theorem = "two-layer ReLU CNN with pooling windows or flatten, ℓ1² output penalty (cnnc derivation §5.2)"
		prog.Section, prog.Doc = "§5.2", "docs/math/05-cnn-pool.md"
	}
	prog.Regularizer = reluCNNRegularizer(d)
	for l, ks := range d.windows {
		var f *convex.Family
		var err error
		if d.max {
			f, err = maxFamily(d, l, ks, in.Train.Patterns)
		} else {
			f, err = avgFamily(d, l, ks, in.Train.Patterns)
		}
		if err != nil {
			stageError(&ds, in.Train.Patterns.Range, fmt.Errorf("pooling window %d of %d: %w", l+1, win, err), CodePatterns, "Exact enumeration is polynomial only for low-rank patches; use `patterns sample N`, `patterns adaptive`, or raise `max`.")
			return nil, ds
		}
		if f == nil {
			continue // no nonzero pattern in this window (e.g. all data zero)
		}
		f.Layer = a.conv.Index
		if win > 1 {
			f.Name = fmt.Sprintf("c%d_", l)
		} else {
			f.Name = "c"
		}
		prog.Families = append(prog.Families, f)
	}
	if len(prog.Families) == 0 {
		ds.Errorf(CodePatterns, in.Train.Patterns.Range, "Every activation pattern of the data is zero; check the data and its scale.", "no nonzero activation pattern")
		return nil, ds
	}
	return prog, ds
}

func reluCNNRegularizer(d *cnnData) string {
	var b strings.Builder
	if d.max {
		b.WriteString("group ℓ2 over max-pooling patterns (which patch wins the max for each sample, or off): β Σ_π (‖c_π‖₂ + ‖c'_π‖₂) with the cone constraints of each max-pattern")
	} else {
		b.WriteString("group ℓ2 over convolutional activation patterns: β Σ_i (‖c_i‖₂ + ‖c'_i‖₂), one block per pattern D_i of the stacked patch matrix, with cone constraints (2D_i − I)M c_i ≥ 0")
	}
	if len(d.windows) == 1 {
		b.WriteString("; it equals weight decay (β/2)Σ_j(‖u_j‖² + w_j²) on the conv filters and output weights")
		if !d.max {
			b.WriteString(" (the average pooling's 1/K sits in the prediction operator)")
		}
	} else {
		fmt.Fprintf(&b, "; one pattern family per pooling window (%d windows), and the output-layer penalty is ℓ1², not weight decay: (β/2)Σ_j(‖u_j‖₂² + ‖w_j‖₁²) with w_j ∈ R^%d the output weights of filter j — each recovered filter feeds exactly one window", len(d.windows), len(d.windows))
	}
	return b.String()
}

// avgFamily builds the family of window l (positions ks, weights d.weights[l]).
func avgFamily(d *cnnData, l int, ks []int, ps ir.Patterns) (*convex.Family, error) {
	A := d.p.Rows(ks)
	Np, h := A.Dims()
	set, err := patternSet(d.in, A, int64(len(d.windows)), int64(Np), int64(Np), int64(h))
	if err != nil {
		return nil, err
	}
	P := set.Len()
	if P == 0 {
		return nil, nil
	}
	n := d.p.N
	C := unitRows(A)
	sample := make([]int, Np)
	rowWeight := make([]float64, Np)
	for r := 0; r < Np; r++ {
		sample[r] = r % n
		rowWeight[r] = d.weights[l][r/n]
	}
	rowOn := make([]bool, Np)
	for r := range rowOn {
		rowOn[r] = !zeroRow(C.RawRowView(r))
	}
	// Weight = p_{lk}·D and Sign = 2D − 1 off blank rows (avgColumn, in bits)
	W := &convex.PatternWeights{Mask: set.D, Row: rowWeight}
	S := convex.PatternSigns(set.D, rowOn)
	return &convex.Family{
		H: d.p.H, A: A, Sample: sample, Weight: W, C: C, Sign: S,
		Signs: []float64{1, -1}, Cost: convex.Cost{Kind: convex.CostL2},
		Gates: set.Gates,
		Meta: map[string]any{
			"window": l, "positions": ks, "pool": "avg", "row_weight": rowWeight,
			"exhaustive": set.Exhaustive, "zero_dropped": set.SawZero, "rank": set.Rank,
		},
	}, nil
}

// avgColumn is the column of the average-pooling pattern D (0/1 over the family's
// rows): Weight = p_{lk}·D (rowWeight[r] = p_{lk} of row r's position) and
// Sign = 2D − 1, except on rows of C that are zero: a blank patch gives the
// constraint 0 ≥ 0 and predicts 0, so its Sign is 0 and no solver or export sees a
// row for it (empty rows stall interior-point methods).
func avgColumn(D, rowWeight []float64, C *mat.Dense) (w, s []float64) {
	w = make([]float64, len(D))
	s = make([]float64, len(D))
	for r, dv := range D {
		w[r] = rowWeight[r] * dv
		if !zeroRow(C.RawRowView(r)) {
			s[r] = 2*dv - 1
		}
	}
	return w, s
}

// maxFamily builds the max-pattern family of window l (§6).
func maxFamily(d *cnnData, l int, ks []int, ps ir.Patterns) (*convex.Family, error) {
	n, s, h := d.p.N, len(ks), d.p.H
	A := d.p.Rows(ks) // row j·n + i = x_{i,ks[j]}
	pairs := windowPairs(s)
	Nc := n*s + n*len(pairs)
	C := mat.NewDense(Nc, h, nil)
	C.Slice(0, n*s, 0, h).(*mat.Dense).Copy(A)
	for q, pr := range pairs {
		for i := 0; i < n; i++ {
			row := C.RawRowView(n*s + q*n + i)
			xa, xb := A.RawRowView(pr[0]*n+i), A.RawRowView(pr[1]*n+i)
			for c := range row {
				row[c] = xa[c] - xb[c]
			}
		}
	}
	// Cells of the augmented arrangement; each gate maps to one max-pattern.
	var gates *pattern.Set
	var err error
	fams := int64(len(d.windows))
	if s == 1 {
		gates, err = patternSet(d.in, A, fams, int64(n*s), int64(Nc), int64(h))
	} else {
		gates, err = patternSet(d.in, C, fams, int64(n*s), int64(Nc), int64(h))
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	W := convex.NewPatternWeights(n*s, nil)
	S := convex.NewConeSigns(Nc)
	zero := zeroRows(C)
	wWords := make([]uint64, W.Mask.Stride())
	on, neg := make([]uint64, S.On.Stride()), make([]uint64, S.On.Stride())
	var us [][]float64
	for g := 0; g < gates.Len(); g++ {
		u := gates.Gate(g)
		pi := maxPattern(A, n, s, u)
		key := fmt.Sprint(pi)
		if seen[key] || allOff(pi) {
			continue
		}
		seen[key] = true
		clear(wWords)
		clear(on)
		clear(neg)
		maxEntries(pi, n, s, zero, func(r int) { wWords[r>>6] |= 1 << (uint(r) & 63) }, func(r int, v float64) {
			on[r>>6] |= 1 << (uint(r) & 63)
			if v < 0 {
				neg[r>>6] |= 1 << (uint(r) & 63)
			}
		})
		W.Mask.AppendWords(wWords)
		S.AppendWords(on, neg)
		us = append(us, u)
	}
	P := len(us)
	if P == 0 {
		return nil, nil
	}
	G := mat.NewDense(h, P, nil)
	sample := make([]int, n*s)
	for r := range sample {
		sample[r] = r % n
	}
	for p, u := range us {
		G.SetCol(p, u)
	}
	return &convex.Family{
		H: h, A: A, Sample: sample, Weight: W, C: C, Sign: S,
		Signs: []float64{1, -1}, Cost: convex.Cost{Kind: convex.CostL2},
		Gates: G,
		Meta: map[string]any{
			"window": l, "positions": ks, "pool": "max",
			"exhaustive": gates.Exhaustive, "cells": gates.Len(), "hyperplanes": Nc,
		},
	}, nil
}

// windowPairs lists the position pairs (j, j′), j < j′, of a window of s positions in
// the order of the difference rows of a max family's C (row n·s + q·n + i is
// x_{i,j} − x_{i,j′} for pair q).
func windowPairs(s int) [][2]int {
	var pairs [][2]int
	for j := 0; j < s; j++ {
		for jj := j + 1; jj < s; jj++ {
			pairs = append(pairs, [2]int{j, jj})
		}
	}
	return pairs
}

// maxColumn is the column of max-pattern π over a window of s positions (n samples;
// C the family's constraint rows [x_{ij} ; x_{ij} − x_{ij′}]): Weight is 1 on the
// winner's row j·n + i (nothing when π(i) is off); Sign gives the rows of 𝒦_π:
// +1 on x_{i,π(i)} (≥ 0), ±1 on the differences with the winner (x_{i,π(i)} − x_{i,k′}
// ≥ 0), −1 on every x_{i,k′} when off (≤ 0), 0 elsewhere and on zero rows of C
// (blank patches or two equal patches give 0 ≥ 0: dropped, see avgColumn).
func maxColumn(pi []int, n, s int, C *mat.Dense) (w, sg []float64) {
	nc, _ := C.Dims()
	w = make([]float64, n*s)
	sg = make([]float64, nc)
	maxEntries(pi, n, s, zeroRows(C), func(r int) { w[r] = 1 }, func(r int, v float64) { sg[r] = v })
	return w, sg
}

// maxEntries enumerates the nonzero entries of maxColumn's columns: weight(r) for the
// Weight rows (value 1) and sign(r, ±1) for the Sign rows, skipping the rows with
// zero[r] (zero rows of C). The family build writes them as bits, PatternColumn as
// floats, so the two agree by construction.
func maxEntries(pi []int, n, s int, zero []bool, weight func(r int), sign func(r int, v float64)) {
	pairs := windowPairs(s)
	put := func(r int, v float64) {
		if !zero[r] {
			sign(r, v)
		}
	}
	for i, win := range pi {
		if win < 0 {
			for j := 0; j < s; j++ {
				put(j*n+i, -1) // x_{ik'}ᵀu ≤ 0
			}
			continue
		}
		weight(win*n + i)
		put(win*n+i, 1) // x_{i,π(i)}ᵀu ≥ 0
		for q, pr := range pairs {
			switch win {
			case pr[0]:
				put(n*s+q*n+i, 1) // (x_a − x_b)ᵀu ≥ 0
			case pr[1]:
				put(n*s+q*n+i, -1)
			}
		}
	}
}

// zeroRows marks the rows of C that are all zero.
func zeroRows(C *mat.Dense) []bool {
	nc, _ := C.Dims()
	z := make([]bool, nc)
	for r := range z {
		z[r] = zeroRow(C.RawRowView(r))
	}
	return z
}

// PatternColumn maps a gate u ∈ Rʰ to its pattern column of a CNN family built by
// this file (the hook of the adaptive mode, compiler/train; the builders above use the
// same avgColumn/maxColumn, so a gate's column always equals the column the initial
// build gives its pattern):
//
//   - average pooling (§4, §5.2): D = 1[A u ≥ 0] over the family's rows, Weight =
//     p_{lk}·D, Sign = 2D − 1 (0 on blank rows);
//   - max pooling (§6): π(i) = argmax_k x_{ik}ᵀu if that is ≥ 0, else off; the
//     Weight/Sign columns of maxColumn.
//
// ok is false for the zero pattern (D = 0, or every sample off), which adds nothing,
// and for a family this file did not build (no "pool" in Meta) or a gate of the wrong
// length.
func PatternColumn(f *convex.Family, u []float64) (weight, sign []float64, ok bool) {
	if f == nil || f.A == nil || f.C == nil || len(u) != f.H {
		return nil, nil, false
	}
	switch f.Meta["pool"] {
	case "avg":
		rw, _ := f.Meta["row_weight"].([]float64)
		np, _ := f.A.Dims()
		if len(rw) != np {
			return nil, nil, false
		}
		D := pattern.Of(f.A, u)
		if allZero(D) {
			return nil, nil, false
		}
		w, s := avgColumn(D, rw, f.C)
		return w, s, true
	case "max":
		ks, _ := f.Meta["positions"].([]int)
		np, _ := f.A.Dims()
		s := len(ks)
		if s == 0 || np%s != 0 {
			return nil, nil, false
		}
		pi := maxPattern(f.A, np/s, s, u)
		if allOff(pi) {
			return nil, nil, false
		}
		w, sg := maxColumn(pi, np/s, s, f.C)
		return w, sg, true
	}
	return nil, nil, false
}

// PatternWeights is the batched form of PatternColumn's Weight part for a CNN family
// built by this file: it turns Z = A·U (one column per gate) in place into the
// Weight columns of the gates' patterns — p_{lk}·1[Z ≥ 0] for average pooling, and
// for max pooling 1 at each sample's winning row (the first largest, as maxPattern)
// when its value is ≥ 0. nil for other families.
func PatternWeights(f *convex.Family) func(Z *mat.Dense) {
	if f == nil || f.A == nil {
		return nil
	}
	np, _ := f.A.Dims()
	switch f.Meta["pool"] {
	case "avg":
		rw, _ := f.Meta["row_weight"].([]float64)
		if len(rw) != np {
			return nil
		}
		return func(Z *mat.Dense) {
			raw := Z.RawMatrix()
			for r := 0; r < raw.Rows; r++ {
				row := raw.Data[r*raw.Stride : r*raw.Stride+raw.Cols]
				for j, z := range row {
					if z >= 0 {
						row[j] = rw[r]
					} else {
						row[j] = 0
					}
				}
			}
		}
	case "max":
		ks, _ := f.Meta["positions"].([]int)
		s := len(ks)
		if s == 0 || np%s != 0 {
			return nil
		}
		n := np / s
		return func(Z *mat.Dense) {
			raw := Z.RawMatrix()
			S := raw.Cols
			best := make([]float64, S)
			arg := make([]int, S)
			for i := 0; i < n; i++ {
				for c := 0; c < S; c++ {
					best[c], arg[c] = math.Inf(-1), -1
				}
				for j := 0; j < s; j++ {
					row := raw.Data[(j*n+i)*raw.Stride : (j*n+i)*raw.Stride+S]
					for c, z := range row {
						if z > best[c] {
							best[c], arg[c] = z, j
						}
					}
				}
				for j := 0; j < s; j++ {
					row := raw.Data[(j*n+i)*raw.Stride : (j*n+i)*raw.Stride+S]
					for c := range row {
						if arg[c] == j && best[c] >= 0 {
							row[c] = 1
						} else {
							row[c] = 0
						}
					}
				}
			}
		}
	}
	return nil
}

func allZero(d []float64) bool {
	for _, v := range d {
		if v != 0 {
			return false
		}
	}
	return true
}

// maxPattern maps a gate u to its max-pattern over a window of s positions:
// π(i) = argmax_j x_{i,j}ᵀu when that maximum is ≥ 0, else −1 (off).
func maxPattern(A *mat.Dense, n, s int, u []float64) []int {
	pi := make([]int, n)
	for i := 0; i < n; i++ {
		best, arg := math.Inf(-1), -1
		for j := 0; j < s; j++ {
			z := dot(A.RawRowView(j*n+i), u)
			if z > best {
				best, arg = z, j
			}
		}
		if best < 0 {
			arg = -1
		}
		pi[i] = arg
	}
	return pi
}

func allOff(pi []int) bool {
	for _, v := range pi {
		if v >= 0 {
			return false
		}
	}
	return true
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

// ---------------------------------------------------------------------------
// ReLU CNN recovery

// neuron is one recovered hidden unit: filter u (h entries, bias last when the conv
// has a bias) and its output weights over the a windows.
type neuron struct {
	u []float64
	w []float64
}

func recoverReLUCNN(in *Input, prog *convex.Program, sol *convex.Solution) (*network.Weights, error) {
	a := parseArch(in.Model)
	if a.conv == nil || a.out == nil {
		return nil, fmt.Errorf("recover: model %s is not a conv · relu · pool · linear network", in.Model.Name)
	}
	if len(sol.Blocks) != len(prog.Families) {
		return nil, fmt.Errorf("recover: solution has %d families, program %d", len(sol.Blocks), len(prog.Families))
	}
	nWin := 1
	for _, f := range prog.Families {
		if l, ok := f.Meta["window"].(int); ok && l+1 > nWin {
			nWin = l + 1
		}
	}
	// The number of windows comes from the model; families may be missing for
	// windows without patterns.
	if d, ds := prepareShape(in, a); !ds.HasErrors() {
		nWin = d
	}
	maxNorm := 0.0
	for fi := range prog.Families {
		for _, B := range sol.Blocks[fi] {
			if B == nil {
				continue
			}
			r, _ := B.Dims()
			for p := 0; p < r; p++ {
				maxNorm = math.Max(maxNorm, norm(B.RawRowView(p)))
			}
		}
	}
	tol := recoverTol * maxNorm
	var ns []neuron
	for fi, f := range prog.Families {
		l, _ := f.Meta["window"].(int)
		for si, B := range sol.Blocks[fi] {
			if B == nil {
				continue
			}
			r, _ := B.Dims()
			for p := 0; p < r; p++ {
				c := B.RawRowView(p)
				nc := norm(c)
				if nc <= tol {
					continue
				}
				s := math.Sqrt(nc)
				u := make([]float64, len(c))
				for j := range c {
					u[j] = c[j] / s
				}
				w := make([]float64, nWin)
				w[l] = f.Signs[si] * s
				ns = append(ns, neuron{u: u, w: w})
			}
		}
	}
	outPenalty := network.PenaltyL2
	if nWin > 1 {
		outPenalty = network.PenaltyL1Sq
	}
	return cnnWeights(in, a, ns, nWin, sol.Bias, outPenalty)
}

// prepareShape returns the number of pooled outputs a of a matched model from its
// shapes alone (no data).
func prepareShape(in *Input, a arch) (int, diag.List) {
	var ds diag.List
	out := make([]int, 0, 2)
	conv := a.conv
	inShape := sampleShape(in.Model)
	if len(inShape) < 2 {
		ds.Errorf(CodeShape, conv.Range, "", "input shape %v has no spatial dimension", inShape)
		return 0, ds
	}
	for dd, L := range inShape[1:] {
		if dd >= len(conv.Kernel) {
			ds.Errorf(CodeShape, conv.Range, "", "kernel %v does not match input %v", conv.Kernel, inShape)
			return 0, ds
		}
		if conv.Kind == ir.CircConv {
			out = append(out, L)
			continue
		}
		st, pd := 1, 0
		if dd < len(conv.Stride) && conv.Stride[dd] > 0 {
			st = conv.Stride[dd]
		}
		if dd < len(conv.Padding) {
			pd = conv.Padding[dd]
		}
		out = append(out, (L+2*pd-conv.Kernel[dd])/st+1)
	}
	if a.pool == nil {
		K := 1
		for _, o := range out {
			K *= o
		}
		return K, ds
	}
	if a.pool.Global {
		return 1, ds
	}
	w, _, err := patch.Windows(out, a.pool.Kernel, a.pool.Stride)
	if err != nil {
		ds.Errorf(CodeShape, a.pool.Range, "", "%v", err)
		return 0, ds
	}
	return len(w), ds
}

// cnnWeights writes the recovered two-layer CNN in weights.json form (PyTorch
// layouts, via network.New/Set/Finalize): L<conv>.weight [m, C, Kh, Kw] (1-D
// [m, C, K]) holding the filters, L<conv>.bias [m] when the conv has a bias (the
// filters' last entry, weight decay), and L<out>.weight [1, m·a] with entry j·a + l =
// w_{jl} (flatten is row-major over (channel, pooled position)) under outPenalty,
// plus L<out>.bias [1] (unpenalised) when the output layer has a bias. With no
// active neuron one zero filter is written so the network stays well-formed (its
// penalty is 0).
func cnnWeights(in *Input, a arch, ns []neuron, nWin int, outBias float64, outPenalty string) (*network.Weights, error) {
	if w := a.conv.Width; w != ir.Auto && len(ns) > w {
		return nil, fmt.Errorf("%s: "+"the optimal network needs %d filters but %s allows filters=%d; the reformulation is exact only with width ≥ %d (raise filters= or use filters=auto)", CodeWidth, len(ns), a.conv.Kind, w, len(ns))
	}
	C := sampleShape(in.Model)[0]
	hk := 1
	for _, k := range a.conv.Kernel {
		hk *= k
	}
	h := C * hk
	if len(ns) == 0 {
		ns = []neuron{{u: make([]float64, h+b2i(a.conv.Bias)), w: make([]float64, nWin)}}
	}
	m := len(ns)
	loss := in.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	wt := network.New(in.Model, in.Train.Beta, loss)
	convShape := append([]int{m, C}, a.conv.Kernel...)
	cw := make([]float64, 0, m*h)
	var cb []float64
	ow := make([]float64, m*nWin)
	for j, nr := range ns {
		if len(nr.u) != h+b2i(a.conv.Bias) {
			return nil, fmt.Errorf("recover: block has %d entries, the conv has %d weights", len(nr.u), h+b2i(a.conv.Bias))
		}
		cw = append(cw, nr.u[:h]...)
		if a.conv.Bias {
			cb = append(cb, nr.u[h])
		}
		copy(ow[j*nWin:(j+1)*nWin], nr.w)
	}
	ci, oi := a.conv.Index, a.out.Index
	wt.Set(fmt.Sprintf("L%d.weight", ci), convShape, cw, network.PenaltyL2)
	if a.conv.Bias {
		wt.Set(fmt.Sprintf("L%d.bias", ci), []int{m}, cb, network.PenaltyL2)
	}
	wt.Set(fmt.Sprintf("L%d.weight", oi), []int{1, m * nWin}, ow, outPenalty)
	if a.out.Bias {
		wt.Set(fmt.Sprintf("L%d.bias", oi), []int{1}, []float64{outBias}, network.PenaltyNone)
	}
	if err := wt.Finalize(); err != nil {
		return nil, fmt.Errorf("recover: %v", err)
	}
	return wt, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// zeroRow reports whether every entry of row is 0.
func zeroRow(row []float64) bool {
	for _, v := range row {
		if v != 0 {
			return false
		}
	}
	return true
}

// unitRows returns A with every nonzero row scaled to unit ℓ2 norm. The cone
// constraints (2D−I)·A·x ≥ 0 are unchanged by positive row scaling, and unit rows keep
// pixel-scale patches from making interior-point solvers badly conditioned.
func unitRows(A *mat.Dense) *mat.Dense {
	C := mat.DenseCopyOf(A)
	r, _ := C.Dims()
	for i := 0; i < r; i++ {
		row := C.RawRowView(i)
		nrm := 0.0
		for _, v := range row {
			nrm += v * v
		}
		if nrm > 0 {
			inv := 1 / math.Sqrt(nrm)
			for j := range row {
				row[j] *= inv
			}
		}
	}
	return C
}
