package convex

// Vector-output programs (multiclass networks, docs/math/10-vector-output.md).
//
// A two-layer network with C outputs, m units of first-layer weights u_j ∈ R^H and
// output weights g_j ∈ R^C, trained with weight decay, is
//
//	min  F( Σ_j φ(u_j) g_jᵀ [+ 1 bᵀ], Y ) + (β/2) Σ_j (‖u_j‖² + ‖g_j‖²)
//
// where φ(u) ∈ R^N is what one unit feeds the output layer:
//
//	φ(u)_i = Σ_{r : Sample[r] = i} RowWeight[r] · (A_r u)_+
//
// (FC: A = X, one row per sample, RowWeight = 1; CNN with global average pooling:
// A = the stacked patch matrix M, Sample[r] = r mod N, RowWeight = 1/K). A gated unit
// with gate g replaces (A_r u)_+ by 1[A_r g > 0]·(A_r u). Rescaling each unit turns
// the penalty into β Σ_j ‖u_j‖‖g_j‖, so a solution is a list of atoms (u, g) whose
// cost is β‖u‖‖g‖; the convex program over atoms is the copositive program of the
// docs (its gauge is the cone-constrained nuclear norm), and its relaxations,
// solvers and certificates live in backend/native/vecout.
//
// This IR is separate from Program (whose template has one scalar output per
// sample): the vector program is not a group-ℓ2 template, and its solvers work on
// atoms, not on one block per pattern.

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Vector losses (Program.Loss uses the scalar names).
const (
	LossSquared      = "squared"       // ½ Σ_{i,k} (ŷ_ik − y_ik)²
	LossCrossEntropy = "cross_entropy" // Σ_i ( log Σ_k e^{ŷ_ik} − Σ_k y_ik ŷ_ik ), one-hot rows y_i
)

// VectorProgram is a vector-output two-layer program (see the file comment).
type VectorProgram struct {
	Model       string
	Theorem     string
	Section     string
	Regularizer string

	Loss       string     // LossSquared or LossCrossEntropy
	Y          *mat.Dense // N × C targets (one-hot rows for cross-entropy)
	N, C       int
	Beta       float64
	OutputBias bool // an unpenalised C-vector added to every prediction

	// Gated: the units are gated ReLUs whose gates are the pattern generators Gates;
	// the cone constraints are absent and relaxation (a) is the exact program.
	Gated bool

	A         *mat.Dense // Np × H: the rows a unit's filter is applied to
	Sample    []int      // Np: the sample each row feeds
	RowWeight []float64  // Np: the pooling weight of each row
	H         int

	// Gates (H × P): column p generates the activation pattern D_p = 1[A g_p > 0]
	// (gated: the unit's fixed gate). Exhaustive is true when the gates reach every
	// cell of the arrangement of A (exact enumeration on data in general position);
	// Rank is rank(A).
	Gates      *mat.Dense
	Exhaustive bool
	Rank       int

	// Layer is the hidden layer's index (provenance); Meta holds rule data.
	Layer int
	Meta  map[string]any
}

// Patterns is the number of gates P.
func (p *VectorProgram) Patterns() int {
	if p.Gates == nil {
		return 0
	}
	_, q := p.Gates.Dims()
	return q
}

// Atom is one unit of a vector solution: filter U (H entries) and output weights G
// (C entries); its cost is β‖U‖‖G‖. Gate is the pattern index of a gated unit, −1
// for a ReLU unit.
type Atom struct {
	U    []float64
	G    []float64
	Gate int
}

// VectorSolution is a point of a VectorProgram: a list of atoms and the output bias.
type VectorSolution struct {
	Atoms []Atom
	Bias  []float64 // C entries (nil or zeros without an output bias)
}

// Validate checks the program's dimensions.
func (p *VectorProgram) Validate() error {
	if p.A == nil || p.Y == nil {
		return fmt.Errorf("vector program: no data")
	}
	np, h := p.A.Dims()
	if h != p.H || len(p.Sample) != np || len(p.RowWeight) != np {
		return fmt.Errorf("vector program: A is %d×%d, H=%d, %d sample indices, %d row weights", np, h, p.H, len(p.Sample), len(p.RowWeight))
	}
	if r, c := p.Y.Dims(); r != p.N || c != p.C || p.C < 1 {
		return fmt.Errorf("vector program: Y is %d×%d, N=%d C=%d", r, c, p.N, p.C)
	}
	for _, s := range p.Sample {
		if s < 0 || s >= p.N {
			return fmt.Errorf("vector program: sample index %d out of range", s)
		}
	}
	if p.Gates != nil {
		if gh, _ := p.Gates.Dims(); gh != p.H {
			return fmt.Errorf("vector program: gates have %d rows, H=%d", gh, p.H)
		}
	}
	if p.Loss != LossSquared && p.Loss != LossCrossEntropy {
		return fmt.Errorf("vector program: unknown loss %q", p.Loss)
	}
	if !(p.Beta > 0) || math.IsInf(p.Beta, 0) {
		return fmt.Errorf("vector program: β = %g", p.Beta)
	}
	return nil
}

// Features returns Φ (N × m): column k is φ(U_k) for the ReLU unit map, or the gated
// unit map of gate Gate_k when the atom is gated (Gate ≥ 0).
func (p *VectorProgram) Features(atoms []Atom) *mat.Dense {
	m := len(atoms)
	F := mat.NewDense(p.N, max(m, 1), nil)
	if m == 0 {
		return F
	}
	U := mat.NewDense(p.H, m, nil)
	for k, a := range atoms {
		U.SetCol(k, a.U)
	}
	var Z mat.Dense
	Z.Mul(p.A, U) // Np × m
	var Gz *mat.Dense
	gated := false
	for _, a := range atoms {
		if a.Gate >= 0 {
			gated = true
		}
	}
	if gated {
		Gm := mat.NewDense(p.H, m, nil)
		for k, a := range atoms {
			if a.Gate >= 0 {
				Gm.SetCol(k, mat.Col(nil, a.Gate, p.Gates))
			}
		}
		Gz = &mat.Dense{}
		Gz.Mul(p.A, Gm)
	}
	np, _ := p.A.Dims()
	for r := 0; r < np; r++ {
		z := Z.RawRowView(r)
		dst := F.RawRowView(p.Sample[r])
		w := p.RowWeight[r]
		var gz []float64
		if Gz != nil {
			gz = Gz.RawRowView(r)
		}
		for k, v := range z {
			if atoms[k].Gate >= 0 {
				if gz[k] > 0 {
					dst[k] += w * v
				}
			} else if v > 0 {
				dst[k] += w * v
			}
		}
	}
	return F
}

// Predict returns Ŷ (N × C) of s.
func (p *VectorProgram) Predict(s *VectorSolution) *mat.Dense {
	Yh := mat.NewDense(p.N, p.C, nil)
	if s == nil {
		return Yh
	}
	if len(s.Atoms) > 0 {
		F := p.Features(s.Atoms)
		G := mat.NewDense(len(s.Atoms), p.C, nil)
		for k, a := range s.Atoms {
			G.SetRow(k, a.G)
		}
		Yh.Mul(F, G)
	}
	if p.OutputBias && len(s.Bias) == p.C {
		for i := 0; i < p.N; i++ {
			row := Yh.RawRowView(i)
			for k := range row {
				row[k] += s.Bias[k]
			}
		}
	}
	return Yh
}

// Penalty is Σ_k ‖U_k‖‖G_k‖ (multiply by β for the regulariser).
func (s *VectorSolution) Penalty() float64 {
	t := 0.0
	for _, a := range s.Atoms {
		t += norm2(a.U) * norm2(a.G)
	}
	return t
}

// Objective is F(Ŷ) + β Σ‖U_k‖‖G_k‖ on the scale of docs/language.md.
func (p *VectorProgram) Objective(s *VectorSolution) float64 {
	return VectorLoss(p.Loss, p.Predict(s), p.Y) + p.Beta*s.Penalty()
}

// VectorLoss is the loss of predictions Yh against targets Y (both N × C):
// squared ½Σ(ŷ − y)², cross-entropy Σ_i (logΣ_k e^{ŷ_ik} − Σ_k y_ik ŷ_ik), the
// log-sum-exp computed stably.
func VectorLoss(kind string, Yh, Y *mat.Dense) float64 {
	n, _ := Yh.Dims()
	s := 0.0
	for i := 0; i < n; i++ {
		yh, y := Yh.RawRowView(i), Y.RawRowView(i)
		if kind == LossCrossEntropy {
			ys := 0.0
			for k := range yh {
				ys += y[k]
				s -= y[k] * yh[k]
			}
			s += ys * logSumExp(yh)
			continue
		}
		for k := range yh {
			r := yh[k] - y[k]
			s += 0.5 * r * r
		}
	}
	return s
}

// VectorLossGrad returns ∇F(Ŷ) (N × C): Ŷ − Y for squared loss, softmax(Ŷ)·Σy − Y
// row by row for cross-entropy.
func VectorLossGrad(kind string, Yh, Y *mat.Dense) *mat.Dense {
	n, c := Yh.Dims()
	V := mat.NewDense(n, c, nil)
	for i := 0; i < n; i++ {
		yh, y, v := Yh.RawRowView(i), Y.RawRowView(i), V.RawRowView(i)
		if kind == LossCrossEntropy {
			l := logSumExp(yh)
			ys := 0.0
			for k := range y {
				ys += y[k]
			}
			for k := range yh {
				v[k] = ys*math.Exp(yh[k]-l) - y[k]
			}
			continue
		}
		for k := range yh {
			v[k] = yh[k] - y[k]
		}
	}
	return V
}

func logSumExp(z []float64) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	if math.IsInf(m, 0) {
		return m
	}
	s := 0.0
	for _, v := range z {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

func norm2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
