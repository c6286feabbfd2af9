package network

import (
	"fmt"
	"math"
)

// Parallel branches and the network-level regularisers of three-layer networks
// (docs/math/08-circular3.md, docs/math/09-three-layer.md).
//
// A layer with Branches = K (weights.json "branches") is K parallel copies of itself;
// its output (Out features, or Out channels) is branch-major, branch k owning the
// k-th contiguous K-th. A run is a sequence of branched layers with only relu, gated,
// pools or flatten between them (they act per channel or feature). The first layer of a run reads the shared input, so its
// weight is an ordinary dense tensor (a conv's filters, a linear layer's rows); every
// later layer of the run is a linear layer whose branch k reads only branch k's
// features: its dense PyTorch weight [K·N, K·N′] is block-diagonal, and compile
// refuses any nonzero entry outside the blocks. So the network is a plain
// torch.nn.Sequential (Linear / Conv, ReLU, Linear with zeros off the blocks, …).
//
// Regularizer (Weights.Regularizer), for the three-layer parallel network
//
//	input · A (branched linear, conv or circconv, m1 units per branch) · [relu] ·
//	[avgpool global] · B (branched linear, one unit per branch, no bias) · relu ·
//	output linear 1,
//
// f(x) = Σ_k w3_k·(Σ_j B_kj·(A_kj x)₊)₊ (A_kj x is unit j of branch k: a neuron
// x·w1_kj + b_kj, or a circular filter's d outputs, in which case B_kj has d entries):
//
//	path:  R(θ) = Σ_k |w3_k|·sqrt(Σ_j ‖A_kj‖²·‖B_kj‖²)   (the ℓ2 path norm, (P))
//	group: R(θ) = Σ_k |w3_k|·Σ_j ‖A_kj‖·‖B_kj‖            (group ℓ1, (F))
//
// with ‖A_kj‖² including unit kj's bias, and the objective adds β·R(θ) (not β/2) to
// the loss; the output bias is not penalised. For a circular unit every input–output
// path of the filter carries one filter weight, so the ℓ2 path norm of the branch is
// |w3|·‖a‖·‖b‖ — the same as (F) when m1 = 1 — and §8's normalisation (‖a‖ ≤ 1, weight
// decay (β/2)(‖b‖² + w3²) on the last two layers) is its balanced form.

// branchRun is one run of branched parameter layers.
type branchRun struct {
	K     int
	steps []*step
}

// branchTracker follows the runs while compile walks the layers.
type branchTracker struct {
	cur  *branchRun
	runs []branchRun
}

// param registers the parameter layer st (layer l): it starts or continues a run when
// l is branched and ends the current run otherwise. A continuing layer must be a
// linear layer whose weight is block-diagonal over the K branches.
func (bt *branchTracker) param(p *plan, st *step, l *Layer, where string) error {
	if l.Branches == 0 {
		bt.end()
		return nil
	}
	K := l.Branches
	if K < 1 {
		return fmt.Errorf("%s: branches=%d is not resolved (want the number of branches K ≥ 1)", where, K)
	}
	if st.out.C%K != 0 {
		return fmt.Errorf("%s: %d outputs do not split into %d branches", where, st.out.C, K)
	}
	if bt.cur == nil {
		bt.cur = &branchRun{K: K}
		bt.cur.steps = append(bt.cur.steps, st)
		return nil
	}
	if bt.cur.K != K {
		return fmt.Errorf("%s: branches=%d, but the branched layers it continues have %d", where, K, bt.cur.K)
	}
	if st.kind != stepLinear {
		return fmt.Errorf("%s: only linear layers can continue parallel branches (a branched conv or circconv must read the shared input)", where)
	}
	in, out := st.in.size(), st.out.C
	if in%K != 0 {
		return fmt.Errorf("%s: %d inputs do not split into %d branches", where, in, K)
	}
	bi, bo := in/K, out/K
	for o := 0; o < out; o++ {
		row := st.w[o*in : (o+1)*in]
		k := o / bo
		for c, v := range row {
			if v != 0 && c/bi != k {
				return fmt.Errorf("%s: L%d.weight[%d, %d] = %v connects branch %d to branch %d's input; a layer that continues parallel branches is block-diagonal (zero outside its %d×%d blocks)", where, st.layer, o, c, v, k, c/bi, bo, bi)
			}
		}
	}
	bt.cur.steps = append(bt.cur.steps, st)
	return nil
}

// keep is called for relu, gated, pools and flatten: they keep the current run.
func (bt *branchTracker) keep(int) {}

// end closes the current run.
func (bt *branchTracker) end() {
	if bt.cur != nil {
		bt.runs = append(bt.runs, *bt.cur)
		bt.cur = nil
	}
}

// regPlan is a validated network-level regulariser (see the file comment).
type regPlan struct {
	kind      string
	K, m1     int
	a, b, out *step
	aPer      int // numbers of one unit of A (without its bias)
	bCols     int // columns of B that read one unit of A (1, or a circular filter's outputs)
	covers    map[string]bool
}

// planRegularizer validates w.Regularizer against the network's structure.
func (p *plan) planRegularizer(w *Weights, tensors map[string]*Tensor, lastParam int) error {
	switch w.Regularizer {
	case "":
		return nil
	case PenaltyPath, PenaltyGroup:
	default:
		return fmt.Errorf("unknown regularizer %q (want %q or %q)", w.Regularizer, PenaltyPath, PenaltyGroup)
	}
	bad := func(why string) error {
		return fmt.Errorf("regularizer %q needs a parallel three-layer network (input · branched linear or circconv · [relu] · branched linear with one unit per branch · relu · linear 1): %s", w.Regularizer, why)
	}
	if len(p.runs) != 1 || len(p.runs[0].steps) != 2 {
		return bad(fmt.Sprintf("found %d runs of branched layers", len(p.runs)))
	}
	run := p.runs[0]
	a, b := run.steps[0], run.steps[1]
	if p.steps[0] != a {
		return bad("the first branched layer must be the network's first layer")
	}
	var out *step
	for i, st := range p.steps {
		if st != b {
			continue
		}
		if i+2 >= len(p.steps) || p.steps[i+1].kind != stepReLU || p.steps[i+2].kind != stepLinear {
			return bad("the second branched layer must be followed by relu and the output layer")
		}
		out = p.steps[i+2]
		if i+3 != len(p.steps) {
			return bad("the output layer must be the last layer")
		}
	}
	if out == nil || out.layer != lastParam {
		return bad("no output layer after the branches")
	}
	if b.out.C != run.K {
		return bad(fmt.Sprintf("the second branched layer has %d units per branch, want 1", b.out.C/run.K))
	}
	if b.b != nil {
		return bad("the second branched layer has a bias, which the regulariser does not cover")
	}
	if out.out.C != 1 {
		return bad(fmt.Sprintf("the output layer has %d outputs, want 1", out.out.C))
	}
	r := &regPlan{kind: w.Regularizer, K: run.K, m1: a.out.C / run.K, a: a, b: b, out: out, covers: map[string]bool{}}
	if a.kind == stepConv {
		r.aPer = a.in.C * a.kh * a.kw
	} else {
		r.aPer = a.in.size()
	}
	// B reads each unit of A through the same number of inputs: a neuron's 1, a
	// filter's output positions (or 1 after global pooling)
	if b.in.size()%(r.K*r.m1) != 0 {
		return bad(fmt.Sprintf("the second branched layer reads %d inputs, not a multiple of the %d first-layer units", b.in.size(), r.K*r.m1))
	}
	r.bCols = b.in.size() / (r.K * r.m1)
	for _, name := range []string{fmt.Sprintf("L%d.weight", a.layer), fmt.Sprintf("L%d.weight", b.layer), fmt.Sprintf("L%d.weight", out.layer)} {
		r.covers[name] = true
	}
	if a.b != nil {
		r.covers[fmt.Sprintf("L%d.bias", a.layer)] = true
	}
	p.reg = r
	return nil
}

// value is R(θ) (without β).
func (r *regPlan) value() float64 {
	inB := r.b.in.size()
	R := 0.0
	for k := 0; k < r.K; k++ {
		w3 := math.Abs(r.out.w[k])
		s := 0.0
		for j := 0; j < r.m1; j++ {
			u := k*r.m1 + j
			a2 := sumSq(r.a.w[u*r.aPer : (u+1)*r.aPer])
			if r.a.b != nil {
				a2 += r.a.b[u] * r.a.b[u]
			}
			b2 := sumSq(r.b.w[k*inB+u*r.bCols : k*inB+(u+1)*r.bCols])
			if r.kind == PenaltyPath {
				s += a2 * b2
			} else {
				s += math.Sqrt(a2) * math.Sqrt(b2)
			}
		}
		if r.kind == PenaltyPath {
			s = math.Sqrt(s)
		}
		R += w3 * s
	}
	return R
}

func sumSq(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return s
}

// RegularizerValue is R(θ) of w's network-level regulariser (0 when it has none).
func (w *Weights) RegularizerValue() (float64, error) {
	p, err := w.compile()
	if err != nil {
		return 0, err
	}
	if p.reg == nil {
		return 0, nil
	}
	return p.reg.value(), nil
}
