// Package convex owns the convex IR: the program the compiler derives from a network
// before it is canonicalised to conic form (backend/conic) or handed to a structured
// native solver or to the CVXPY exporter.
//
// Almost every exact program of spec/formulations.md is one template (§12):
//
//	minimize   ℓ(ŷ, y) + β Σ_b R_b(x_b)
//	ŷ         = Σ_f Σ_{s ∈ Signs_f} s · Σ_p 𝒫_{f,p} x_{f,s,p}   (+ generic terms, + output bias)
//	subject to 𝒞_{f,p} x_{f,s,p} ≥ 0   for every family f, copy s, pattern p
//
// A Family stores the template's operators for all of its patterns at once, so a
// solver can apply them with two dense matrix products (A·Vᵀ and C·Vᵀ) instead of one
// sparse matrix per pattern:
//
//	(𝒫_{f,p} x)_i = Σ_{r : Sample[r] = i} Weight[r,p] · (A_r · x)
//	(𝒞_{f,p} x)_r = Sign[r,p] · (C_r · x)         (rows with Sign = 0 are absent)
//
// FC ReLU (§2):  A = C = X, Sample[r] = r, Weight = D, Sign = 2D − 1, Signs = {+1, −1}.
// gated (§3):    as FC but C = nil, Signs = {+1}.
// CNN + GAP (§4): A = C = M (stacked patches, row (k−1)n+i), Sample = row mod n, Weight = D, Sign = 2D − 1.
//
// Programs outside the template (linear CNNs §7: nuclear norm, Fourier ℓ1) use the
// generic Vars/Terms/Penalties/Constraints. Both parts may appear in one program.
package convex

import "gonum.org/v1/gonum/mat"

// Program is a derived convex program with the metadata reports and explain print.
type Program struct {
	Model       string
	Theorem     string // e.g. "two-layer ReLU, Pilanci & Ergen 2020"
	Section     string // formulations.md section, e.g. "§2"
	Regularizer string // the implicit regulariser in words

	Loss       string    // "squared" (½Σ(ŷ−y)²), "hinge", "logistic"
	Y          []float64 // targets, length N (scalar output)
	N          int
	Beta       float64
	OutputBias bool // an unpenalised scalar added to every prediction

	// Outputs > 1 marks a vectorised vector-output program (VectorProgram.Relaxation):
	// ŷ and Y hold vec(Ŷ) of an (N/Outputs) × Outputs prediction column by column,
	// which the cross_entropy loss groups row by row.
	Outputs int

	Families []*Family

	Vars        []*Var
	Terms       []Term
	Penalties   []Penalty
	Constraints []Constraint
}

// CostKind selects a block cost R.
type CostKind int

const (
	// CostL2 is R(x) = ‖x‖₂ (the weight-decay group norm).
	CostL2 CostKind = iota
	// CostMaps is R(x) = Σ_j Weight_j ‖T_j x‖₂ for fixed small matrices T_j
	// (e.g. §8: T_k = the real and imaginary rows of the k-th DFT row, Weight = 1/√d).
	CostMaps
)

// Cost is a block cost R_b.
type Cost struct {
	Kind    CostKind
	Maps    []*mat.Dense // CostMaps: T_j, each rows×H
	Weights []float64    // CostMaps: weight of each map
}

// Family is one group of pattern blocks sharing base operators (see package doc).
type Family struct {
	Name  string // variable name stem; copies are named v_p (s = +1) and w_p (s = −1)
	Layer int    // provenance: the hidden layer these blocks become
	H     int    // dimension of each block x_{f,s,p}

	A      *mat.Dense // Np × H prediction base rows
	Sample []int      // Np: the sample each prediction row adds to
	Weight *mat.Dense // Np × P: weight of row r in pattern p (D entries, pooling weights)

	C    *mat.Dense // Nc × H constraint base rows; nil when unconstrained (gated)
	Sign *mat.Dense // Nc × P in {−1, 0, +1}

	Signs []float64 // output sign of each copy: {+1, −1} (ReLU) or {+1} (gated)
	Cost  Cost

	// Gates (H × P), optional: the generator of each pattern (a point of its cone).
	Gates *mat.Dense

	// Meta is free-form per-family data a recovery needs (window index, pool kind...).
	Meta map[string]any
}

// Patterns returns P, the number of patterns of f.
func (f *Family) Patterns() int {
	_, p := f.Weight.Dims()
	return p
}

// Var is a generic (non-family) variable, stored as vec(x) in column-major order
// for matrices (so vec(Z) matches CVXPY's and the conic export's ordering).
type Var struct {
	Name  string
	Shape []int // [k] or [rows, cols]
	Layer int   // provenance: network layer, −1 if none
}

// Size is the number of scalars in v.
func (v *Var) Size() int {
	n := 1
	for _, s := range v.Shape {
		n *= s
	}
	return n
}

// Term adds Op·vec(Var) to the prediction ŷ (Op is N × Var.Size()).
type Term struct {
	Var *Var
	Op  *mat.Dense
}

// PenaltyKind is the kind of a generic penalty.
type PenaltyKind int

const (
	// Norms: β·Σ_j Weights[j]·‖Maps[j]·vec(Var)‖₂.
	Norms PenaltyKind = iota
	// Nuclear: β·‖Z‖_* for the matrix variable Var (Shape [rows, cols]).
	Nuclear
	// CopositiveNuclear: the copositive relaxation of the cone-constrained nuclear
	// norm of Z (vector outputs, relaxation (b) of docs/math/10-vector-output.md):
	// β·min ½(tr W₁ + tr W₂) over symmetric W₁ (rows×rows), W₂ (cols×cols) with
	// [[W₁, Z], [Zᵀ, W₂]] ⪰ 0 and K W₁ Kᵀ ≥ 0 entrywise, K = Maps[0] (k × rows, the
	// signed rows of the pattern's cone). Without the entrywise constraint it is ‖Z‖_*.
	CopositiveNuclear
)

// Penalty is a generic regulariser term, multiplied by Program.Beta.
type Penalty struct {
	Kind    PenaltyKind
	Var     *Var
	Maps    []*mat.Dense
	Weights []float64
}

// ConstraintKind is = 0 or ≥ 0.
type ConstraintKind int

const (
	Zero ConstraintKind = iota
	NonNeg
)

// Constraint is Op·vec(Var) + Const (= 0 | ≥ 0), row-wise.
type Constraint struct {
	Kind  ConstraintKind
	Var   *Var
	Op    *mat.Dense
	Const []float64 // nil means 0
	Why   string    // provenance in words ("conjugate symmetry ζ_{d−k} = conj ζ_k")
}

// Solution is a point of a Program, in the program's own terms.
type Solution struct {
	// Blocks[f][s] is P×H for family f and copy s (in Family.Signs order): row p is x_{f,s,p}.
	Blocks [][]*mat.Dense
	// Vars holds generic variables by name, vec(·) column-major.
	Vars map[string][]float64
	// Bias is the unpenalised output bias (0 unless Program.OutputBias).
	Bias float64
}
