package derive

// Three-layer networks with two ReLU layers (docs/math/09-three-layer.md, §9b).
//
// Model (the parallel architecture of §9b.2): K branches found by the program, each
// with its own first layer of m1 ReLU units, one second-layer ReLU unit and an output
// weight,
//
//	f(x) = Σ_k w3_k·(Σ_j w2_kj·(x·w1_kj)₊)₊            (FC: linear m1 branches=auto ·
//	                                                       relu · linear 1 branches=auto ·
//	                                                       relu · linear 1)
//	f(x) = Σ_k w3_k·(Σ_j w2_kj·(1/P)Σ_p (x_p·u_kj)₊)₊  (pooled CNN, §9b.7: conv
//	                                                       filters=m1 branches=auto · relu ·
//	                                                       avgpool global · linear 1
//	                                                       branches=auto · relu · linear 1)
//
// (a hidden bias on the first layer is a ones column of X / of every patch, penalised
// like the weights), with one of the two regularisers of the train block:
//
//	path  (P): β Σ_k |w3_k|·sqrt(Σ_j ‖w1_kj‖²·w2_kj²)   (the ℓ2 path norm)
//	group (F): β Σ_k |w3_k|·Σ_j ‖w1_kj‖·|w2_kj|
//
// Plain weight decay on all three layers is refused (checkThreeLayerReg): rescaling
// turns a branch's cost into a concave power 2/3 of its amplitude, and no program of
// this type is exact for it.
//
// The convex program (§9b.3). A pair b = (c, D2) is a configuration c — one
// first-layer pattern D_j of the stacked patch matrix per slot j, with the sign s_j of
// its second-layer weight — and a second-layer pattern D2 reachable inside c's cone
// (backend/pattern: PairProblem). With q = (q_1, …, q_m1) (q_j = |w3|·|w2_j|·w1_j),
//
//	min ℓ( Σ_b D2_b X̃_b (q_b − q′_b), y ) + β Σ_b (R(q_b) + R(q′_b))
//	s.t. q_b, q′_b ∈ 𝒦_b:  (2D_j − I) M q_j ≥ 0 ∀j,  (2D2_b − I) X̃_b q ≥ 0,
//
// X̃_b q = Σ_j s_j·pool·Σ_p D_j^p X_p q_j, R = ‖·‖₂ on R^{m1·h} for (P) and Σ_j ‖q_j‖₂
// for (F). Exactness needs no duality: a network's branch with pair b and
// q = |w3|(|w2_j| w1_j)_j has prediction ±D2 X̃ q and cost R(q), branches sharing a
// (pair, sign) add up (the cones are convex, R is subadditive), so p_cvx ≤ p*; and
// the recovery below maps every solution to a network with the same objective, so
// p* ≤ p_cvx once K ≥ the number of nonzero blocks (≤ n after pruning).
//
// Family layout (one convex.Family per sign family s, + before −, the all-minus one
// omitted): H = m1·h; prediction rows r = (j·P + p)·n + t with A_r = e_j ⊗ x_{t,p},
// Sample[r] = t, Weight[r, b] = s_j·pool·D2_b[t]·D_{b,j}[p·n + t]; constraint rows:
// the same m1·P·n first-layer rows (unit-normalised) with Sign 2D_{b,j} − 1, then one
// row per distinct second-layer coefficient vector g_t = Σ_j s_j Σ_{p active} x_{t,p}
// on a mixed sample (units of both signs active), keyed by (t, the active positions of
// each slot), with Sign 2D2_b[t] − 1. FC families list every such row up front (2^{m1}
// subsets per sample at most), so the adaptive mode's columns always fit; pooled CNN
// families hold the rows their pairs use.
//
// Recovery (balanced form) of a nonzero block q (copy sign σ, family signs s):
//
//	(P): w1_j = q_j/‖q_j‖,             w2_j = s_j‖q_j‖/√‖q‖,  w3 = σ√‖q‖
//	(F): w1_j = (q_j/‖q_j‖)·√(‖q_j‖/S), w2_j = s_j√‖q_j‖,     w3 = σ√S,  S = Σ_j‖q_j‖
//
// (dead units, q_j = 0, get zero weights). Then w3·w2_j·w1_j = σ s_j q_j, each unit's
// output is positively homogeneous, and the cone constraints make every ReLU act as
// its pattern says, so the branch predicts σ·D2 X̃ q; its regulariser is R(q)
// (and (β/2)(‖w2‖² + w3²) = β R(q): the balanced weight-decay form of each).

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

const threeDoc = "docs/math/09-three-layer.md"

func init() {
	Register(&Rule{
		Name:    "three-relu",
		Section: "§9b",
		Doc:     threeDoc,
		Theorem: "three-layer parallel ReLU network with two ReLU layers, path or group regularisation (Ergen & Pilanci 2021; cnnc derivation §9b)",
		Pattern: "linear m1 branches=auto · relu · linear 1 branches=auto · relu · linear 1",
		Match:   func(m *ir.Model) Match { return matchThree(m, false) },
		Check:   checkThree,
		Build:   buildThree,
		Recover: recoverThree,
	})
	Register(&Rule{
		Name:    "three-relu-cnn",
		Section: "§9b.7",
		Doc:     threeDoc,
		Theorem: "three-layer ReLU CNN with two ReLU layers, average pooling between them, path or group regularisation (cnnc derivation §9b.7)",
		Pattern: "conv K filters=m1 branches=auto · relu · avgpool global · linear 1 branches=auto · relu · linear 1",
		Match:   func(m *ir.Model) Match { return matchThree(m, true) },
		Check:   checkThree,
		Build:   buildThree,
		Recover: recoverThree,
	})
}

// threeArch is a matched three-layer model.
type threeArch struct {
	first, relu1, pool, second, relu2, out *ir.Layer
	cnn                                    bool
}

func parseThree(m *ir.Model) threeArch {
	ls := m.Layers[1:]
	a := threeArch{first: ls[0], relu1: ls[1]}
	if ls[0].Kind == ir.Conv {
		a.cnn, a.pool = true, ls[2]
		ls = ls[1:]
	}
	a.second, a.relu2, a.out = ls[2], ls[3], ls[4]
	return a
}

// matchThree matches the FC (cnn = false) or pooled CNN architecture. Models with the
// layer kinds of a three-layer network but not its parallel structure, or with a
// third ReLU layer, get a long partial match naming the difference.
func matchThree(m *ir.Model, cnn bool) Match {
	if m == nil || len(m.Layers) < 2 {
		return Match{Why: "empty model"}
	}
	ls := m.Layers[1:]
	type st struct {
		want string
		ok   func(*ir.Layer) bool
	}
	steps := []st{{"linear", isKind(ir.Linear)}, {"relu", isKind(ir.ReLU)}}
	if cnn {
		steps = []st{{"conv", isKind(ir.Conv)}, {"relu", isKind(ir.ReLU)}, {"avgpool global", func(l *ir.Layer) bool { return l.Kind == ir.AvgPool && l.Global }}}
	}
	steps = append(steps, st{"linear", isKind(ir.Linear)}, st{"relu", isKind(ir.ReLU)}, st{"linear 1", isScalarOut})
	for i, s := range steps {
		if i >= len(ls) {
			last := ls[len(ls)-1]
			return Match{Layers: i, Differs: last, Why: fmt.Sprintf("the model ends after %s; expected %s next", describeLayer(last), s.want)}
		}
		if !s.ok(ls[i]) {
			why := fmt.Sprintf("expected %s, found %s", s.want, describeLayer(ls[i]))
			if i == len(steps)-1 && ls[i].Kind == ir.Linear && i+1 < len(ls) {
				why = fmt.Sprintf("a third hidden layer (%s, then %s): cnnc's exact programs cover networks with at most two ReLU layers (see %s)", describeLayer(ls[i]), describeLayer(ls[i+1]), threeDoc)
			}
			return Match{Layers: i, Differs: ls[i], Why: why}
		}
	}
	if len(steps) < len(ls) {
		return Match{Layers: len(steps), Differs: ls[len(steps)], Why: "expected the end of the model, found " + describeLayer(ls[len(steps)])}
	}
	a := parseThree(m)
	n := len(steps)
	if a.first.Branches == 0 || a.second.Branches == 0 {
		kind := "fully connected"
		fix := fmt.Sprintf("`linear %s branches=auto` (the units of each branch's first layer)", widthText(a.first.Width, "m1"))
		if cnn {
			kind = "convolutional"
			fix = fmt.Sprintf("`conv %s filters=%s branches=auto` (the filters of each branch)", ir.Shape(a.first.Kernel), widthText(a.first.Width, "m1"))
		}
		return Match{Layers: n, Differs: a.relu2, Why: fmt.Sprintf("this is a %s network with two ReLU layers (the second is this `relu`, layer %d) whose second layer reads every first-layer unit; cnnc's exact three-layer program is for parallel branches, each with its own first layer and one second-layer unit (see %s): write %s and `linear 1 branches=auto`, and `regularizer path` or `regularizer group` in the train block",
			kind, a.relu2.Index, threeDoc, fix)}
	}
	if a.second.Width != 1 {
		return Match{Layers: n - 3, Differs: a.second, Why: "each branch has one second-layer unit: expected `linear 1 branches=auto`, found " + describeLayer(a.second)}
	}
	return Match{OK: true, Layers: n}
}

func widthText(w int, auto string) string {
	if w == ir.Auto {
		return auto
	}
	return fmt.Sprint(w)
}

// threeData is the prepared data of a matched model: the pair problem (positions,
// m1), the pooling weight and the targets.
type threeData struct {
	a    threeArch
	pp   *pattern.PairProblem
	pool float64
	y    []float64
	h    int // features per unit (with the bias entry)
}

// checkThree is the rules' Check: the data and β (with the patch budget for the CNN),
// and threeChecks.
func checkThree(in *Input) diag.List {
	a := parseThree(in.Model)
	var dl diag.List
	if a.cnn {
		dl = checkCNN(in)
	} else {
		dl = checkScalar(in)
	}
	threeChecks(in, a, &dl)
	return dl
}

// threeChecks reports what buildThree refuses before any work: a second-layer bias,
// plain weight decay, the adaptive mode where it is not available.
func threeChecks(in *Input, a threeArch, dl *diag.List) {
	if a.second.Bias {
		dl.Errorf(CodeThreeLayer, a.second.Range, "The second-layer unit of a branch has no bias in this architecture (the path and group regularisers do not cover one); remove `bias=true` from it. A first-layer bias and an output bias are fine.",
			"the second branched layer has a bias")
	}
	checkThreeLayerReg(in, dl, threeDoc)
	if ps := in.Train.Patterns; ps.Mode == ir.Adaptive && (a.cnn || in.Train.Regularizer == ir.Group) {
		what := "the group regulariser's certificate needs the dual of Σ_j‖q_j‖₂ over each pair's cone, which cnnc does not compute yet"
		if a.cnn {
			what = "the pooled CNN's second-layer constraints depend on which positions each unit has active, so its pairs cannot be generated one at a time"
		}
		dl.Errorf(CodePatterns, ps.Range, fmt.Sprintf("The adaptive mode is available for fully connected three-layer networks with `regularizer path`: %s. Use `patterns exact` (small data) or `patterns sample N`.", what),
			"patterns adaptive is not available for this three-layer model")
	}
}

func prepareThree(in *Input) (*threeData, diag.List) {
	var dl diag.List
	a := parseThree(in.Model)
	threeChecks(in, a, &dl)
	if dl.HasErrors() {
		return nil, dl
	}
	td := &threeData{a: a, pool: 1}
	if a.cnn {
		d, ds := prepare(in, arch{conv: a.first, act: a.relu1, pool: a.pool, out: a.out})
		if ds.HasErrors() {
			return nil, ds
		}
		td.y = d.y
		for k := 0; k < d.p.K; k++ {
			td.pp = appendPos(td.pp, d.p.X(k))
		}
		td.pool = 1 / float64(d.p.K)
		td.h = d.p.H
	} else {
		td.y = CheckData(in, &dl)
		if td.y == nil || !CheckBeta(in, &dl) {
			return nil, dl
		}
		X := DesignMatrix(in.Data.X, a.first.Bias)
		td.pp = appendPos(nil, X)
		_, td.h = X.Dims()
	}
	td.pp.M1 = a.first.Width
	return td, dl
}

func appendPos(pp *pattern.PairProblem, X *mat.Dense) *pattern.PairProblem {
	if pp == nil {
		pp = &pattern.PairProblem{}
	}
	pp.Pos = append(pp.Pos, mat.DenseCopyOf(X))
	return pp
}

// stackedM is the stacked patch matrix [X_0; …; X_{P−1}] of pp.
func stackedM(pp *pattern.PairProblem) *mat.Dense {
	n, h := pp.Pos[0].Dims()
	M := mat.NewDense(n*len(pp.Pos), h, nil)
	for p, X := range pp.Pos {
		M.Slice(p*n, (p+1)*n, 0, h).(*mat.Dense).Copy(X)
	}
	return M
}

func buildThree(in *Input) (*convex.Program, diag.List) {
	td, dl := prepareThree(in)
	if td == nil || dl.HasErrors() {
		return nil, dl
	}
	a, pp := td.a, td.pp
	ps := in.Train.Patterns
	pp.Opts = in.patternOptions()
	// Memory: every sign family may hold up to max (exact) or N (sampled) pairs.
	n, h := pp.Pos[0].Dims()
	P, m1 := int64(len(pp.Pos)), int64(pp.M1)
	maxPairs := int64(ps.Max)
	what := fmt.Sprintf("patterns exact max=%d", ps.Max)
	if ps.Mode == ir.Exact && maxPairs <= 0 {
		maxPairs, what = 100000, "patterns exact"
	}
	if ps.Mode != ir.Exact {
		maxPairs, what = int64(ps.N), fmt.Sprintf("patterns %s %d", ps.Mode, ps.N)
		if maxPairs <= 0 {
			maxPairs = 1000
		}
	}
	Np := budget.Mul(m1, budget.Mul(P, int64(n)))
	Nc := budget.Add(Np, budget.Mul(int64(n), int64(1)<<min(pp.M1, 30)))
	need := budget.Mul(m1, budget.Add(FamilyBytes(maxPairs, Np, Nc, budget.Mul(m1, int64(h))), pattern.PairBytes(maxPairs, int64(n), budget.Mul(P, int64(n)), m1, int64(h))))
	if err := budget.Check(in.MaxMemory, need, fmt.Sprintf("%s: %d sign families of up to %d pattern pairs over %d rows", what, m1, maxPairs, Np),
		"Ask for fewer pattern pairs (`patterns sample N`, `max=`), or use fewer samples (`limit N`)."); err != nil {
		stageError(&dl, ps.Range, err, CodePatterns, "")
		return nil, dl
	}
	var sets []*pattern.PairSet
	exhaustive := false
	switch ps.Mode {
	case ir.Exact:
		max := ps.Max
		if max <= 0 {
			max = 100000
		}
		first, err := pattern.ExactWith(stackedM(pp), max, in.patternOptions())
		if err != nil {
			if budget.AsTooLarge(err) != nil || in.Context != nil && in.Context.Err() != nil {
				stageError(&dl, ps.Range, err, CodePatterns, "")
				return nil, dl
			}
			dl.Errorf(CodePatterns, ps.Range, "Exact enumeration of the pattern pairs needs the first layer's activation patterns, which are polynomial only for low-rank data; use `patterns sample N` (random branches) or `patterns adaptive`.", "first layer: %v", err)
			return nil, dl
		}
		pp.First = first
		exhaustive = first.Exhaustive
		total := 0
		var configs float64
		for _, s := range pattern.SignFamilies(pp.M1) {
			configs += pattern.ConfigCount(first.Len(), s)
		}
		if configs > float64(max) {
			dl.Errorf(CodePatterns, ps.Range, fmt.Sprintf("The first layer has %d activation patterns; branches of %d units give %.0f configurations (multisets of (pattern, sign) per branch), each with one or more second-layer patterns, so at least %.0f pattern pairs — more than max = %d. Raise `max`, reduce the data, or use `patterns sample N` or `patterns adaptive`.", first.Len(), pp.M1, configs, configs, max),
				"exact enumeration needs at least %.0f pattern pairs, more than max = %d", configs, max)
			return nil, dl
		}
		for _, s := range pattern.SignFamilies(pp.M1) {
			set, err := pp.Exact(s, max-total)
			if err != nil {
				var tm *pattern.ErrTooMany
				if errors.As(err, &tm) {
					dl.Errorf(CodePatterns, ps.Range, fmt.Sprintf("Exact enumeration found more than %d pattern pairs (%d first-layer patterns, %.0f configurations); raise `max`, reduce the data, or use `patterns sample N` or `patterns adaptive`.", max, first.Len(), configs),
						"exact enumeration exceeds max = %d pattern pairs", max)
					return nil, dl
				}
				stageError(&dl, ps.Range, err, CodePatterns, "")
				return nil, dl
			}
			total += len(set.Pairs)
			sets = append(sets, set)
		}
	default: // sample, and the adaptive mode's start
		var err error
		if sets, err = pp.Sample(int(maxPairs), ps.Seed); err != nil {
			stageError(&dl, ps.Range, err, CodePatterns, "")
			return nil, dl
		}
	}
	loss := in.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	prog := &convex.Program{
		Model:      in.Model.Name,
		Loss:       loss,
		Y:          td.y,
		N:          len(td.y),
		Beta:       in.Train.Beta,
		OutputBias: a.out.Bias,
	}
	prog.Theorem, prog.Section = "three-layer parallel ReLU network with two ReLU layers (cnnc derivation §9b)", "§9b"
	if a.cnn {
		prog.Theorem, prog.Section = "three-layer ReLU CNN with two ReLU layers, average pooling between them (cnnc derivation §9b.7)", "§9b.7"
	}
	reg := in.Train.Regularizer
	if reg == ir.Path {
		prog.Regularizer = fmt.Sprintf("group ℓ2 over pattern pairs: β Σ_b (‖q_b‖₂ + ‖q′_b‖₂), one block q ∈ R^{%d·%d} per (first-layer configuration, second-layer pattern) — the ℓ2 path norm β Σ_k |w3_k|·sqrt(Σ_j ‖w1_kj‖²·w2_kj²) of the %d-unit branches (balanced form: unit-norm first-layer units, weight decay on the last two layers); few active branches", pp.M1, td.h, pp.M1)
	} else {
		prog.Regularizer = fmt.Sprintf("group ℓ1 over the units of each pattern pair: β Σ_b Σ_j (‖q_bj‖₂ + ‖q′_bj‖₂) — the group regulariser β Σ_k |w3_k|·Σ_j ‖w1_kj‖·|w2_kj| of the %d-unit branches (balanced form: a Frobenius-ball first layer, weight decay on the last two layers); few active branches and units", pp.M1)
	}
	for _, set := range sets {
		if len(set.Pairs) == 0 {
			continue
		}
		f, err := threeFamily(pp, set, td.pool, a.first.Index, reg, !a.cnn)
		if err != nil {
			dl.Errorf(CodePatterns, ps.Range, "", "building the pattern-pair family %v: %v", set.Signs, err)
			return nil, dl
		}
		if f == nil {
			continue
		}
		f.Meta["exhaustive"] = exhaustive && set.Exhaustive
		prog.Families = append(prog.Families, f)
	}
	if len(prog.Families) == 0 {
		dl.Errorf(CodePatterns, ps.Range, "No pattern pair predicts anything: every branch tried was dead on the data. Sample more branches, or check the data and its scale.", "no usable pattern pair")
		return nil, dl
	}
	return prog, dl
}

// familyName is q followed by the signs: "qpm" for (+, −).
func familyName(signs []float64) string {
	var b strings.Builder
	b.WriteString("q")
	for _, s := range signs {
		if s > 0 {
			b.WriteByte('p')
		} else {
			b.WriteByte('m')
		}
	}
	return b.String()
}

// threeLayout is the row layout of a §9b family (see the file doc).
type threeLayout struct {
	pp      *pattern.PairProblem
	signs   []float64
	pool    float64
	n, h, P int
	first   int            // number of first-layer constraint rows (m1·P·n)
	rows    map[string]int // second-layer row key → row of C
	C       [][]float64    // all constraint rows
	grow    bool           // second-layer rows may be added (pooled CNN)
}

// rowKey identifies sample t's second-layer coefficient vector: t and the active
// positions of every slot.
func (L *threeLayout) rowKey(slots [][]float64, t int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|", t)
	for _, D := range slots {
		for p := 0; p < L.P; p++ {
			if D[p*L.n+t] != 0 && !zeroRow(L.pp.Pos[p].RawRowView(t)) {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		b.WriteByte('|')
	}
	return b.String()
}

// secondRow returns the row of C for sample t's second-layer constraint, adding it
// when the layout may grow; ok is false when it is missing.
func (L *threeLayout) secondRow(slots [][]float64, t int) (int, bool) {
	k := L.rowKey(slots, t)
	if r, ok := L.rows[k]; ok {
		return r, true
	}
	if !L.grow {
		return 0, false
	}
	L.rows[k] = len(L.C)
	L.C = append(L.C, unitVec(L.pp.Row(slots, L.signs, t)))
	return len(L.C) - 1, true
}

// column is the Weight and Sign column of a pair (nil, nil, false when a second-layer
// row is missing from a layout that cannot grow).
func (L *threeLayout) column(pr pattern.Pair) (w, sg []float64, ok bool) {
	m1 := len(L.signs)
	w = make([]float64, m1*L.P*L.n)
	var second [][2]int
	for t := 0; t < L.n; t++ {
		if L.pp.RowKind(pr.Slots, L.signs, t) != 2 {
			continue
		}
		r, ok := L.secondRow(pr.Slots, t)
		if !ok {
			return nil, nil, false
		}
		s := -1
		if pr.D2[t] != 0 {
			s = 1
		}
		second = append(second, [2]int{r, s})
	}
	sg = make([]float64, len(L.C))
	for j := 0; j < m1; j++ {
		for p := 0; p < L.P; p++ {
			for t := 0; t < L.n; t++ {
				r := (j*L.P+p)*L.n + t
				d := pr.Slots[j][p*L.n+t]
				w[r] = L.signs[j] * L.pool * pr.D2[t] * d
				if L.C[r] != nil {
					sg[r] = 2*d - 1
				}
			}
		}
	}
	for _, rs := range second {
		sg[rs[0]] = float64(rs[1])
	}
	return w, sg, true
}

func unitVec(v []float64) []float64 {
	nv := norm(v)
	out := make([]float64, len(v))
	if nv == 0 {
		return out
	}
	for i, x := range v {
		out[i] = x / nv
	}
	return out
}

// threeFamily builds the family of one sign family's pairs. allRows lists every
// possible second-layer row up front (FC; the adaptive mode needs it).
func threeFamily(pp *pattern.PairProblem, set *pattern.PairSet, pool float64, layer int, reg string, allRows bool) (*convex.Family, error) {
	n, h := pp.Pos[0].Dims()
	P := len(pp.Pos)
	m1 := len(set.Signs)
	H := m1 * h
	L := &threeLayout{pp: pp, signs: set.Signs, pool: pool, n: n, h: h, P: P, rows: map[string]int{}, grow: true}
	Np := m1 * P * n
	A := mat.NewDense(Np, H, nil)
	sample := make([]int, Np)
	L.C = make([][]float64, Np)
	for j := 0; j < m1; j++ {
		for p := 0; p < P; p++ {
			for t := 0; t < n; t++ {
				r := (j*P+p)*n + t
				x := pp.Pos[p].RawRowView(t)
				copy(A.RawRowView(r)[j*h:], x)
				sample[r] = t
				if !zeroRow(x) {
					c := make([]float64, H)
					copy(c[j*h:], unitVec(x))
					L.C[r] = c
				}
			}
		}
	}
	L.first = Np
	if allRows { // every mixed subset of slots on every sample (FC: P = 1)
		for t := 0; t < n; t++ {
			for S := 1; S < 1<<m1; S++ {
				pos, neg := false, false
				slots := make([][]float64, m1)
				for j := range slots {
					slots[j] = make([]float64, n*P)
					if S>>j&1 == 1 {
						for p := 0; p < P; p++ {
							slots[j][p*n+t] = 1
						}
						if set.Signs[j] > 0 {
							pos = true
						} else {
							neg = true
						}
					}
				}
				if pos && neg && pp.RowKind(slots, set.Signs, t) == 2 {
					L.secondRow(slots, t)
				}
			}
		}
	}
	var ws, ss, gs [][]float64
	for _, pr := range set.Pairs {
		w, s, ok := L.column(pr)
		if !ok {
			continue
		}
		ws, ss, gs = append(ws, w), append(ss, s), append(gs, pr.Gate)
	}
	L.grow = false // C is fixed from here on
	Nc := len(L.C)
	C := mat.NewDense(Nc, H, nil)
	for r, c := range L.C {
		if c != nil {
			C.SetRow(r, c)
		}
	}
	Pn := len(ws)
	rowW := make([]float64, Np) // prediction row (j, p, t) carries s_j·pool when active
	for j := 0; j < m1; j++ {
		for r := j * P * n; r < (j+1)*P*n; r++ {
			rowW[r] = set.Signs[j] * pool
		}
	}
	if Pn == 0 {
		return nil, nil
	}
	W := convex.NewPatternWeights(Np, rowW)
	S := convex.NewConeSigns(Nc)
	G := mat.NewDense(H, Pn, nil)
	for q := range ws {
		s := ss[q]
		if len(s) < Nc {
			s = append(s, make([]float64, Nc-len(s))...)
		}
		if err := W.AppendCol(ws[q]); err != nil {
			return nil, err
		}
		if err := S.AppendCol(s); err != nil {
			return nil, err
		}
		G.SetCol(q, gs[q])
	}
	cost := convex.Cost{Kind: convex.CostL2}
	if reg == ir.Group {
		cost = convex.Cost{Kind: convex.CostMaps}
		for j := 0; j < m1; j++ {
			T := mat.NewDense(h, H, nil)
			for i := 0; i < h; i++ {
				T.Set(i, j*h+i, 1)
			}
			cost.Maps = append(cost.Maps, T)
			cost.Weights = append(cost.Weights, 1)
		}
	}
	f := &convex.Family{
		Name: familyName(set.Signs), Layer: layer, H: H,
		A: A, Sample: sample, Weight: W, C: C, Sign: S,
		Signs: []float64{1, -1}, Cost: cost, Gates: G,
		Meta: map[string]any{
			"three": true, "signs": append([]float64(nil), set.Signs...), "m1": m1, "h": h,
			"positions": P, "pool_weight": pool, "configurations": set.Configurations, "tests": set.Tests,
		},
	}
	if allRows {
		signs := append([]float64(nil), set.Signs...)
		f.Meta[MetaColumn] = func(u []float64) ([]float64, []float64, bool) {
			pr, ok := pp.PairOf(signs, u)
			if !ok {
				return nil, nil, false
			}
			return L.column(pr)
		}
		f.Meta[MetaFull] = func(limit int) *pattern.Set { return fullPairs(pp, signs, limit) }
	}
	return f, nil
}

// Family.Meta keys of the adaptive mode's hooks (compiler/train): MetaColumn maps a
// gate to the family's columns (a certify.ColumnFunc), MetaFull returns every column's
// gate as a pattern.Set when the exact enumeration stays within limit (nil otherwise).
const (
	MetaColumn = "column"
	MetaFull   = "full"
)

// fullPairs enumerates every pair of the sign family signs (first layer exact, pairs
// exact, both within limit) and returns their gates as a pattern.Set (one entry per
// pair, keyed by the pair's slots and D2), or nil when that is too large.
func fullPairs(pp *pattern.PairProblem, signs []float64, limit int) *pattern.Set {
	first, err := pattern.Exact(stackedM(pp), limit)
	if err != nil {
		return nil
	}
	q := &pattern.PairProblem{Pos: pp.Pos, First: first, M1: pp.M1}
	set, err := q.Exact(signs, limit)
	if err != nil || len(set.Pairs) == 0 {
		return nil
	}
	n, _ := pp.Pos[0].Dims()
	keyLen := len(signs)*n*len(pp.Pos) + n
	_, h := pp.Pos[0].Dims()
	out := pattern.NewSet(keyLen, len(signs)*h)
	for _, pr := range set.Pairs {
		k := make([]float64, 0, keyLen)
		for _, D := range pr.Slots {
			k = append(k, D...)
		}
		out.Add(append(k, pr.D2...), pr.Gate)
	}
	out.Exhaustive = set.Exhaustive
	return out
}

// threeBranch is one recovered branch: m1 first-layer units (h entries each, the bias
// last when the first layer has one), their second-layer weights and the output weight.
type threeBranch struct {
	w1 [][]float64
	w2 []float64
	w3 float64
}

func recoverThree(in *Input, p *convex.Program, s *convex.Solution) (*network.Weights, error) {
	a := parseThree(in.Model)
	if len(s.Blocks) != len(p.Families) {
		return nil, fmt.Errorf("three-layer recovery: solution has %d families, program %d", len(s.Blocks), len(p.Families))
	}
	reg := in.Train.Regularizer
	m1 := a.first.Width
	maxR := 0.0
	for f, fam := range p.Families {
		for c := range fam.Signs {
			B := s.Blocks[f][c]
			r, _ := B.Dims()
			for q := 0; q < r; q++ {
				maxR = math.Max(maxR, convex.BlockCost(fam.Cost, B.RawRowView(q)))
			}
		}
	}
	h := 0
	var brs []threeBranch
	for f, fam := range p.Families {
		signs, _ := fam.Meta["signs"].([]float64)
		h, _ = fam.Meta["h"].(int)
		if len(signs) != m1 || h*m1 != fam.H {
			return nil, fmt.Errorf("three-layer recovery: family %s does not have %d units", fam.Name, m1)
		}
		for c, sigma := range fam.Signs {
			B := s.Blocks[f][c]
			r, _ := B.Dims()
			for q := 0; q < r; q++ {
				x := B.RawRowView(q)
				R := convex.BlockCost(fam.Cost, x)
				if R == 0 || R <= ZeroBlockTol*maxR {
					continue
				}
				brs = append(brs, balancedBranch(x, signs, sigma, h, reg))
			}
		}
	}
	if h == 0 && len(p.Families) > 0 {
		h, _ = p.Families[0].Meta["h"].(int)
	}
	K := len(brs)
	if a.first.Branches > 0 {
		if K > a.first.Branches {
			var dl diag.List
			dl.Errorf(CodeWidth, a.first.Range, fmt.Sprintf("The convex optimum uses %d branches, and the reformulation is exact only when the network has at least that many; write `branches=auto` or `branches=%d` (or more).", K, K),
				"the optimal network needs %d branches, more than branches=%d", K, a.first.Branches)
			return nil, dl
		}
	}
	for K == 0 || a.first.Branches > 0 && K < a.first.Branches { // zero branches: cost 0
		w1 := make([][]float64, m1)
		for j := range w1 {
			w1[j] = make([]float64, h)
		}
		brs = append(brs, threeBranch{w1: w1, w2: make([]float64, m1)})
		K++
	}
	w := network.New(in.Model, p.Beta, p.Loss)
	w.Regularizer = reg
	w.Layers[a.first.Index].Branches, w.Layers[a.second.Index].Branches = K, K
	hw := h // weights per unit without the bias
	if a.first.Bias {
		hw--
	}
	var W1, b1 []float64
	W2 := make([]float64, K*K*m1)
	W3 := make([]float64, K)
	for k, br := range brs {
		for j := 0; j < m1; j++ {
			W1 = append(W1, br.w1[j][:hw]...)
			if a.first.Bias {
				b1 = append(b1, br.w1[j][hw])
			}
			W2[k*K*m1+k*m1+j] = br.w2[j]
		}
		W3[k] = br.w3
	}
	shape := []int{K * m1, hw}
	if a.cnn {
		C := sampleShape(in.Model)[0]
		shape = append([]int{K * m1, C}, a.first.Kernel...)
	}
	fi, si, oi := a.first.Index, a.second.Index, a.out.Index
	w.Set(fmt.Sprintf("L%d.weight", fi), shape, W1, "")
	if a.first.Bias {
		w.Set(fmt.Sprintf("L%d.bias", fi), []int{K * m1}, b1, "")
	}
	w.Set(fmt.Sprintf("L%d.weight", si), []int{K, K * m1}, W2, "")
	w.Set(fmt.Sprintf("L%d.weight", oi), []int{1, K}, W3, "")
	if a.out.Bias {
		w.Set(fmt.Sprintf("L%d.bias", oi), []int{1}, []float64{s.Bias}, network.PenaltyNone)
	}
	if err := w.Finalize(); err != nil {
		return nil, fmt.Errorf("three-layer recovery: %v", err)
	}
	return w, nil
}

// balancedBranch maps a block q (slots of h entries) with copy sign sigma to the
// balanced branch of the file doc.
func balancedBranch(q, signs []float64, sigma float64, h int, reg string) threeBranch {
	m1 := len(signs)
	br := threeBranch{w1: make([][]float64, m1), w2: make([]float64, m1)}
	norms := make([]float64, m1)
	S, Q := 0.0, 0.0
	for j := 0; j < m1; j++ {
		norms[j] = norm(q[j*h : (j+1)*h])
		S += norms[j]
		Q += norms[j] * norms[j]
	}
	Q = math.Sqrt(Q)
	for j := 0; j < m1; j++ {
		br.w1[j] = make([]float64, h)
		if norms[j] == 0 {
			continue
		}
		sc := 1 / norms[j]
		if reg == ir.Group {
			sc *= math.Sqrt(norms[j] / S)
			br.w2[j] = signs[j] * math.Sqrt(norms[j])
		} else {
			br.w2[j] = signs[j] * norms[j] / math.Sqrt(Q)
		}
		for i := 0; i < h; i++ {
			br.w1[j][i] = q[j*h+i] * sc
		}
	}
	if reg == ir.Group {
		br.w3 = sigma * math.Sqrt(S)
	} else {
		br.w3 = sigma * math.Sqrt(Q)
	}
	return br
}
