// Package derive owns the compiler's rule table (the rule table of docs/math/12-template.md): it
// recognises a checked model's architecture, derives the matching convex program
// (convex.Program) with its implicit regulariser, and maps a solution back to network
// weights. Each architecture is a Rule registered by its own file.
//
// Pipeline position: ir.Model + dataset ──Derive──▶ convex.Program ──(solve)──▶
// convex.Solution ──Rule.Recover──▶ network.Weights.
package derive

import (
	"context"
	"errors"
	"fmt"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/progress"
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

	// MaxMemory is the memory budget in bytes for the stages that grow with the data
	// (patch extraction, pattern sets, the families built from them): 0 the default
	// of package budget, < 0 none. A stage over it is refused with CodeTooLarge at
	// the construct that sets its size (the conv layer, the patterns statement).
	MaxMemory int64
	// Progress receives the progress of long stages (nil: none); Context ends them
	// early with CodeStopped (nil: never).
	Progress progress.Reporter
	Context  context.Context
}

// patternOptions are the pattern-stage options of in.
func (in *Input) patternOptions() pattern.Options {
	return pattern.Options{MaxMemory: in.MaxMemory, Progress: in.Progress, Context: in.Context}
}

// FamilyBytes estimates the memory of one template family with P patterns, Np
// prediction rows, Nc cone rows and h features: its Weight mask (one bit per row
// and pattern) and its Sign planes (two bits per cone row and pattern), its gates
// (P × h floats), the pattern set it is built from (pattern.SetBytes), and the
// per-row data A, C and pooling weights (floats). Rules check windows ×
// FamilyBytes(largest P) against MaxMemory before they sample or enumerate; a rule
// that stores patterns differently updates this estimate.
func FamilyBytes(P, Np, Nc, h int64) int64 {
	bits := budget.Mul(P, budget.Add(Np, budget.Mul(2, Nc)))
	return budget.Add(bits/8+budget.Mul(P, 16), budget.Floats(P, h), pattern.SetBytes(P, Np, h), budget.Floats(budget.Add(Np, Nc), h+1))
}

// stageError turns the error of a bounded stage into a diagnostic at r: a memory
// budget refusal (CodeTooLarge), an interruption or time limit (CodeStopped), or
// else code with detail. It reports whether err was one of the first two.
func stageError(dl *diag.List, r token.Range, err error, code, detail string) {
	if tl := budget.AsTooLarge(err); tl != nil {
		dl.Errorf(budget.CodeTooLarge, r, tl.Detail(), "%v", tl)
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		why := "interrupted"
		if errors.Is(err, context.DeadlineExceeded) {
			why = "time limit reached"
		}
		dl.Errorf(CodeStopped, r, "The run was stopped before the convex program was built; nothing was solved.", "%s while deriving the program", why)
		return
	}
	dl.Errorf(code, r, detail, "%v", err)
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

	Match func(m *ir.Model) Match
	// Check (optional) runs the checks Build makes before any heavy work — data
	// shape and row counts, labels usable by the loss, β, size estimates against
	// the memory budget — so that `cnnc check` reports them without solving. nil:
	// Precheck says it skipped them.
	Check   func(in *Input) diag.List
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
	CodeNoEquivalent = "F0201"             // the model matches no rule
	CodeEmptyData    = "F0202"             // no samples / no features / non-finite data
	CodeLabels       = "F0203"             // labels unusable for the loss (one class, not ±1)
	CodeBeta         = "F0204"             // β ≤ 0 or not finite
	CodePatterns     = "F0205"             // pattern set refused (exact enumeration too large)
	CodeWidth        = "F0206"             // the optimum needs more neurons than the width allows
	CodeShape        = "F0207"             // data shape does not match the model
	CodeLoss         = "F0208"             // loss not supported by the rule
	CodeTooLarge     = budget.CodeTooLarge // F0209: a stage's size estimate exceeds the memory budget
	CodeStopped      = "F0210"             // interrupted or time limit reached while deriving
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
	if r != FixedOutRule && in.Train.Noise.Given() {
		d.Add(&diag.Diagnostic{Severity: diag.Warning, Code: CodeNoiseUnused, Range: in.Train.Noise.Range,
			Summary: fmt.Sprintf("noise is not used by rule %s", r.Name),
			Detail:  "The noise budget belongs to the fixed-output-weight relaxation (§11, docs/math/11-fixed-output.md); this architecture's program fits the data with its loss and weight decay instead. Remove the statement."})
	}
	if p != nil && p.Doc == "" {
		p.Doc = r.Doc
	}
	return r, p, d
}

// Select returns the first rule whose Match is OK for in.Model, or nil and the
// CodeNoEquivalent diagnostic at the first layer where the model differs from the
// nearest rule.
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
		detail = fmt.Sprintf("The closest supported architecture is %q: input · %s (%s, %s, %s).\nSpecifically: %s differs: %s.",
			best.Name, best.Pattern, best.Theorem, best.Section, best.Doc, where, bestM.Why)
	}
	dl.Errorf(CodeNoEquivalent, rng, detail, "model %s has no convex equivalent", in.Model.Name)
	return nil, dl
}

// Precheck runs every check that needs no solve and no pattern set: the rule
// match (Select) and, with data loaded (in.Data), the rule's Check. skipped says,
// in words, which checks did not run (no data; a rule without Check).
func Precheck(in *Input) (rule *Rule, dl diag.List, skipped []string) {
	rule, dl = Select(in)
	if rule == nil {
		return nil, dl, nil
	}
	switch {
	case in.Data == nil:
		skipped = append(skipped, "the data checks of "+rule.Name+" (no training data loaded)")
	case rule.Check == nil:
		skipped = append(skipped, "the data checks of "+rule.Name+" (the rule has none before building)")
	default:
		dl = append(dl, rule.Check(in)...)
	}
	return rule, dl, skipped
}

// checkScalar is the Check of the scalar-output rules: CheckData and CheckBeta.
func checkScalar(in *Input) diag.List {
	var dl diag.List
	CheckData(in, &dl)
	CheckBeta(in, &dl)
	return dl
}
