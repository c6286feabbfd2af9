package cnnc

import (
	"fmt"
	"io"
	"strings"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/train"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// Vector outputs (multiclass networks, docs/math/10-vector-output.md): their exact
// convex program is copositive, so a solve returns a bracket instead of one
// certified optimum. This file adds it to the report and the summary and describes
// the program for `cnnc explain`.

// Bracket is report.json's "bracket" of a vector-output model: lower ≤ the optimum
// over LowerScope ≤ upper.
type Bracket struct {
	Lower       *float64 `json:"lower"`        // certified dual bound
	Upper       *float64 `json:"upper"`        // the recovered network's objective, from weights.json
	RelGap      *float64 `json:"rel_gap"`      // (upper − lower)/|upper|
	LowerScope  string   `json:"lower_scope"`  // what lower bounds
	LowerSource string   `json:"lower_source"` // which computation gave it
	Global      bool     `json:"global"`       // lower bounds the global optimum of the training problem
	GlobalLower *float64 `json:"global_lower"` // enumeration-free bound on the global optimum (sampled path)
	BMBound     *float64 `json:"bm_bound"`     // Burer–Monteiro optimality bound (ρ̄/β − 1)₊ over lower_scope
	Method      string   `json:"method"`
	Copositive  string   `json:"copositive"`
}

// RelaxationReport is a conic relaxation solved on request (solver conic).
type RelaxationReport struct {
	Name   string   `json:"name"`
	Value  *float64 `json:"value"`
	Dual   *float64 `json:"dual"` // the conic solver's dual objective: not a certified bound
	Status string   `json:"status"`
	Scope  string   `json:"scope"`
}

// addVector fills the vector-output fields of r.
func (p *Problem) addVector(r *Report, out *train.Outcome) {
	v := out.Vector
	r.Regularizer = v.Program.Regularizer
	r.Bracket = &Bracket{
		Lower: Num(v.Lower), Upper: Num(v.Upper), RelGap: Num(v.RelGap),
		LowerScope: v.LowerScope, LowerSource: v.LowerSource, Global: v.Global,
		GlobalLower: Num(v.GlobalLower), BMBound: Num(v.BMBound), Method: v.Method, Copositive: v.Copositive,
	}
	r.Gap = Num(v.Upper - v.Lower)
	for _, rv := range v.Relaxations {
		r.Relaxations = append(r.Relaxations, RelaxationReport{Name: rv.Name, Value: Num(rv.Value), Dual: Num(rv.Dual), Status: string(rv.Status), Scope: rv.Scope})
	}
	r.Notes = append(r.Notes, v.Notes...)
	r.Outputs = v.Program.C
	if p.Data != nil && p.Data.Classification {
		r.Classes = append([]int(nil), p.Data.Classes...)
		r.ConfusionTrain = confusion(p.Model, out.Weights, p.Data)
		r.ConfusionTest = confusion(p.Model, out.Weights, p.Test)
	}
}

// confusion is the confusion matrix of w on ds (rows: true class, columns: predicted,
// in the order of the data's classes); nil when it cannot be computed.
func confusion(m *ir.Model, w *network.Weights, ds *dataset.Dataset) [][]int {
	if ds == nil || !ds.Classification {
		return nil
	}
	yhat, err := network.Forward(m, w, ds.X)
	if err != nil {
		return nil
	}
	c, err := network.Confusion(yhat, ds.Y)
	if err != nil {
		return nil
	}
	return c
}

// writeVector writes the vector-output lines of the summary.
func (r *Report) writeVector(w io.Writer) {
	b := r.Bracket
	fmt.Fprintf(w, "bracket     %s ≤ optimum ≤ %s  relative gap %s\n", fmtNum(b.Lower), fmtNum(b.Upper), fmtNum(b.RelGap))
	fmt.Fprintf(w, "  lower     %s; it bounds %s\n", b.LowerSource, b.LowerScope)
	fmt.Fprintf(w, "  upper     loss + weight decay of the recovered network, from its weights\n")
	if b.GlobalLower != nil && !b.Global {
		fmt.Fprintf(w, "  global    %s ≤ global optimum (enumeration-free bound)\n", fmtNum(b.GlobalLower))
	}
	if b.BMBound != nil {
		fmt.Fprintf(w, "  BM bound  (ρ̄/β − 1)₊ = %s at the recovered network\n", fmtNum(b.BMBound))
	}
	fmt.Fprintf(w, "  method    %s\n", b.Method)
	fmt.Fprintf(w, "  exact     %s\n", b.Copositive)
	for _, rv := range r.Relaxations {
		fmt.Fprintf(w, "relaxation  %s = %s (%s; solver dual %s, not a certified bound) over %s\n", rv.Name, fmtNum(rv.Value), rv.Status, fmtNum(rv.Dual), rv.Scope)
	}
}

// writeConfusion writes a confusion matrix with the data's class labels.
func writeConfusion(w io.Writer, title string, classes []int, M [][]int) {
	if len(M) == 0 {
		return
	}
	label := func(i int) string {
		if len(classes) == len(M) {
			return fmt.Sprint(classes[i])
		}
		return fmt.Sprint(i)
	}
	fmt.Fprintf(w, "%s (rows: true class, columns: predicted)\n", title)
	var sb strings.Builder
	sb.WriteString("        ")
	for j := range M {
		fmt.Fprintf(&sb, "%6s", label(j))
	}
	fmt.Fprintln(w, sb.String())
	for i, row := range M {
		sb.Reset()
		fmt.Fprintf(&sb, "  %6s", label(i))
		for _, c := range row {
			fmt.Fprintf(&sb, "%6d", c)
		}
		fmt.Fprintln(w, sb.String())
	}
}

// VectorRule returns the rule of a vector-output model (linear C, C ≥ 2) and its
// program, or a nil rule when the model has a scalar output (use Derive then). The
// training data are loaded first.
func (p *Problem) VectorRule() (*derive.Rule, *convex.VectorProgram, error) {
	if err := p.LoadData(); err != nil {
		return nil, nil, err
	}
	rule, _ := derive.Select(p.Input())
	if rule == nil || rule.Vector == nil {
		return nil, nil, nil
	}
	vp, dl := rule.Vector.Build(p.Input())
	if err := p.report(dl); err != nil {
		return nil, nil, err
	}
	return rule, vp, nil
}

// DescribeVector writes the program of a vector-output model in mathematical
// notation (for `cnnc explain`): the non-convex problem, the exact (copositive)
// program, the relaxations and what each bounds, the path `cnnc solve` takes with
// this train block and what its lower bound bounds, the export, and the sizes.
func (p *Problem) DescribeVector(w io.Writer, rule *derive.Rule, vp *convex.VectorProgram) {
	unit := "φ(u)ᵢ = (xᵢ·u)₊"
	if cnn, _ := vp.Meta["cnn"].(bool); cnn {
		unit = "φ(u)ᵢ = (1/K) Σₖ (xᵢₖ·u)₊ (K patches per sample, global average pooling)"
	}
	if vp.Gated {
		unit = strings.Replace(unit, "(xᵢ·u)₊", "1[xᵢ·g > 0]·(xᵢ·u)", 1)
		unit = strings.Replace(unit, "(xᵢₖ·u)₊", "1[xᵢₖ·g > 0]·(xᵢₖ·u)", 1)
		unit += ", g the unit's fixed gate"
	}
	loss := "½‖Ŷ − Y‖²"
	if vp.Loss == convex.LossCrossEntropy {
		loss = "Σᵢ (log Σₖ e^{ŷᵢₖ} − yᵢ·ŷᵢ) (softmax cross-entropy)"
	}
	bias := ""
	if vp.OutputBias {
		bias = " + 1bᵀ"
	}
	fmt.Fprintf(w, "model %s: %s (%s, %s)\n\n", vp.Model, vp.Theorem, rule.Section, rule.Doc)
	fmt.Fprintf(w, "  non-convex   min  F(Σⱼ φ(uⱼ) gⱼᵀ%s) + (β/2) Σⱼ (‖uⱼ‖² + ‖gⱼ‖²),  F = %s,  β = %g\n", bias, loss, vp.Beta)
	fmt.Fprintf(w, "               with %s, uⱼ ∈ R^%d (bias last when the hidden layer has one), gⱼ ∈ R^%d\n", unit, vp.H, vp.C)
	if vp.Gated {
		fmt.Fprintf(w, "  exact        min  F(Σ_p F_p Z_p%s) + β Σ_p ‖Z_p‖_*  over the %d gates' patterns: relaxation (a) is the\n", bias, vp.Patterns())
		fmt.Fprintf(w, "               exact program of a gated network (an SDP: one nuclear norm per gate)\n")
	} else {
		fmt.Fprintf(w, "  exact        min  F(Σ_p F_p Z_p%s) + β Σ_p ‖Z_p‖_{*,𝒦_p}  over every activation pattern p: a copositive\n", bias)
		fmt.Fprintf(w, "               program (the cone-constrained nuclear norm's dual constraint is copositivity over a\n")
		fmt.Fprintf(w, "               polyhedral cone): NP-hard in general, polynomial for a fixed data rank or filter size\n")
		fmt.Fprintf(w, "  relaxations  (a) β Σ_p ‖Z_p‖_* (cone constraints dropped): ≤ the ReLU program over the same patterns\n")
		fmt.Fprintf(w, "               (b) copositive / doubly nonnegative: [[W₁, Z_p],[Z_pᵀ, W₂]] ⪰ 0, 𝒦_p W₁ 𝒦_pᵀ ≥ 0: between (a) and exact\n")
	}
	switch {
	case vp.Gated:
		fmt.Fprintf(w, "  cnnc solve   relaxation (a) by Burer–Monteiro/FISTA; the bracket [dual bound, recovered gated network]\n")
		fmt.Fprintf(w, "               bounds the global optimum of the gated network with these gates\n")
	case p.Train.Patterns.Mode == ir.Exact:
		fmt.Fprintf(w, "  cnnc solve   column generation (fully corrective Frank–Wolfe) with the exact cone-constrained PCA oracle\n")
		fmt.Fprintf(w, "               over every face of the arrangement: the lower bound bounds the global optimum of the\n")
		fmt.Fprintf(w, "               non-convex problem, the upper bound is the recovered network's objective\n")
	default:
		fmt.Fprintf(w, "  cnnc solve   relaxation (a) over the %d sampled patterns, Frank–Wolfe growth, Burer–Monteiro refinement:\n", vp.Patterns())
		fmt.Fprintf(w, "               the lower bound bounds only networks whose units' activation patterns lie in the sampled\n")
		fmt.Fprintf(w, "               set (plus the recovered units' own), not the global optimum; an enumeration-free bound\n")
		fmt.Fprintf(w, "               on the global optimum is reported too (usually weak); use `patterns exact` on small data\n")
	}
	rel := "relaxation (b)"
	if derive.VectorRelaxation(p.Input(), vp) == convex.RelaxGated {
		rel = "relaxation (a)"
		if !vp.Gated && p.Relaxation == "" {
			rel += " ((b) would be too large here)"
		}
	}
	fmt.Fprintf(w, "  export       `cnnc export` writes %s over the %d patterns (--relaxation gated|copositive)\n", rel, vp.Patterns())
	if vp.Regularizer != "" {
		fmt.Fprintf(w, "\nImplicit regulariser: %s\n", vp.Regularizer)
	}
	np, _ := vp.A.Dims()
	fmt.Fprintf(w, "\nSizes: %d samples, %d outputs, %d rows of A (%d per sample), filters in R^%d, %d patterns\n", vp.N, vp.C, np, np/vp.N, vp.H, vp.Patterns())
}
