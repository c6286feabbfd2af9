package convex

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Relax names a convex relaxation of the vector program that has a conic form.
type Relax int

const (
	// RelaxGated is relaxation (a): the cone constraints dropped, one nuclear norm per
	// pattern — exact for a gated model, a lower bound for a ReLU model over the same
	// patterns.
	RelaxGated Relax = iota
	// RelaxCopositive is relaxation (b): the cone-constrained nuclear norm replaced by
	// its doubly-nonnegative (copositive) relaxation, one PSD block of order H + C and
	// the entrywise constraint K W₁ Kᵀ ≥ 0 per pattern.
	RelaxCopositive
)

func (r Relax) String() string {
	if r == RelaxCopositive {
		return "relaxation (b), copositive"
	}
	return "relaxation (a), gated / nuclear norm"
}

// MaxRelaxEntries bounds the dense prediction operators of a relaxation program
// (P · N·C · H·C numbers) so that building it never exhausts memory.
const MaxRelaxEntries = 5e7

// MaxCopositiveNNZ bounds the nonzeros of relaxation (b)'s entrywise rows
// (CopositiveSize): with k nonzero cone rows per pattern they number k(k+1)/2 rows of
// up to H(H+1)/2 entries, which grows like (N·K)² for a CNN.
const MaxCopositiveNNZ = 4e6

// CopositiveSize is the number of entrywise rows K_p W₁ K_pᵀ ≥ 0 of relaxation (b)
// over p's patterns and an upper bound on their nonzeros.
func (p *VectorProgram) CopositiveSize() (rows, nnz float64) {
	np, h := p.A.Dims()
	k := 0.0
	for r := 0; r < np; r++ {
		for _, v := range p.A.RawRowView(r) {
			if v != 0 {
				k++
				break
			}
		}
	}
	rows = float64(p.Patterns()) * k * (k + 1) / 2
	return rows, rows * float64(h*(h+1)/2)
}

// GateFeatures returns F_g (N × H): F_g = Σ_r e_{Sample[r]} RowWeight[r]·1[A_r g > 0]·A_r,
// the prediction operator of the gated unit with gate g (and of a ReLU unit on the
// pattern's cone), and the signed cone rows K_g = ((2·1[A_r g > 0] − 1)·A_r) over the
// nonzero rows of A.
func (p *VectorProgram) GateFeatures(g []float64) (F, K *mat.Dense) {
	np, h := p.A.Dims()
	F = mat.NewDense(p.N, h, nil)
	var rows [][]float64
	for r := 0; r < np; r++ {
		ar := p.A.RawRowView(r)
		z := 0.0
		zero := true
		for j, a := range ar {
			z += a * g[j]
			if a != 0 {
				zero = false
			}
		}
		if zero {
			continue
		}
		s := -1.0
		if z > 0 {
			s = 1
			dst := F.RawRowView(p.Sample[r])
			w := p.RowWeight[r]
			for j, a := range ar {
				dst[j] += w * a
			}
		}
		row := make([]float64, h)
		for j, a := range ar {
			row[j] = s * a
		}
		rows = append(rows, row)
	}
	K = mat.NewDense(max(1, len(rows)), h, nil)
	for i, row := range rows {
		K.SetRow(i, row)
	}
	return F, K
}

// Relaxation writes relaxation r of p over p's patterns as a convex.Program in the
// generic form (so that it canonicalises and exports like any program): the
// prediction is vectorised column by column, ŷ = vec(Ŷ) with ŷ[k·N + i] = Ŷ_ik and
// Y likewise, so ½‖ŷ − y‖² is the squared loss summed over samples and outputs;
// pattern q has the matrix variable Z_q (H × C) with term (I_C ⊗ F_q)·vec(Z_q) and
// penalty ‖Z_q‖_* (a) or its copositive relaxation with K_q (b); an output bias is
// the unpenalised variable b_out (C) with term I_C ⊗ 1_N. The loss keeps its name
// (squared: ½‖ŷ − y‖²; cross_entropy: grouped by sample through Program.Outputs).
func (p *VectorProgram) Relaxation(r Relax) (*Program, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	P := p.Patterns()
	if P == 0 {
		return nil, fmt.Errorf("the program has no activation pattern")
	}
	N, C, H := p.N, p.C, p.H
	if r == RelaxCopositive && !p.Gated {
		if rows, nnz := p.CopositiveSize(); nnz > MaxCopositiveNNZ {
			return nil, fmt.Errorf("relaxation (b) would have %.3g entrywise rows with up to %.3g nonzeros (%d patterns; it grows like the square of the rows of A), more than %.3g", rows, nnz, P, float64(MaxCopositiveNNZ))
		}
	}
	if e := float64(P) * float64(N*C) * float64(H*C); e > MaxRelaxEntries {
		return nil, fmt.Errorf("the relaxation's prediction operators would hold %.3g numbers (%d patterns × %d×%d), more than %.3g: use fewer samples or patterns", e, P, N*C, H*C, float64(MaxRelaxEntries))
	}
	y := make([]float64, N*C)
	for i := 0; i < N; i++ {
		for k := 0; k < C; k++ {
			y[k*N+i] = p.Y.At(i, k)
		}
	}
	prog := &Program{
		Model: p.Model, Theorem: p.Theorem + " — " + r.String(), Section: p.Section,
		Loss: p.Loss, Y: y, N: N * C, Outputs: C, Beta: p.Beta,
	}
	prog.Regularizer = "β Σ_q ‖Z_q‖_* (nuclear norm per activation pattern; the cone constraints of the exact program are dropped)"
	if r == RelaxCopositive {
		prog.Regularizer = "β Σ_q min ½(tr W₁ + tr W₂) over [[W₁, Z_q],[Z_qᵀ, W₂]] ⪰ 0 with K_q W₁ K_qᵀ ≥ 0 entrywise (the copositive relaxation of the cone-constrained nuclear norm)"
	}
	for q := 0; q < P; q++ {
		F, K := p.GateFeatures(mat.Col(nil, q, p.Gates))
		v := &Var{Name: fmt.Sprintf("Z%d", q+1), Shape: []int{H, C}, Layer: p.Layer}
		op := mat.NewDense(N*C, H*C, nil)
		for k := 0; k < C; k++ {
			op.Slice(k*N, (k+1)*N, k*H, (k+1)*H).(*mat.Dense).Copy(F)
		}
		prog.Vars = append(prog.Vars, v)
		prog.Terms = append(prog.Terms, Term{Var: v, Op: op})
		pen := Penalty{Kind: Nuclear, Var: v}
		if r == RelaxCopositive && !p.Gated {
			pen = Penalty{Kind: CopositiveNuclear, Var: v, Maps: []*mat.Dense{K}}
		}
		prog.Penalties = append(prog.Penalties, pen)
	}
	if p.OutputBias {
		b := &Var{Name: "b_out", Shape: []int{C}, Layer: -1}
		op := mat.NewDense(N*C, C, nil)
		for k := 0; k < C; k++ {
			for i := 0; i < N; i++ {
				op.Set(k*N+i, k, 1)
			}
		}
		prog.Vars = append(prog.Vars, b)
		prog.Terms = append(prog.Terms, Term{Var: b, Op: op})
	}
	return prog, nil
}
