// Package cvxpy owns the CVXPY exporter: it writes a convex program (the convex IR of
// backend/convex, not the conic matrix) as a readable, self-contained Python script
// plus an .npz file of its data, so that users can solve it with any solver CVXPY
// reaches (SCS by default; CVXOPT, MOSEK, CLARABEL, … on the command line), see the
// optimum on the docs/language.md scale, and get the recovered network as weights.json.
//
// Pipeline position: compiler/derive ──convex.Program──▶ cvxpy.Write ──▶ NAME.py + NAME.npz.
//
// The script needs Python ≥ 3.9, NumPy ≥ 1.24, SciPy (a CVXPY dependency) and CVXPY ≥ 1.4.
// Families are written in vectorised form (one CVXPY variable of shape P×H per copy),
// which is the same math as the per-pattern form in the docstring and builds far faster.
package cvxpy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/cnnc-org/cnnc/backend/convex"
	"gonum.org/v1/gonum/mat"
)

// Recipe says how the script turns a solution into weights.json (docs/cli.md). It is
// filled by the caller from the model and the rule (cmd/cnnc/cvxrecipe.go); the
// exporter does not look at the network. The script's recover() mirrors the Go
// recoveries of compiler/derive exactly (same tensor names, shapes, penalties, zero
// thresholds and unit order), so its weights.json has the same objective as the one
// `cnnc solve` writes from the same solution.
//
// Every hidden unit j is a pair (u_j, w_j): u_j its incoming weights (the hidden
// layer's bias last when HiddenBias) and w_j ∈ R^Slots its outgoing weights. The
// script writes L<Hidden>.weight [m]+HiddenShape, L<Hidden>.bias [m] (when
// HiddenBias), L<GateLayer>.gates/.gate_bias (when Gated), L<Output>.weight
// [1, m·Slots] with entry j·Slots + l = w_{jl} under OutputPenalty, and
// L<Output>.bias [1] (unpenalised) when the program has an output bias.
type Recipe struct {
	Model  string           `json:"model"`
	Beta   float64          `json:"beta"`
	Loss   string           `json:"loss"`
	Layers []map[string]any `json:"layers"` // weights.json "layers"; the script fills the hidden width

	// Family programs (§2–§6, §7.1): every block x of copy sign s, pattern p and
	// pooling window l with ‖x‖ > ZeroTol·max_b‖x_b‖ becomes one unit with
	// u = x/√‖x‖ and w = s·√‖x‖·e_l (§1.3; fc.go and cnn.go recoveries).
	Hidden      int   `json:"hidden"`       // hidden layer index (L<Hidden>.weight)
	HiddenShape []int `json:"hidden_shape"` // tensor shape of one unit's incoming weights, e.g. [1,4,4] or [D]
	HiddenBias  bool  `json:"hidden_bias"`
	Gated       bool  `json:"gated"` // write L<GateLayer>.gates from the pattern gates
	GateLayer   int   `json:"gate_layer"`
	Output      int   `json:"output"` // output layer index (L<Output>.weight)
	Slots       int   `json:"slots"`  // output features per hidden unit (pooled positions), ≥ 1
	// OutputPenalty is "l2" or "l1sq" (§5.2, several pooling windows).
	OutputPenalty string  `json:"output_penalty"`
	ZeroTol       float64 `json:"zero_tol"` // blocks with ‖x‖ ≤ ZeroTol·max‖x‖ are dropped
	// MaxUnits is the declared hidden width (0: auto); more active units is an error
	// (the reformulation is exact only when the width allows every active unit).
	MaxUnits int `json:"max_units"`
	// EmptyUnit: with no active unit write one zero unit (the CNN rules' convention,
	// so the network stays well-formed); otherwise write width 0 (the FC rules').
	EmptyUnit bool `json:"empty_unit"`

	// Generic programs (§7.2, §7.3): how units come from the generic variable.
	Generic *GenericRecipe `json:"generic,omitempty"`

	// Three-layer programs (§8, §9b): every block becomes one branch (ThreeRecipe);
	// the fields above are then unused.
	Three *ThreeRecipe `json:"three,omitempty"`

	// Unsupported, when set, says why the script cannot recover weights: it still
	// solves and prints the optimum, then exits with this message (status 4).
	Unsupported string `json:"unsupported,omitempty"`
}

// GenericRecipe is the recovery of a program without families.
//
//   - Kind "nuclear" (§7.2, and §7.3's short-filter fallback): SVD of the matrix
//     variable Var, Z = Σ_t σ_t a_t b_tᵀ; every σ_t > Tol·σ_max gives a unit
//     u = √σ_t a_t, w = √σ_t b_t.
//   - Kind "fourier" (§7.3): Var is ζ = [Re ζ, Im ζ] (d×2); for each frequency pair
//     (k, d−k), k ≤ d/2, with |ζ_k| > Tol·max_k|ζ_k| (ζ_k averaged with
//     conj ζ_{d−k}), one unit with |û_k| = ŵ_k = √(|ζ_k|/√d), arg û_k =
//     arg conj ζ_k − 2πkP/d (P = Padding, the circular conv's left padding),
//     u = Fᴴû, w = Fᴴŵ (compiler/derive/linear_cnn.go).
type GenericRecipe struct {
	Rule    string  `json:"rule"` // the derive rule, for messages
	Kind    string  `json:"kind"` // "nuclear" or "fourier"
	Var     string  `json:"var"`  // the variable's name in the script
	Tol     float64 `json:"tol"`
	Padding int     `json:"padding"` // fourier: P = ⌊(d−1)/2⌋
}

// ThreeRecipe is the recovery of a three-layer program (compiler/derive circ3.go and
// threelayer.go): every block x whose cost R(x) exceeds Tol·max R (path ‖x‖₂, group
// Σ_j‖x_j‖₂, circ3 ‖F x‖₁/√d) becomes one branch in balanced form.
//
//   - Kind "pairs" (§9b): x has M1 slots of H entries (bias last); with family signs
//     s (Signs[family key]) and copy sign σ: path w1_j = x_j/‖x_j‖, w2_j =
//     s_j‖x_j‖/√‖x‖, w3 = σ√‖x‖; group w1_j = (x_j/‖x_j‖)√(‖x_j‖/S), w2_j = s_j√‖x_j‖,
//     w3 = σ√S (S = Σ_j‖x_j‖); zero slots get zero weights.
//   - Kind "circ3" (§8): x is an effective filter v of length d = H; c = √R,
//     û = F(v/c), (F a′)_k = √(|û_k|/‖û‖₁), (F b)_k = û_k/(√d (F a′)_k), the filter
//     a[s] = a′[(s − Padding) mod d], w3 = σc.
//
// Tensors: L<First>.weight [K·M1]+FirstShape (and L<First>.bias [K·M1] when
// FirstBias), L<Second>.weight [K, K·M1·SecondCols] block-diagonal, L<Output>.weight
// [1, K] — all with penalty Regularizer — and the unpenalised output bias; layers
// First and Second get "branches": K. With fewer active blocks than MaxBranches (a
// declared K) zero branches pad; with none, one zero branch.
type ThreeRecipe struct {
	Kind        string               `json:"kind"`        // "pairs" or "circ3"
	Regularizer string               `json:"regularizer"` // "path" or "group"
	M1          int                  `json:"m1"`
	H           int                  `json:"h"`
	Signs       map[string][]float64 `json:"signs,omitempty"`
	First       int                  `json:"first"`
	Second      int                  `json:"second"`
	Output      int                  `json:"output"`
	FirstShape  []int                `json:"first_shape"`
	FirstBias   bool                 `json:"first_bias"`
	SecondCols  int                  `json:"second_cols"` // inputs of the second layer per first-layer unit
	MaxBranches int                  `json:"max_branches"`
	Tol         float64              `json:"tol"`
	Padding     int                  `json:"padding"` // circ3: ⌊(d−1)/2⌋
}

// Three-layer recovery kinds.
const (
	KindPairs = "pairs"
	KindCirc3 = "circ3"
)

// FamilyKey is the script's key of family fi ("f0_", "f1_", …; BLOCKS and the data
// arrays use it).
func FamilyKey(fi int) string { return fmt.Sprintf("f%d_", fi) }

// Generic recovery kinds.
const (
	KindNuclear = "nuclear"
	KindFourier = "fourier"
)

// Write writes the script to script and the data it loads to data (an .npz whose
// file name the script expects as dataName, relative to the script's folder).
func Write(script, data io.Writer, dataName string, p *convex.Program, r *Recipe) error {
	if p.Anchored != nil {
		return writeAnchored(script, data, dataName, p, r)
	}
	arrays := map[string]Array{
		"y":    {Shape: []int{len(p.Y)}, Data: append([]float64(nil), p.Y...)},
		"beta": {Shape: []int{}, Data: []float64{p.Beta}},
	}
	var fams []famView
	for fi, f := range p.Families {
		if f.Cost.Kind != convex.CostL2 && f.Cost.Kind != convex.CostMaps {
			return fmt.Errorf("family %s: unsupported cost kind", f.Name)
		}
		key := fmt.Sprintf("f%d_", fi)
		arrays[key+"A"] = dense(f.A)
		arrays[key+"Weight"] = denseOr(f.Weight.Dense(), f.Weight)
		smp := make([]float64, len(f.Sample))
		for i, s := range f.Sample {
			smp[i] = float64(s)
		}
		arrays[key+"sample"] = Array{Shape: []int{len(smp)}, Data: smp}
		fv := famView{Key: key, Name: f.Name, H: f.H, P: f.Patterns(), HasC: f.C != nil, Window: window(f)}
		if f.C != nil {
			arrays[key+"C"] = dense(f.C)
			arrays[key+"Sign"] = denseOr(f.Sign.Dense(), f.Sign)
		}
		if f.Gates != nil {
			arrays[key+"gates"] = dense(f.Gates)
			fv.HasGates = true
		}
		for c, s := range f.Signs {
			fv.Copies = append(fv.Copies, copyView{Var: CopyName(p, fi, c), Sign: s})
		}
		if f.Cost.Kind == convex.CostMaps {
			for j, T := range f.Cost.Maps {
				arrays[fmt.Sprintf("%sT%d", key, j)] = dense(T)
			}
			fv.Maps = len(f.Cost.Maps)
			fv.MapWeights = f.Cost.Weights
		}
		fams = append(fams, fv)
	}
	var gens []genView
	for _, v := range p.Vars {
		gens = append(gens, genView{Name: pyName(v.Name), Shape: v.Shape})
	}
	if r == nil {
		return fmt.Errorf("no recovery recipe")
	}
	var terms []string
	for i, t := range p.Terms {
		k := fmt.Sprintf("term%d", i)
		arrays[k] = dense(t.Op)
		terms = append(terms, fmt.Sprintf("data[%q] @ cp.vec(%s)", k, pyName(t.Var.Name)))
	}
	var pens []string
	for i, pen := range p.Penalties {
		switch pen.Kind {
		case convex.Nuclear:
			pens = append(pens, fmt.Sprintf("cp.normNuc(%s)", pyName(pen.Var.Name)))
		case convex.CopositiveNuclear:
			k := fmt.Sprintf("pen%d_K", i)
			arrays[k] = dense(pen.Maps[0])
			pens = append(pens, fmt.Sprintf("copositive_nuclear(%s, data[%q], constraints)", pyName(pen.Var.Name), k))
		case convex.Norms:
			for j, M := range pen.Maps {
				k := fmt.Sprintf("pen%d_%d", i, j)
				arrays[k] = dense(M)
				pens = append(pens, fmt.Sprintf("%s * cp.norm(data[%q] @ cp.vec(%s), 2)", pyFloat(pen.Weights[j]), k, pyName(pen.Var.Name)))
			}
		default:
			return fmt.Errorf("unsupported penalty kind %d", pen.Kind)
		}
	}
	var cons []consView
	for i, c := range p.Constraints {
		k := fmt.Sprintf("con%d", i)
		arrays[k] = dense(c.Op)
		expr := fmt.Sprintf("data[%q] @ cp.vec(%s)", k, pyName(c.Var.Name))
		if c.Const != nil {
			arrays[k+"_const"] = Array{Shape: []int{len(c.Const)}, Data: c.Const}
			expr += fmt.Sprintf(" + data[%q]", k+"_const")
		}
		op := "== 0"
		if c.Kind == convex.NonNeg {
			op = ">= 0"
		}
		cons = append(cons, consView{Expr: expr + " " + op, Why: c.Why})
	}
	recipe, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	view := scriptView{
		P: p, Families: fams, Generic: gens, Terms: terms, Penalties: pens, Constraints: cons,
		DataName: dataName, Recipe: string(recipe), Math: mathDoc(p),
	}
	var buf bytes.Buffer
	if err := scriptTmpl.Execute(&buf, view); err != nil {
		return err
	}
	if _, err := script.Write(buf.Bytes()); err != nil {
		return err
	}
	return WriteNPZ(data, arrays)
}

// CopyName is the script's variable name of copy c of family fi of p: "v" for an
// output sign +1 and "w" for −1, followed by fi when p has several families (v0, w0,
// v1, …). Generic variables keep their program names (made Python identifiers) and
// the output bias is "b".
func CopyName(p *convex.Program, fi, c int) string {
	name := "v"
	if p.Families[fi].Signs[c] < 0 {
		name = "w"
	}
	if len(p.Families) > 1 {
		name = fmt.Sprintf("%s%d", name, fi)
	}
	return name
}

// WriteSolution writes a solution of p as an .npz that the script reads with
// `--solution FILE` (recovering weights.json without CVXPY): one array per script
// variable — P×H for family copies (row p is x_{f,s,p}), the variable's shape for
// generic variables (vec column-major in s.Vars, so entry (i, j) is x[j·rows + i]),
// and a 0-d "b" for the output bias.
func WriteSolution(w io.Writer, p *convex.Program, s *convex.Solution) error {
	if s == nil {
		return fmt.Errorf("no solution")
	}
	if p.Anchored != nil {
		return writeAnchoredSolution(w, p, s)
	}
	arrays := map[string]Array{}
	for fi, f := range p.Families {
		for c := range f.Signs {
			var B *mat.Dense
			if fi < len(s.Blocks) && c < len(s.Blocks[fi]) {
				B = s.Blocks[fi][c]
			}
			P := f.Patterns()
			a := Array{Shape: []int{P, f.H}, Data: make([]float64, P*f.H)}
			if B != nil {
				if r, k := B.Dims(); r != P || k != f.H {
					return fmt.Errorf("family %s copy %d: block matrix is %d×%d, want %d×%d", f.Name, c, r, k, P, f.H)
				}
				a = dense(B)
			}
			arrays[CopyName(p, fi, c)] = a
		}
	}
	for _, v := range p.Vars {
		x, ok := s.Vars[v.Name]
		if !ok || len(x) != v.Size() {
			return fmt.Errorf("solution has no %d-entry variable %s", v.Size(), v.Name)
		}
		a := Array{Shape: append([]int(nil), v.Shape...), Data: make([]float64, len(x))}
		if len(v.Shape) == 2 {
			rows, cols := v.Shape[0], v.Shape[1]
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					a.Data[i*cols+j] = x[j*rows+i] // column-major vec → C order
				}
			}
		} else {
			copy(a.Data, x)
		}
		arrays[pyName(v.Name)] = a
	}
	if p.OutputBias {
		arrays["b"] = Array{Shape: []int{}, Data: []float64{s.Bias}}
	}
	return WriteNPZ(w, arrays)
}

type copyView struct {
	Var  string
	Sign float64
}

type famView struct {
	Key, Name  string
	H, P       int
	HasC       bool
	HasGates   bool
	Window     int
	Copies     []copyView
	Maps       int
	MapWeights []float64
}

type consView struct{ Expr, Why string }

type genView struct {
	Name  string
	Shape []int
}

type scriptView struct {
	P           *convex.Program
	Families    []famView
	Generic     []genView
	Terms       []string
	Penalties   []string
	Constraints []consView
	DataName    string
	Recipe      string
	Math        string
}

func window(f *convex.Family) int {
	if w, ok := f.Meta["window"].(int); ok {
		return w
	}
	return 0
}

// denseOr is dense(m), or an all-zero array of d's shape when m is nil (no patterns).
func denseOr(m *mat.Dense, d interface{ Dims() (int, int) }) Array {
	if m == nil {
		r, c := d.Dims()
		return Array{Shape: []int{r, c}, Data: make([]float64, r*c)}
	}
	return dense(m)
}

func dense(m *mat.Dense) Array {
	r, c := m.Dims()
	data := make([]float64, 0, r*c)
	for i := 0; i < r; i++ {
		data = append(data, m.RawRowView(i)...)
	}
	return Array{Shape: []int{r, c}, Data: data}
}

func pyName(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9'):
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

func pyFloat(v float64) string { return fmt.Sprintf("%.17g", v) }

// mathDoc is the program in math notation for the script's docstring.
func mathDoc(p *convex.Program) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)\n", p.Theorem, p.Cite())
	if p.Regularizer != "" {
		fmt.Fprintf(&b, "Implicit regulariser: %s\n", p.Regularizer)
	}
	b.WriteString("\n    minimize  ")
	switch p.Loss {
	case "hinge":
		b.WriteString("Σᵢ (1 − yᵢ ŷᵢ)₊")
	case "logistic":
		b.WriteString("Σᵢ log(1 + exp(−yᵢ ŷᵢ))")
	default:
		b.WriteString("½ ‖ŷ − y‖²")
	}
	b.WriteString(" + β · R\n")
	for _, f := range p.Families {
		fmt.Fprintf(&b, "    family %s: %d patterns, blocks of size %d; ŷ += Σ_p Σ_s s·𝒫_p x_{s,p}", f.Name, f.Patterns(), f.H)
		if f.C != nil {
			b.WriteString(", 𝒞_p x_{s,p} ≥ 0 (activation-pattern cones)")
		}
		b.WriteString("; R += Σ ‖x_{s,p}‖₂\n")
	}
	return b.String()
}

var scriptTmpl = template.Must(template.New("script").Funcs(template.FuncMap{
	"py": pyFloat,
	"shape": func(s []int) string {
		parts := make([]string, len(s))
		for i, v := range s {
			parts[i] = fmt.Sprint(v)
		}
		if len(s) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	},
}).Parse(scriptSource))
