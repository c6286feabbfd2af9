// Package convex owns the convex IR: the program the compiler derives from a network
// before it is canonicalised to conic form (backend/conic) or handed to a structured
// native solver or to the CVXPY exporter.
//
// Almost every exact program of docs/math/ is one template (§12):
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
// Weight and Sign are stored compactly (mask.go): Weight[r,p] = Row[r]·1[row r is
// active in pattern p] (PatternWeights: one bit per entry plus one pooling weight per
// row) and Sign[r,p] ∈ {−1, 0, +1} (ConeSigns: two bits per entry). At 10 000 images
// with 49 patches and 200 patterns the two take 24 MB instead of 1.6 GB of float64.
// Read them with At/Col/Mask.Each, build them with NewPatternWeights/NewConeSigns
// and AppendCol (or Family.AddPattern/AddPatterns), or convert dense matrices with
// DenseWeights/DenseSigns.
//
// FC ReLU (§2):  A = C = X, Sample[r] = r, Weight = D, Sign = 2D − 1, Signs = {+1, −1}.
// gated (§3):    as FC but C = nil, Signs = {+1}.
// CNN + GAP (§4): A = C = M (stacked patches, row (k−1)n+i), Sample = row mod n, Weight = D, Sign = 2D − 1.
//
// Programs outside the template (linear CNNs §7: nuclear norm, Fourier ℓ1) use the
// generic Vars/Terms/Penalties/Constraints. Both parts may appear in one program.
//
// The anchored relaxation of fixed-output-weight CNNs (§11, anchored.go) is not a
// loss-plus-regulariser program at all (maximise aᵀw over {w : ‖(f(w) − y)₊‖₂ ≤ ε}):
// it is carried whole by Program.Anchored, with its own prediction, objective (−aᵀw),
// violation and sizes.
package convex

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Program is a derived convex program with the metadata reports and explain print.
type Program struct {
	Model       string
	Theorem     string // e.g. "two-layer ReLU, Pilanci & Ergen 2020"
	Section     string // section of the project's mathematics, e.g. "§2"
	Doc         string // the docs file of that section, e.g. "docs/math/02-fc-relu.md"
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

	// Anchored, when set, is the whole program: the anchored relaxation of a
	// fixed-output-weight CNN (§11, anchored.go). Families, generic parts and the
	// loss are then unused.
	Anchored *Anchored
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

	A      *mat.Dense      // Np × H prediction base rows
	Sample []int           // Np: the sample each prediction row adds to
	Weight *PatternWeights // Np × P: weight of row r in pattern p (D entries × pooling weights)

	C    *mat.Dense // Nc × H constraint base rows; nil when unconstrained (gated)
	Sign *ConeSigns // Nc × P in {−1, 0, +1}; nil when C is nil

	Signs []float64 // output sign of each copy: {+1, −1} (ReLU) or {+1} (gated)
	Cost  Cost

	// Gates (H × P), optional: the generator of each pattern (a point of its cone).
	Gates *mat.Dense

	// Meta is free-form per-family data a recovery needs (window index, pool kind...).
	Meta map[string]any
}

// Patterns returns P, the number of patterns of f.
func (f *Family) Patterns() int {
	if f.Weight == nil {
		return 0
	}
	_, p := f.Weight.Dims()
	return p
}

// AddPattern appends one pattern to f: its Weight column (length Np, entries 0 or the
// row weight), its Sign column (length Nc, entries −1/0/+1; nil for a family without C)
// and its gate (length H; nil leaves a zero column when f has Gates). It is
// AddPatterns with one pattern.
func (f *Family) AddPattern(weight, sign, gate []float64) error {
	return f.AddPatterns([][]float64{weight}, [][]float64{sign}, [][]float64{gate})
}

// AddPatterns appends patterns to f (see AddPattern); gates may be nil. On error f is
// unchanged.
func (f *Family) AddPatterns(weights, signs, gates [][]float64) error {
	k := len(weights)
	if k == 0 {
		return nil
	}
	if len(signs) != k || (gates != nil && len(gates) != k) {
		return fmt.Errorf("convex: AddPatterns: %d weight, %d sign and %d gate columns", k, len(signs), len(gates))
	}
	W := &PatternWeights{Mask: f.Weight.Mask.Clone(), Row: f.Weight.Row}
	var S *ConeSigns
	if f.Sign != nil {
		S = &ConeSigns{On: f.Sign.On.Clone(), Neg: f.Sign.Neg.Clone()}
	}
	for j := 0; j < k; j++ {
		if err := W.AppendCol(weights[j]); err != nil {
			return err
		}
		switch {
		case S != nil && signs[j] == nil:
			return fmt.Errorf("convex: AddPatterns: family %s has cone constraints but pattern %d has no sign column", f.Name, j)
		case S != nil:
			if err := S.AppendCol(signs[j]); err != nil {
				return err
			}
		case signs[j] != nil:
			return fmt.Errorf("convex: AddPatterns: family %s has no cone constraints but pattern %d has a sign column", f.Name, j)
		}
	}
	P := f.Patterns()
	if f.Gates != nil || gates != nil {
		G := mat.NewDense(f.H, P+k, nil)
		if f.Gates != nil {
			G.Slice(0, f.H, 0, P).(*mat.Dense).Copy(f.Gates)
		}
		for j, g := range gates {
			if g == nil {
				continue
			}
			if len(g) != f.H {
				return fmt.Errorf("convex: AddPatterns: gate %d has %d entries, want H = %d", j, len(g), f.H)
			}
			G.SetCol(P+j, g)
		}
		f.Gates = G
	}
	f.Weight, f.Sign = W, S
	return nil
}

// Column is one new pattern of a family (Program.Extend): its Weight column (length
// Np), Sign column (length Nc; nil for a family without C) and gate (length H, or nil).
type Column struct {
	Weight, Sign, Gate []float64
}

// Extend appends cols[f] to family f (AddPatterns) for every family and returns the
// warm start for the grown program: sol's blocks with zero blocks for the new
// patterns (sol may have fewer families or patterns than p; missing ones are zero).
// This is the adaptive mode's column appender. On error the families already
// extended keep their new patterns.
func (p *Program) Extend(sol *Solution, cols [][]Column) (*Solution, error) {
	warm := &Solution{Blocks: make([][]*mat.Dense, len(p.Families))}
	if sol != nil {
		warm.Vars, warm.Bias = sol.Vars, sol.Bias
	}
	for fi, f := range p.Families {
		if fi < len(cols) && len(cols[fi]) > 0 {
			k := len(cols[fi])
			ws, ss, gs := make([][]float64, k), make([][]float64, k), make([][]float64, k)
			for j, c := range cols[fi] {
				ws[j], ss[j], gs[j] = c.Weight, c.Sign, c.Gate
			}
			if err := f.AddPatterns(ws, ss, gs); err != nil {
				return nil, fmt.Errorf("family %d (%s): %w", fi, f.Name, err)
			}
		}
		P := f.Patterns()
		for c := range f.Signs {
			B := mat.NewDense(P, f.H, nil)
			if sol != nil && fi < len(sol.Blocks) && c < len(sol.Blocks[fi]) && sol.Blocks[fi][c] != nil {
				old := sol.Blocks[fi][c]
				r, _ := old.Dims()
				if r > P {
					r = P
				}
				B.Slice(0, r, 0, f.H).(*mat.Dense).Copy(old.Slice(0, r, 0, f.H))
			}
			warm.Blocks[fi] = append(warm.Blocks[fi], B)
		}
	}
	return warm, nil
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

// Cite names the program's section and its docs file, e.g.
// "§4, docs/math/04-cnn-gap.md" (the section alone when Doc is empty).
func (p *Program) Cite() string {
	if p.Doc == "" {
		return p.Section
	}
	return p.Section + ", " + p.Doc
}
