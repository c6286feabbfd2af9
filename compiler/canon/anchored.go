package canon

// ANCHORED (§11, docs/math/11-fixed-output.md: the anchored relaxation of a
// fixed-output-weight CNN, convex.Anchored)
//
//	Source:  minimize −aᵀw  s.t.  t_ik ≥ 0,  t_ik ≥ x_ikᵀw,  Σ_k c_k t_ik ≤ y_i + s_i,  ‖s‖₂ ≤ ε
//	Target:  columns [w (H) | t (N·K, position-major: k·N + i) | s (N, only when ε > 0)];
//	         cost −a on w;
//	         N·K NN rows t_r ≥ 0:                A = −e_t,            b = 0
//	         N·K NN rows t_r − x_rᵀw ≥ 0:        A = [x_rᵀ, −e_t],    b = 0
//	         N   NN rows y_i + s_i − Σ c_k t_ik: A = [c_k on t_ik, −e_s], b = y_i
//	         one SOC(N+1) when ε > 0, s = (ε, s): A = [0; −I on s],   b = (ε; 0)
//	         (ε = 0: no s columns, no SOC: an LP with 2NK + N rows)
//	Dual:    the multipliers of the third rows are the dual weights of the samples; a
//	         sample whose constraint is slack at the optimum has multiplier 0.
//
// The rows come in the order above, which is also the order of the structured
// solver (backend/native/anchored), so both solve the same data.

import (
	"fmt"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/convex"
)

// anchoredNNZ is the exact number of nonzeros of A for an anchored program.
func anchoredNNZ(p *convex.Program) int {
	a := p.Anchored
	nK := p.N * a.K
	nnz := nK + nK*(a.H+1) + p.N*(a.K+1)
	if a.Eps > 0 {
		nnz += p.N
	}
	return nnz
}

func validateAnchored(p *convex.Program) error {
	a := p.Anchored
	if len(p.Families) > 0 || len(p.Vars) > 0 || len(p.Terms) > 0 || len(p.Penalties) > 0 || len(p.Constraints) > 0 || p.OutputBias {
		return fmt.Errorf("canon: an anchored program has no families, generic parts or output bias")
	}
	if a.X == nil || a.K <= 0 || a.H <= 0 || len(a.C) != a.K || len(a.Anchor) != a.H {
		return fmt.Errorf("canon: anchored program: K=%d, H=%d, %d output weights, anchor of %d", a.K, a.H, len(a.C), len(a.Anchor))
	}
	if r, c := a.X.Dims(); r != p.N*a.K || c != a.H {
		return fmt.Errorf("canon: anchored program: patches are %d×%d, want %d×%d", r, c, p.N*a.K, a.H)
	}
	if !(a.Eps >= 0) {
		return fmt.Errorf("canon: anchored program: noise budget ε = %g", a.Eps)
	}
	return nil
}

// canonicalizeAnchored emits the ANCHORED rewrite (see the top of this file).
func canonicalizeAnchored(p *convex.Program) (*conic.Problem, *Map, error) {
	a := p.Anchored
	n, K, H := p.N, a.K, a.H
	nK := n * K
	b := &builder{}
	m := &Map{prog: p, vars: map[string]int{}, bias: -1}
	w := b.col(convex.AnchoredW, H, a.Layer, []int{H})
	for j := 0; j < H; j++ {
		b.c[w+j] = -a.Anchor[j]
	}
	t := b.col(convex.AnchoredT, nK, -1, []int{nK})
	s := -1
	if a.Eps > 0 {
		s = b.col(convex.AnchoredS, n, -1, []int{n})
	}
	m.vars[convex.AnchoredW], m.vars[convex.AnchoredT] = w, t
	if s >= 0 {
		m.vars[convex.AnchoredS] = s
	}
	for r := 0; r < nK; r++ {
		row := b.l.row(0)
		b.l.add(row, t+r, -1)
	}
	for r := 0; r < nK; r++ {
		row := b.l.row(0)
		x := a.X.RawRowView(r)
		for j, v := range x {
			b.l.add(row, w+j, v)
		}
		b.l.add(row, t+r, -1)
	}
	for i := 0; i < n; i++ {
		row := b.l.row(p.Y[i])
		for k := 0; k < K; k++ {
			b.l.add(row, t+k*n+i, a.C[k])
		}
		if s >= 0 {
			b.l.add(row, s+i, -1)
		}
	}
	if s >= 0 {
		b.q.row(a.Eps)
		for i := 0; i < n; i++ {
			row := b.q.row(0)
			b.q.add(row, s+i, -1)
		}
		b.qs = append(b.qs, n+1)
	}
	prob, err := b.assemble()
	if err != nil {
		return nil, nil, err
	}
	m.n = b.n
	return prob, m, nil
}
