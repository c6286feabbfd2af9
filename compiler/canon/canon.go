// Package canon owns canonicalisation: it rewrites a convex.Program into the conic form
// of docs/exports.md (backend/conic.Problem: minimise cᵀx s.t. Ax + s = b, s ∈ K) and
// keeps the inverse map from a conic solution x back to the program's variables.
//
// Pipeline position: compiler/derive ──convex.Program──▶ Canonicalize ──conic.Problem──▶
// backend/native/cone, backend/scs, backend/cbf; and back: x ──Map.Solution──▶
// convex.Solution ──derive.Rule.Recover──▶ network weights.
//
// Each rewrite below is documented in the style of MathOptInterface bridges
// (Reformulation / Source / Target / Dual map), using the building blocks of
// §1.5 (docs/math/01-machinery.md). The slack is s = b − Ax; rows are emitted in SCS cone order
// (zero, nonnegative, second-order, PSD, exponential).
//
// Objective scale. Every rewrite keeps the objective exact: cᵀx equals the
// docs/language.md objective ℓ(ŷ, y) + β Σ R at any feasible point whose epigraph variables
// are tight, so ObjScale = 1 and ObjOffset = 0.
//
// Column layout of x (Map records it; Problem.Vars names every range):
//
//	[ x_{f,s,p} for every family f, copy s, pattern p (pattern-major, H each; named v_p,
//	  w_p per copy) | t_{f,s,p,j} norm epigraphs | generic Vars | output bias b |
//	  loss epigraphs (τ; or e_i; or t_i, a_i, a'_i) | penalty epigraphs | nuclear W₁, W₂ ]
//
// Rewrites:
//
//	CONE (family constraint)
//	  Source:  (𝒞_{f,p} x_{f,s,p})_r = Sign[r,p]·C_r x ≥ 0, rows with Sign ≠ 0
//	  Target:  NN rows in R₊: A = −Sign[r,p]·C_r, b = 0
//	  Dual:    the row's multiplier γ_r ≥ 0 of the conic dual is the multiplier of the
//	           cone constraint (the certificate's λ).
//	  With Options.Irredundant (the exports' default) only the rows of R_p ⊆ rows(p)
//	  are emitted, every other row certified a nonnegative combination of them
//	  (IRRED, irredundant.go).
//	LSQ (squared loss, §1.5 (docs/math/01-machinery.md) LSQ; the default, so that the
//	  problem has no P and every SOC solver reads it; the CBF export uses it, the SCS and
//	  JSON exports use LSQ')
//	  Source:  ½‖ŷ − y‖², ŷ = Ĝx (families, terms, bias)
//	  Target:  epigraph τ with cost 1 and one SOC(N+2): s = (1 + 2τ, 2(Ĝx − y), 2τ − 1),
//	           i.e. A = [−2e_τᵀ; −2Ĝ; −2e_τᵀ], b = (1; −2y; −1); ‖r‖² ≤ 2τ ⇔
//	           ‖(2r, 2τ−1)‖ ≤ 2τ+1.
//	  Dual:    the SOC multiplier (μ₀, μ, μ_{N+1}) gives the residual dual v = 2μ
//	           (at the optimum v = y − ŷ).
//	LSQ' (squared loss with Options.QuadraticLoss, §1.5 (docs/math/01-machinery.md) LSQ')
//	  Source:  ½‖ŷ − y‖², ŷ = Ĝx
//	  Target:  free columns r (named r_loss) with P = I on them and c = 0, and N
//	           zero-cone rows r − Ĝx = −y (A = [I, −Ĝ], b = −y); ½rᵀr = ½‖Ĝx − y‖².
//	  Dual:    the zero-row multiplier μ is the residual dual: stationarity in r,
//	           Pr + (Aᵀμ)_r = r + μ = 0, gives μ = −r = y − ŷ (as LSQ's v).
//	HINGE
//	  Source:  Σᵢ max(0, 1 − yᵢŷᵢ)
//	  Target:  eᵢ with cost 1, NN rows eᵢ ≥ 0 (A = −e_i, b = 0) and
//	           eᵢ + yᵢŷᵢ − 1 ≥ 0 (A = −(e_i + yᵢĜᵢ), b = −1)
//	  Dual:    multipliers in [0, 1] of the second rows are the SVM dual variables.
//	LOGISTIC (§1.5 LOGISTIC)
//	  Source:  Σᵢ log(1 + exp(zᵢ)), zᵢ = −yᵢŷᵢ
//	  Target:  tᵢ with cost 1; aᵢ ≥ exp(−tᵢ), a'ᵢ ≥ exp(zᵢ − tᵢ), aᵢ + a'ᵢ ≤ 1:
//	           one NN row (s = 1 − aᵢ − a'ᵢ) and two primal exponential triples
//	           (x, y, z) = (−tᵢ, 1, aᵢ) and (zᵢ − tᵢ, 1, a'ᵢ), y·exp(x/y) ≤ z.
//	  Dual:    the NN multiplier equals the logistic derivative σ(zᵢ) at the optimum.
//	CROSS-ENTROPY (vectorised vector outputs, Program.Outputs = C > 1, one-hot rows)
//	  Source:  Σᵢ (log Σₖ exp zᵢₖ − Σₖ yᵢₖ zᵢₖ), zᵢₖ = ŷ[k·n + i]
//	  Target:  tᵢ with cost 1; aᵢₖ ≥ exp(zᵢₖ − yᵢ·zᵢ − tᵢ): primal exponential triples
//	           (zᵢₖ − yᵢ·zᵢ − tᵢ, 1, aᵢₖ) and one NN row 1 − Σₖ aᵢₖ ≥ 0 per sample
//	           (Σₖ exp(zᵢₖ − yᵢ·zᵢ − tᵢ) ≤ 1 ⇔ tᵢ ≥ logΣₖ exp zᵢₖ − yᵢ·zᵢ when Σₖ yᵢₖ = 1).
//	  Dual:    the NN multiplier of sample i is 1 at the optimum; the exponential
//	           multipliers are its softmax probabilities.
//	NORM (family cost ‖x‖₂, CostMaps Σⱼ wⱼ‖Tⱼx‖₂, generic Norms penalty)
//	  Source:  β·w·‖T x‖₂ (T = I for ‖x‖₂)
//	  Target:  epigraph t with cost β·w and SOC(1 + rows T): s = (t, T x):
//	           A = [−e_tᵀ; −T], b = 0
//	  Dual:    the SOC multiplier (β w, z) with ‖z‖ ≤ β w gives the subgradient Tᵀz.
//	NUC (generic Nuclear penalty, §1.5 NUC)
//	  Source:  β‖Z‖_*, Z ∈ R^{p×q}
//	  Target:  symmetric W₁ (p×p), W₂ (q×q) (lower triangles as variables), cost β/2 on
//	           their diagonals, PSD(p+q) block s = svec([[W₁, Z],[Zᵀ, W₂]]) (lower
//	           triangle by columns, off-diagonal ×√2): min ½(tr W₁ + tr W₂) = ‖Z‖_*.
//	  Dual:    the PSD multiplier's off-diagonal block is the nuclear-norm subgradient.
//	COP (generic CopositiveNuclear penalty: vector outputs, relaxation (b))
//	  Source:  β·min ½(tr W₁ + tr W₂) s.t. [[W₁, Z],[Zᵀ, W₂]] ⪰ 0, K W₁ Kᵀ ≥ 0 entrywise
//	  Target:  NUC as above, plus one NN row per pair a ≥ b of nonzero rows of K:
//	           (K W₁ Kᵀ)_{ab} = Σ_{i≥j} c_{ij} W₁(i,j) ≥ 0 with c_{ii} = K[a,i]K[b,i] and
//	           c_{ij} = K[a,i]K[b,j] + K[a,j]K[b,i] (i > j) on W₁'s lower-triangle columns.
//	  Dual:    the NN multipliers form the nonnegative matrix of the DNN relaxation.
//	EQ / NN (generic constraints)
//	  Source:  Op x + Const = 0 (Zero), Op x + Const ≥ 0 (NonNeg)
//	  Target:  zero rows A = Op, b = −Const; nonnegative rows A = −Op, b = Const.
//	  Dual:    the rows' multipliers.
//	BIAS: the output bias is a free column (no row, cost 0) with coefficient 1 in Ĝ.
//	ANCHORED (§11, convex.Anchored): a program of its own — columns [w | t | s], cost
//	  −a on w, NN rows t ≥ 0, t − Xw ≥ 0, y + s − Σ_k c_k t ≥ 0 and the SOC (ε, s);
//	  see anchored.go.
package canon

import (
	"fmt"
	"math"
	"sort"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/progress"

	"gonum.org/v1/gonum/mat"
)

// Map is the inverse of Canonicalize: it knows where each program variable lives in x.
type Map struct {
	// Reduced counts the cone rows IRRED left out (zero without Options.Irredundant).
	Reduced ReduceStats

	prog   *convex.Program
	blocks [][]int // blocks[f][s]: first column of x_{f,s,1}
	vars   map[string]int
	bias   int // −1 if none
	n      int
	// lossRows[i] is the row of A whose dual multiplier carries sample i's dual
	// variable (LossDual), lossScale its factor: λᵢ = lossScale[i]·y[lossRows[i]].
	lossRows  []int
	lossScale []float64
}

// LossDual maps a conic dual y (SCS conventions: Px + Aᵀy + c = 0, y ∈ K*) to the dual
// point λ of the prediction equation ŷ = Ĝx that the certificate uses (λ = −∇ℓ(ŷ) at
// the optimum; the Dual lines of the package doc):
//
//	LSQ   λ = 2μ (μ the middle part of the loss SOC's multiplier)
//	LSQ′  λ = μ  (the zero rows' multipliers)
//	HINGE λᵢ = yᵢγᵢ (γᵢ the multiplier of eᵢ + yᵢŷᵢ − 1 ≥ 0)
//	LOGISTIC λᵢ = yᵢγᵢ (γᵢ the multiplier of 1 − aᵢ − a′ᵢ ≥ 0)
//
// It returns nil when y has the wrong length.
func (m *Map) LossDual(y []float64) []float64 {
	if len(m.lossRows) == 0 || len(y) == 0 {
		return nil
	}
	lam := make([]float64, len(m.lossRows))
	for i, r := range m.lossRows {
		if r < 0 || r >= len(y) {
			return nil
		}
		lam[i] = m.lossScale[i] * y[r]
	}
	return lam
}

// Columns is the number of columns of x.
func (m *Map) Columns() int { return m.n }

// Solution maps a conic solution x (length Columns) back to the program's variables.
func (m *Map) Solution(x []float64) *convex.Solution {
	s := &convex.Solution{Vars: map[string][]float64{}}
	for f, fam := range m.prog.Families {
		P := fam.Patterns()
		s.Blocks = append(s.Blocks, nil)
		for c := range fam.Signs {
			start := m.blocks[f][c]
			if P == 0 {
				s.Blocks[f] = append(s.Blocks[f], nil)
				continue
			}
			data := append([]float64(nil), x[start:start+P*fam.H]...)
			s.Blocks[f] = append(s.Blocks[f], mat.NewDense(P, fam.H, data))
		}
	}
	for _, v := range m.prog.Vars {
		st := m.vars[v.Name]
		s.Vars[v.Name] = append([]float64(nil), x[st:st+v.Size()]...)
	}
	if m.bias >= 0 {
		s.Bias = x[m.bias]
	}
	if a := m.prog.Anchored; a != nil {
		sizes := map[string]int{convex.AnchoredW: a.H, convex.AnchoredT: m.prog.N * a.K, convex.AnchoredS: m.prog.N}
		for name, st := range m.vars {
			s.Vars[name] = append([]float64(nil), x[st:st+sizes[name]]...)
		}
	}
	return s
}

// Vector is the forward map of the program's variables into x (epigraph variables
// left 0); useful to warm-start conic solvers.
func (m *Map) Vector(s *convex.Solution) []float64 {
	x := make([]float64, m.n)
	for f, fam := range m.prog.Families {
		for c := range fam.Signs {
			B := s.Blocks[f][c]
			P, H := B.Dims()
			st := m.blocks[f][c]
			for q := 0; q < P; q++ {
				copy(x[st+q*H:st+(q+1)*H], B.RawRowView(q))
			}
		}
	}
	for _, v := range m.prog.Vars {
		copy(x[m.vars[v.Name]:], s.Vars[v.Name])
	}
	if m.bias >= 0 {
		x[m.bias] = s.Bias
	}
	if m.prog.Anchored != nil {
		for name, st := range m.vars {
			copy(x[st:], s.Vars[name])
		}
	}
	return x
}

// section accumulates the rows of one cone type as triplets.
type section struct {
	rows int
	r, c []int
	v    []float64
	b    []float64
}

func (s *section) row(b float64) int {
	s.b = append(s.b, b)
	s.rows++
	return s.rows - 1
}

func (s *section) add(r, c int, v float64) {
	if v != 0 {
		s.r = append(s.r, r)
		s.c = append(s.c, c)
		s.v = append(s.v, v)
	}
}

type builder struct {
	n    int
	c    []float64
	vars []conic.VarRange
	z, l section
	q    section
	qs   []int
	s    section
	ss   []int
	ep   section
	nexp int
	quad [2]int // LSQ': first column and length of the r block with P = I (length 0: no P)
}

func (b *builder) col(name string, size, layer int, shape []int) int {
	st := b.n
	b.n += size
	b.c = append(b.c, make([]float64, size)...)
	b.vars = append(b.vars, conic.VarRange{Name: name, Start: st, Len: size, Shape: shape, Layer: layer})
	return st
}

// copyName is the name stem of copy c of family f: v/w for the ReLU pair, else the
// family name with a suffix for negative copies.
func copyName(f *convex.Family, c int) string {
	if f.Signs[c] > 0 {
		return f.Name
	}
	if f.Name == "v" {
		return "w"
	}
	return f.Name + "_neg"
}

// Options select between equivalent rewrites. The zero value is what Canonicalize
// does (and what the exports use).
type Options struct {
	// QuadraticLoss canonicalises the squared loss as LSQ' (a quadratic objective
	// ½‖r‖² with zero-cone rows r − Ĝx = −y; see the package doc) instead of the LSQ
	// second-order cone. The problem then has a P, which every native consumer and
	// SCS handle; the SCS and JSON exports use it, the CBF export (no quadratic
	// objective in CBF) keeps LSQ.
	QuadraticLoss bool
	// Irredundant leaves out the cone rows that the other rows of the same pattern
	// imply (IRRED, irredundant.go): the same program with far fewer rows. The
	// exports use it; the count is in Map.Reduced.
	Irredundant bool
	// Progress, when not nil, receives the progress of the IRRED pass (one step per
	// pattern).
	Progress progress.Reporter
	// MaxMemory is the memory budget in bytes (package budget: 0 the default, < 0
	// none): NNZBytes(EstimateNNZ(p)) is checked against it before anything is
	// built, and a *budget.TooLarge error returned above it.
	MaxMemory int64
}

// NNZBytes is the memory of building a conic A with nnz nonzeros: the triplets
// being assembled (value, row, column) and the compressed matrix (value, index).
func NNZBytes(nnz int) int64 { return budget.Mul(int64(nnz), 40) }

// Canonicalize rewrites p into conic form (see the package doc for every rewrite);
// it is CanonicalizeWith(p, Options{}).
func Canonicalize(p *convex.Program) (*conic.Problem, *Map, error) {
	return CanonicalizeWith(p, Options{})
}

// CanonicalizeWith is Canonicalize with a choice of rewrites.
func CanonicalizeWith(p *convex.Program, opts Options) (*conic.Problem, *Map, error) {
	if err := validate(p); err != nil {
		return nil, nil, err
	}
	if p.Anchored != nil {
		nnz := anchoredNNZ(p)
		if nnz > MaxNNZ {
			return nil, nil, fmt.Errorf("the conic form would hold %d nonzeros (the limit is %d, about %d GB): "+
				"use fewer samples, or the structured native solver (solver native), which never builds it", nnz, MaxNNZ, MaxNNZ*16>>30)
		}
		if err := budget.Check(opts.MaxMemory, NNZBytes(nnz), fmt.Sprintf("the conic form (about %d nonzeros)", nnz),
			"Use fewer samples, or the structured native solver (solver native), which never builds it."); err != nil {
			return nil, nil, err
		}
		return canonicalizeAnchored(p)
	}
	m := &Map{prog: p, vars: map[string]int{}, bias: -1}
	signs := make([]*convex.ConeSigns, len(p.Families))
	for f, fam := range p.Families {
		signs[f] = fam.Sign
	}
	if opts.Irredundant {
		total := 0
		for _, fam := range p.Families {
			if fam.C != nil {
				total += fam.Patterns()
			}
		}
		task := progress.Start(opts.Progress, "leaving out implied cone rows", int64(total), "patterns")
		for f, fam := range p.Families {
			signs[f] = irredundantSigns(fam, &m.Reduced, func() { task.Add(1) })
		}
		task.End()
	}
	if nnz := estimateNNZ(p, signs); nnz <= MaxNNZ {
		if err := budget.Check(opts.MaxMemory, NNZBytes(nnz), fmt.Sprintf("the conic form (about %d nonzeros)", nnz),
			"Use fewer samples or patterns, or the structured native solver (solver native), which never builds it."); err != nil {
			return nil, nil, err
		}
	}
	if nnz := estimateNNZ(p, signs); nnz > MaxNNZ {
		return nil, nil, fmt.Errorf("the conic form would hold about %.3g nonzeros (the limit is %.3g, about %d GB): "+
			"use fewer samples or patterns, or the structured native solver (solver native), which never builds it", float64(nnz), float64(MaxNNZ), MaxNNZ*16>>30)
	}
	b := &builder{}
	// family blocks
	for _, fam := range p.Families {
		P := fam.Patterns()
		starts := make([]int, len(fam.Signs))
		for c := range fam.Signs {
			nm := copyName(fam, c)
			starts[c] = b.n
			for q := 0; q < P; q++ {
				b.col(fmt.Sprintf("%s_%d", nm, q+1), fam.H, fam.Layer, nil)
			}
		}
		m.blocks = append(m.blocks, starts)
	}
	// family norm epigraphs: one SOC per block and map (emitted after the loss SOC)
	var pending []normBlock
	for f, fam := range p.Families {
		P := fam.Patterns()
		for c := range fam.Signs {
			nm := copyName(fam, c)
			for q := 0; q < P; q++ {
				x0 := m.blocks[f][c] + q*fam.H
				if fam.Cost.Kind == convex.CostMaps {
					for j, T := range fam.Cost.Maps {
						t := b.col(fmt.Sprintf("t_%s_%d_%d", nm, q+1, j+1), 1, -1, nil)
						b.c[t] = p.Beta * fam.Cost.Weights[j]
						r, cc := T.Dims()
						pending = append(pending, normBlock{t, x0, r, cc, T.At})
					}
				} else {
					t := b.col(fmt.Sprintf("t_%s_%d", nm, q+1), 1, -1, nil)
					b.c[t] = p.Beta
					pending = append(pending, normBlock{t, x0, fam.H, fam.H, identity})
				}
			}
		}
	}
	for _, v := range p.Vars {
		m.vars[v.Name] = b.col(v.Name, v.Size(), v.Layer, append([]int(nil), v.Shape...))
	}
	if p.OutputBias {
		m.bias = b.col("b", 1, -1, nil)
	}
	// cone constraints
	for f, fam := range p.Families {
		if fam.C == nil {
			continue
		}
		_, H := fam.C.Dims()
		P := fam.Patterns()
		sign := signs[f]
		for c := range fam.Signs {
			for q := 0; q < P; q++ {
				x0 := m.blocks[f][c] + q*H
				sign.On.Each(q, func(r int) {
					sg := sign.At(r, q)
					row := b.l.row(0)
					cr := fam.C.RawRowView(r)
					for j := 0; j < H; j++ {
						b.l.add(row, x0+j, -sg*cr[j])
					}
				})
			}
		}
	}
	// generic constraints
	for _, con := range p.Constraints {
		rows, cols := con.Op.Dims()
		x0 := m.vars[con.Var.Name]
		for i := 0; i < rows; i++ {
			k := 0.0
			if con.Const != nil {
				k = con.Const[i]
			}
			sec, sign := &b.z, 1.0
			bi := -k
			if con.Kind == convex.NonNeg {
				sec, sign, bi = &b.l, -1, k
			}
			row := sec.row(bi)
			for j := 0; j < cols; j++ {
				sec.add(row, x0+j, sign*con.Op.At(i, j))
			}
		}
	}
	// prediction operator Ĝ as sparse rows
	G := predictionRows(p, m)
	// the rows whose multipliers carry the loss's dual variables (Map.LossDual)
	type secRow struct {
		sec   *section
		row   int
		scale float64
	}
	var lossAt []secRow
	// loss
	switch {
	case (p.Loss == "squared" || p.Loss == "") && opts.QuadraticLoss:
		r := b.col("r_loss", p.N, -1, []int{p.N})
		for i := 0; i < p.N; i++ {
			row := b.z.row(-p.Y[i])
			lossAt = append(lossAt, secRow{&b.z, row, 1})
			b.z.add(row, r+i, 1)
			for k, cidx := range G[i].cols {
				b.z.add(row, cidx, -G[i].vals[k])
			}
		}
		b.quad = [2]int{r, p.N}
	case p.Loss == "squared" || p.Loss == "":
		tau := b.col("tau", 1, -1, nil)
		b.c[tau] = 1
		r0 := b.q.rows
		b.q.row(1)
		b.q.add(r0, tau, -2)
		for i := 0; i < p.N; i++ {
			row := b.q.row(-2 * p.Y[i])
			lossAt = append(lossAt, secRow{&b.q, row, 2})
			for k, cidx := range G[i].cols {
				b.q.add(row, cidx, -2*G[i].vals[k])
			}
		}
		rl := b.q.row(-1)
		b.q.add(rl, tau, -2)
		b.qs = append(b.qs, p.N+2)
	case p.Loss == "hinge":
		e := b.col("e", p.N, -1, []int{p.N})
		for i := 0; i < p.N; i++ {
			b.c[e+i] = 1
			r := b.l.row(0)
			b.l.add(r, e+i, -1)
			r = b.l.row(-1)
			lossAt = append(lossAt, secRow{&b.l, r, p.Y[i]})
			b.l.add(r, e+i, -1)
			for k, cidx := range G[i].cols {
				b.l.add(r, cidx, -p.Y[i]*G[i].vals[k])
			}
		}
	case p.Loss == "logistic":
		t := b.col("t_loss", p.N, -1, []int{p.N})
		a := b.col("a_loss", p.N, -1, []int{p.N})
		a2 := b.col("a2_loss", p.N, -1, []int{p.N})
		for i := 0; i < p.N; i++ {
			b.c[t+i] = 1
			r := b.l.row(1) // 1 − a − a' ≥ 0
			lossAt = append(lossAt, secRow{&b.l, r, p.Y[i]})
			b.l.add(r, a+i, 1)
			b.l.add(r, a2+i, 1)
			// (−t, 1, a)
			r = b.ep.row(0)
			b.ep.add(r, t+i, 1)
			b.ep.row(1)
			r = b.ep.row(0)
			b.ep.add(r, a+i, -1)
			// (−yŷ − t, 1, a')
			r = b.ep.row(0)
			b.ep.add(r, t+i, 1)
			for k, cidx := range G[i].cols {
				b.ep.add(r, cidx, p.Y[i]*G[i].vals[k])
			}
			b.ep.row(1)
			r = b.ep.row(0)
			b.ep.add(r, a2+i, -1)
			b.nexp += 2
		}
	case p.Loss == "cross_entropy" && p.Outputs > 1:
		n, C := p.N/p.Outputs, p.Outputs
		t := b.col("t_loss", n, -1, []int{n})
		a := b.col("a_loss", p.N, -1, []int{n, C})
		for i := 0; i < n; i++ {
			b.c[t+i] = 1
			r := b.l.row(1) // 1 − Σ_k a_ik ≥ 0
			for k := 0; k < C; k++ {
				b.l.add(r, a+k*n+i, 1)
			}
			for k := 0; k < C; k++ {
				// (ŷ_ik − Σ_k' y_ik' ŷ_ik' − t_i, 1, a_ik)
				r = b.ep.row(0)
				b.ep.add(r, t+i, 1)
				row := G[k*n+i]
				for j, cidx := range row.cols {
					b.ep.add(r, cidx, -row.vals[j])
				}
				for k2 := 0; k2 < C; k2++ {
					if y := p.Y[k2*n+i]; y != 0 {
						r2 := G[k2*n+i]
						for j, cidx := range r2.cols {
							b.ep.add(r, cidx, y*r2.vals[j])
						}
					}
				}
				b.ep.row(1)
				r = b.ep.row(0)
				b.ep.add(r, a+k*n+i, -1)
				b.nexp++
			}
		}
	default:
		return nil, nil, fmt.Errorf("canon: unknown loss %q", p.Loss)
	}
	for _, nb := range pending {
		b.norm(nb.t, nb.x0, nb.rows, nb.cols, nb.T)
	}
	// generic penalties
	for k, pen := range p.Penalties {
		x0 := m.vars[pen.Var.Name]
		switch pen.Kind {
		case convex.Norms:
			for j, T := range pen.Maps {
				w := 1.0
				if j < len(pen.Weights) {
					w = pen.Weights[j]
				}
				t := b.col(fmt.Sprintf("t_%s_%d", pen.Var.Name, j+1), 1, -1, nil)
				b.c[t] = p.Beta * w
				r, cc := T.Dims()
				b.norm(t, x0, r, cc, T.At)
			}
		case convex.Nuclear:
			b.nuclear(p.Beta, pen.Var, x0, k)
		case convex.CopositiveNuclear:
			w1 := b.nuclear(p.Beta, pen.Var, x0, k)
			b.copositive(w1, pen.Var.Shape[0], pen.Maps[0])
		}
	}
	prob, err := b.assemble()
	if err != nil {
		return nil, nil, err
	}
	m.n = b.n
	offset := map[*section]int{}
	off := 0
	for _, sec := range []*section{&b.z, &b.l, &b.q, &b.s, &b.ep} { // assemble's order
		offset[sec] = off
		off += sec.rows
	}
	for _, la := range lossAt {
		m.lossRows = append(m.lossRows, offset[la.sec]+la.row)
		m.lossScale = append(m.lossScale, la.scale)
	}
	return prob, m, nil
}

type normBlock struct {
	t, x0, rows, cols int
	T                 func(i, j int) float64
}

func identity(i, j int) float64 {
	if i == j {
		return 1
	}
	return 0
}

// norm emits the SOC block (t, T x) for x at columns x0…x0+cols−1.
func (b *builder) norm(t, x0, rows, cols int, T func(i, j int) float64) {
	r := b.q.row(0)
	b.q.add(r, t, -1)
	for i := 0; i < rows; i++ {
		r := b.q.row(0)
		for j := 0; j < cols; j++ {
			b.q.add(r, x0+j, -T(i, j))
		}
	}
	b.qs = append(b.qs, rows+1)
}

// nuclear emits the NUC block for Z (p×q, vec column-major at x0) and returns the
// first column of W₁ (its lower triangle by columns).
func (b *builder) nuclear(beta float64, v *convex.Var, x0, k int) int {
	p, q := v.Shape[0], v.Shape[1]
	w1 := b.col(fmt.Sprintf("W1_%s", v.Name), p*(p+1)/2, -1, nil)
	w2 := b.col(fmt.Sprintf("W2_%s", v.Name), q*(q+1)/2, -1, nil)
	tri := func(base, n, i, j int) int { // lower-triangle index by columns, i ≥ j
		return base + j*n - j*(j-1)/2 + (i - j)
	}
	for j := 0; j < p; j++ {
		b.c[tri(w1, p, j, j)] = beta / 2
	}
	for j := 0; j < q; j++ {
		b.c[tri(w2, q, j, j)] = beta / 2
	}
	kk := p + q
	for j := 0; j < kk; j++ {
		for i := j; i < kk; i++ {
			sc := math.Sqrt2
			if i == j {
				sc = 1
			}
			r := b.s.row(0)
			switch {
			case i < p:
				b.s.add(r, tri(w1, p, i, j), -sc)
			case j < p: // M_ij = Z(j, i−p)
				b.s.add(r, x0+(i-p)*p+j, -sc)
			default:
				b.s.add(r, tri(w2, q, i-p, j-p), -sc)
			}
		}
	}
	b.ss = append(b.ss, kk)
	return w1
}

// copositive emits the COP rows of a CopositiveNuclear penalty: (K W₁ Kᵀ)_{ab} ≥ 0
// for a ≥ b, with W₁ (p×p) stored as its lower triangle by columns at w1. The
// coefficient of W₁(i, j), i ≥ j, in row (a, b) is K[a,i]K[b,j] + K[a,j]K[b,i] for
// i ≠ j and K[a,i]K[b,i] for i = j. Zero rows of K give 0 ≥ 0 and are skipped, and
// so is any row whose coefficients are all zero.
func (b *builder) copositive(w1, p int, K *mat.Dense) {
	k, _ := K.Dims()
	var live []int
	for a := 0; a < k; a++ {
		for _, v := range K.RawRowView(a) {
			if v != 0 {
				live = append(live, a)
				break
			}
		}
	}
	tri := func(i, j int) int { return w1 + j*p - j*(j-1)/2 + (i - j) }
	for ia, a := range live {
		ka := K.RawRowView(a)
		for _, bb := range live[:ia+1] {
			kb := K.RawRowView(bb)
			var cols []int
			var vals []float64
			for j := 0; j < p; j++ {
				for i := j; i < p; i++ {
					c := ka[i] * kb[j]
					if i != j {
						c += ka[j] * kb[i]
					}
					if c != 0 {
						cols = append(cols, tri(i, j))
						vals = append(vals, c)
					}
				}
			}
			if len(cols) == 0 {
				continue
			}
			r := b.l.row(0)
			for t, c := range cols {
				b.l.add(r, c, -vals[t])
			}
		}
	}
}

type sparseRow struct {
	cols []int
	vals []float64
}

// predictionRows returns Ĝ (ŷ = Ĝx) as one sparse row per sample, duplicates merged.
func predictionRows(p *convex.Program, m *Map) []sparseRow {
	acc := make([]map[int]float64, p.N)
	for i := range acc {
		acc[i] = map[int]float64{}
	}
	for f, fam := range p.Families {
		_, H := fam.A.Dims()
		P := fam.Patterns()
		for c, sign := range fam.Signs {
			for q := 0; q < P; q++ {
				x0 := m.blocks[f][c] + q*H
				fam.Weight.Mask.Each(q, func(r int) {
					w := fam.Weight.RowWeight(r)
					ar := fam.A.RawRowView(r)
					row := acc[fam.Sample[r]]
					for j := 0; j < H; j++ {
						if ar[j] != 0 {
							row[x0+j] += sign * w * ar[j]
						}
					}
				})
			}
		}
	}
	for _, t := range p.Terms {
		x0 := m.vars[t.Var.Name]
		_, cols := t.Op.Dims()
		for i := 0; i < p.N; i++ {
			for j := 0; j < cols; j++ {
				if v := t.Op.At(i, j); v != 0 {
					acc[i][x0+j] += v
				}
			}
		}
	}
	if m.bias >= 0 {
		for i := range acc {
			acc[i][m.bias] += 1
		}
	}
	out := make([]sparseRow, p.N)
	for i, a := range acc {
		for c := range a {
			out[i].cols = append(out[i].cols, c)
		}
		sort.Ints(out[i].cols)
		for _, c := range out[i].cols {
			out[i].vals = append(out[i].vals, a[c])
		}
	}
	return out
}

// assemble stacks the sections in SCS order into a conic.Problem.
func (b *builder) assemble() (*conic.Problem, error) {
	type trip struct {
		r, c int
		v    float64
	}
	var ts []trip
	var bb []float64
	off := 0
	for _, s := range []*section{&b.z, &b.l, &b.q, &b.s, &b.ep} {
		for k := range s.v {
			ts = append(ts, trip{s.r[k] + off, s.c[k], s.v[k]})
		}
		bb = append(bb, s.b...)
		off += s.rows
	}
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].c != ts[j].c {
			return ts[i].c < ts[j].c
		}
		return ts[i].r < ts[j].r
	})
	A := conic.CSC{M: off, N: b.n, ColPtr: make([]int, b.n+1)}
	for k := 0; k < len(ts); k++ {
		t := ts[k]
		if n := len(A.RowIdx); n > 0 && A.RowIdx[n-1] == t.r && k > 0 && ts[k-1].c == t.c {
			A.Val[n-1] += t.v
			continue
		}
		A.RowIdx = append(A.RowIdx, t.r)
		A.Val = append(A.Val, t.v)
		A.ColPtr[t.c+1] = len(A.Val)
	}
	for j := 1; j <= b.n; j++ {
		if A.ColPtr[j] < A.ColPtr[j-1] {
			A.ColPtr[j] = A.ColPtr[j-1]
		}
	}
	prob := &conic.Problem{
		M: off, N: b.n, A: A, B: bb, C: b.c,
		Cones:    conic.Cones{Z: b.z.rows, L: b.l.rows, Q: b.qs, S: b.ss, EP: b.nexp},
		ObjScale: 1,
		Vars:     b.vars,
	}
	if b.quad[1] > 0 {
		P := &conic.CSC{M: b.n, N: b.n, ColPtr: make([]int, b.n+1)}
		for j := 0; j < b.n; j++ {
			if j >= b.quad[0] && j < b.quad[0]+b.quad[1] {
				P.RowIdx = append(P.RowIdx, j)
				P.Val = append(P.Val, 1)
			}
			P.ColPtr[j+1] = len(P.Val)
		}
		prob.P = P
	}
	if prob.Cones.Q == nil {
		prob.Cones.Q = []int{}
	}
	if prob.Cones.S == nil {
		prob.Cones.S = []int{}
	}
	if err := prob.Validate(); err != nil {
		return nil, fmt.Errorf("canon: internal error: %v", err)
	}
	return prob, nil
}

// validate checks the program's dimensions so that canonicalisation never panics.
func validate(p *convex.Program) error {
	if p.N <= 0 || len(p.Y) != p.N {
		return fmt.Errorf("canon: program has N=%d and %d targets", p.N, len(p.Y))
	}
	if p.Anchored != nil {
		return validateAnchored(p)
	}
	if !(p.Beta >= 0) {
		return fmt.Errorf("canon: β = %g", p.Beta)
	}
	for f, fam := range p.Families {
		np, h := fam.A.Dims()
		if h != fam.H || len(fam.Sample) != np {
			return fmt.Errorf("canon: family %d (%s): A is %d×%d, H=%d, %d sample indices", f, fam.Name, np, h, fam.H, len(fam.Sample))
		}
		wr, _ := fam.Weight.Dims()
		if wr != np {
			return fmt.Errorf("canon: family %d: Weight has %d rows, A %d", f, wr, np)
		}
		for _, s := range fam.Sample {
			if s < 0 || s >= p.N {
				return fmt.Errorf("canon: family %d: sample index %d out of range", f, s)
			}
		}
		if fam.C != nil {
			nc, hc := fam.C.Dims()
			sr, sc := fam.Sign.Dims()
			if hc != fam.H || sr != nc || sc != fam.Patterns() {
				return fmt.Errorf("canon: family %d: C is %d×%d, Sign %d×%d", f, nc, hc, sr, sc)
			}
		}
		if fam.Cost.Kind == convex.CostMaps {
			if len(fam.Cost.Maps) != len(fam.Cost.Weights) {
				return fmt.Errorf("canon: family %d: %d cost maps, %d weights", f, len(fam.Cost.Maps), len(fam.Cost.Weights))
			}
			for _, T := range fam.Cost.Maps {
				if _, c := T.Dims(); c != fam.H {
					return fmt.Errorf("canon: family %d: cost map has %d columns, H=%d", f, c, fam.H)
				}
			}
		}
	}
	names := map[string]bool{}
	for _, v := range p.Vars {
		if names[v.Name] {
			return fmt.Errorf("canon: variable %s declared twice", v.Name)
		}
		names[v.Name] = true
	}
	for _, t := range p.Terms {
		if r, c := t.Op.Dims(); !names[t.Var.Name] || r != p.N || c != t.Var.Size() {
			return fmt.Errorf("canon: term on %s has a %d×%d operator", t.Var.Name, r, c)
		}
	}
	for _, c := range p.Constraints {
		r, cc := c.Op.Dims()
		if !names[c.Var.Name] || cc != c.Var.Size() || (c.Const != nil && len(c.Const) != r) {
			return fmt.Errorf("canon: constraint on %s (%s) has a %d×%d operator", c.Var.Name, c.Why, r, cc)
		}
	}
	for _, pen := range p.Penalties {
		if !names[pen.Var.Name] {
			return fmt.Errorf("canon: penalty on undeclared variable %s", pen.Var.Name)
		}
		if (pen.Kind == convex.Nuclear || pen.Kind == convex.CopositiveNuclear) && len(pen.Var.Shape) != 2 {
			return fmt.Errorf("canon: nuclear norm of %s needs a matrix variable", pen.Var.Name)
		}
		if pen.Kind == convex.CopositiveNuclear {
			if len(pen.Maps) != 1 {
				return fmt.Errorf("canon: copositive nuclear norm of %s needs one cone matrix K", pen.Var.Name)
			}
			if _, c := pen.Maps[0].Dims(); c != pen.Var.Shape[0] {
				return fmt.Errorf("canon: cone matrix of %s has %d columns, Z has %d rows", pen.Var.Name, c, pen.Var.Shape[0])
			}
		}
		for _, T := range pen.Maps {
			if pen.Kind == convex.CopositiveNuclear {
				break
			}
			if _, c := T.Dims(); c != pen.Var.Size() {
				return fmt.Errorf("canon: norm map on %s has %d columns, want %d", pen.Var.Name, c, pen.Var.Size())
			}
		}
	}
	return nil
}

// MaxNNZ caps the nonzeros of A: each costs 16 bytes (value and index) in memory and
// 12–16 bytes in the exported files, so 2²⁸ is about 4 GB.
const MaxNNZ = 1 << 28

// EstimateNNZ is an upper bound on the nonzeros of A for p, computed before anything
// is built: the cone rows (H per nonzero Sign entry and copy), the loss rows (H per
// prediction row with a nonzero weight, per copy), the norm epigraphs, and the dense
// generic operators.
func EstimateNNZ(p *convex.Program) int {
	if p.Anchored != nil {
		return anchoredNNZ(p)
	}
	signs := make([]*convex.ConeSigns, len(p.Families))
	for f, fam := range p.Families {
		signs[f] = fam.Sign
	}
	return estimateNNZ(p, signs)
}

// estimateNNZ is EstimateNNZ with the families' cone signs replaced by signs.
func estimateNNZ(p *convex.Program, signs []*convex.ConeSigns) int {
	nnz := 0
	for f, fam := range p.Families {
		copies := len(fam.Signs)
		for q := 0; q < fam.Patterns(); q++ {
			if fam.C != nil && signs[f] != nil {
				nnz += copies * signs[f].Count(q) * fam.H
			}
			nnz += copies * fam.Weight.Mask.Count(q) * fam.H
		}
		nnz += copies * fam.Patterns() * (fam.H + 1) * (1 + len(fam.Cost.Maps))
	}
	for _, t := range p.Terms {
		r, c := t.Op.Dims()
		nnz += r * c
	}
	for _, pen := range p.Penalties {
		for _, M := range pen.Maps {
			if pen.Kind == convex.CopositiveNuclear {
				break
			}
			r, c := M.Dims()
			nnz += r*c + 1
		}
		if (pen.Kind == convex.Nuclear || pen.Kind == convex.CopositiveNuclear) && len(pen.Var.Shape) == 2 {
			k := pen.Var.Shape[0] + pen.Var.Shape[1]
			nnz += k * (k + 1) / 2
		}
		if pen.Kind == convex.CopositiveNuclear && len(pen.Maps) == 1 && len(pen.Var.Shape) == 2 {
			k, _ := pen.Maps[0].Dims()
			h := pen.Var.Shape[0]
			nnz += k * (k + 1) / 2 * h * (h + 1) / 2
		}
	}
	for _, c := range p.Constraints {
		r, cc := c.Op.Dims()
		nnz += r * cc
	}
	return nnz + 3*p.N
}
