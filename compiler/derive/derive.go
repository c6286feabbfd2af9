// Package derive owns the compiler's rule table (the rule table of docs/math/12-template.md): it
// recognises a checked model's architecture, derives the matching convex program
// (convex.Program) with its implicit regulariser, and maps a solution back to network
// weights. Each architecture is a Rule registered by its own file.
//
// Pipeline position: ir.Model + dataset ──Derive──▶ convex.Program ──(solve)──▶
// convex.Solution ──Rule.Recover──▶ network.Weights.
package derive

import (
	"fmt"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/token"
)

// Input is what a rule derives from.
type Input struct {
	File  *ir.File
	Model *ir.Model
	Data  *dataset.Dataset // training data reshaped to the model's input
	Train ir.Train
	// Relaxation selects the relaxation a vector rule's Build writes (RelaxGated or
	// RelaxCopositive; "" is the rule's default). Scalar rules ignore it.
	Relaxation string
}

// Match is how well a rule fits a model: Layers is the number of layers after the
// input that agree with the rule; Differs is the first layer that does not (nil on a
// full match) and Why says how it differs ("expected relu, found maxpool").
type Match struct {
	OK      bool
	Layers  int
	Differs *ir.Layer
	Why     string
}

// Rule is one row of the rule table.
type Rule struct {
	Name    string // short id, e.g. "fc-relu"
	Section string // section of the project's mathematics, e.g. "§2"
	Doc     string // the file of docs/ that documents it, e.g. "docs/math/02-fc-relu.md"
	Theorem string // e.g. "two-layer ReLU, Pilanci & Ergen 2020"
	Pattern string // the architecture in .cnn words, e.g. "linear auto · relu · linear 1"

	Match   func(m *ir.Model) Match
	Build   func(in *Input) (*convex.Program, diag.List)
	Recover func(in *Input, p *convex.Program, s *convex.Solution) (*network.Weights, error)

	// Vector is set for vector-output rules (§10, vector.go): their program is a
	// convex.VectorProgram solved by the vector pipeline (compiler/train); Build then
	// writes the convex relaxation that has a conic form (for export and the conic
	// solver), and Recover is unused.
	Vector *VectorRule
}

var rules []*Rule

// Register adds a rule to the table (called from init in each rule's file).
func Register(r *Rule) { rules = append(rules, r) }

// Rules returns the registered rules in registration order.
func Rules() []*Rule { return rules }

// Diagnostic codes of the formulation phase shared by every rule.
const (
	CodeNoEquivalent = "F0201" // the model matches no rule
	CodeEmptyData    = "F0202" // no samples / no features / non-finite data
	CodeLabels       = "F0203" // labels unusable for the loss (one class, not ±1)
	CodeBeta         = "F0204" // β ≤ 0 or not finite
	CodePatterns     = "F0205" // pattern set refused (exact enumeration too large)
	CodeWidth        = "F0206" // the optimum needs more neurons than the width allows
	CodeShape        = "F0207" // data shape does not match the model
	CodeLoss         = "F0208" // loss not supported by the rule
)

// Derive picks the first rule whose Match is OK and builds its program. When no rule
// matches it reports, in the spirit of CVXPY's DCP errors, the nearest rule (the one
// whose Match agrees on the most layers) and the first layer where the model differs.
func Derive(in *Input) (*Rule, *convex.Program, diag.List) {
	r, dl := Select(in)
	if r == nil {
		return nil, nil, dl
	}
	p, d := r.Build(in)
	if p != nil && p.Doc == "" {
		p.Doc = r.Doc
	}
	return r, p, d
}

// Select is Derive's matching half: the first rule whose Match is OK, or the
// "no convex equivalent" diagnostic naming the nearest rule. It builds nothing.
func Select(in *Input) (*Rule, diag.List) {
	var dl diag.List
	if in == nil || in.Model == nil || len(in.Model.Layers) == 0 {
		dl.Errorf(CodeNoEquivalent, token.Range{}, "", "no model to derive a convex program from")
		return nil, dl
	}
	var best *Rule
	var bestM Match
	for _, r := range rules {
		m := r.Match(in.Model)
		if m.OK {
			return r, nil
		}
		if best == nil || m.Layers > bestM.Layers {
			best, bestM = r, m
		}
	}
	rng := in.Model.Range
	detail := "cnnc knows no convex reformulation of this architecture (the rule table of docs/math/12-template.md lists the supported ones)."
	if best != nil {
		where := "the model ends early"
		if bestM.Differs != nil {
			rng = bestM.Differs.Range
			where = fmt.Sprintf("layer %d (%s)", bestM.Differs.Index, bestM.Differs.Kind)
		}
		detail = fmt.Sprintf("The closest supported architecture is %q: input · %s (%s, %s).\nSpecifically: %s differs: %s.",
			best.Name, best.Pattern, best.Theorem, best.Section, where, bestM.Why)
	}
	dl.Errorf(CodeNoEquivalent, rng, detail, "model %s has no convex equivalent", in.Model.Name)
	return nil, dl
}
