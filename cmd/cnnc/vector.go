package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/train"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// bracketReport is report.json's "bracket" of a vector-output model
// (docs/math/10-vector-output.md): lower ≤ optimum over lower_scope ≤ upper.
type bracketReport struct {
	Lower       *float64 `json:"lower"`        // certified dual bound
	Upper       *float64 `json:"upper"`        // recovered network's objective, from weights.json
	RelGap      *float64 `json:"rel_gap"`      // (upper − lower)/|upper|
	LowerScope  string   `json:"lower_scope"`  // what lower bounds
	LowerSource string   `json:"lower_source"` // which computation gave it
	Global      bool     `json:"global"`       // lower bounds the global optimum
	GlobalLower *float64 `json:"global_lower"` // enumeration-free bound on the global optimum (sampled path)
	BMBound     *float64 `json:"bm_bound"`     // Burer–Monteiro optimality bound (ρ̄/β − 1)₊ over lower_scope
	Method      string   `json:"method"`
	Copositive  string   `json:"copositive"`
}

// relaxationReport is one conic relaxation solved on request (solver conic).
type relaxationReport struct {
	Name   string   `json:"name"`
	Value  *float64 `json:"value"`
	Dual   *float64 `json:"dual"`
	Status string   `json:"status"`
	Scope  string   `json:"scope"`
}

// addVector fills the vector-output fields of r from the outcome.
func addVector(r *report, p *prepared, out *train.Outcome) {
	v := out.Vector
	r.Regularizer = v.Program.Regularizer
	r.Bracket = &bracketReport{
		Lower: num(v.Lower), Upper: num(v.Upper), RelGap: num(v.RelGap),
		LowerScope: v.LowerScope, LowerSource: v.LowerSource, Global: v.Global,
		GlobalLower: num(v.GlobalLower), BMBound: num(v.BMBound), Method: v.Method, Copositive: v.Copositive,
	}
	r.Gap = num(v.Upper - v.Lower)
	for _, rv := range v.Relaxations {
		r.Relaxations = append(r.Relaxations, relaxationReport{Name: rv.Name, Value: num(rv.Value), Dual: num(rv.Dual), Status: string(rv.Status), Scope: rv.Scope})
	}
	r.Notes = append(r.Notes, v.Notes...)
	r.Outputs = v.Program.C
	if p.train != nil && p.train.Classification {
		r.Classes = append([]int(nil), p.train.Classes...)
		r.ConfusionTrain = confusion(p.model, out.Weights, p.train)
		if p.test != nil {
			r.ConfusionTest = confusion(p.model, out.Weights, p.test)
		}
	}
}

// confusion is the confusion matrix of w on ds (rows: true class, columns: predicted,
// in the order of the data's classes), nil when it cannot be computed.
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

// printVector writes the vector-output lines of the summary.
func printVector(w io.Writer, r *report) {
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

// printConfusion writes a confusion matrix with the user's class labels.
func printConfusion(w io.Writer, title string, classes []int, M [][]int) {
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

// classLabel is the user's label of predicted class index k of ds (Predict's
// convention: argmax column, or ±1 for one output), or k itself.
func classLabel(ds *dataset.Dataset, outputs, k int) string {
	if ds == nil || !ds.Classification || len(ds.Classes) == 0 {
		return fmt.Sprint(k)
	}
	if outputs == 1 && len(ds.Classes) == 2 {
		if k > 0 {
			return fmt.Sprint(ds.Classes[1])
		}
		return fmt.Sprint(ds.Classes[0])
	}
	if k >= 0 && k < len(ds.Classes) {
		return fmt.Sprint(ds.Classes[k])
	}
	return fmt.Sprint(k)
}
