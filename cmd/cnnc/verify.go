package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// verifyOptions are the flags of `cnnc verify`.
type verifyOptions struct {
	dataFlags
	weights string
	report  string
	tol     float64
	noCert  bool
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &verifyOptions{}
		cmd := &cobra.Command{
			Use:   "verify FILE --weights W",
			Short: "Recompute the non-convex objective of a weights file and its optimality certificate",
			Long: `Recompute, from the weights alone, the trained network's non-convex objective on
the training data (loss + (β/2)·Σ‖weights‖², the scale of docs/language.md) and, for
the two-layer template architectures, the dual certificate of §1 (docs/math/01-machinery.md)
over the file's pattern set: ρ = max_p max_{u ∈ B₂ ∩ 𝒦_p} |vᵀ𝒫_p u| / β with
v = −∇ℓ(ŷ). ρ ≤ 1 certifies that the network is optimal over that pattern set
(globally optimal when the patterns are exact); otherwise the lower bound g(v/ρ)
bounds the gap.

When a report.json is beside the weights (or given with --report), its
nonconvex_objective must agree to --tol (relative); a disagreement exits 1.
--json prints the same as one JSON document.`,
			Example: "  cnnc verify examples/quickstart.cnn --weights examples/quickstart.out/weights.json",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runVerify(e, o, args[0])
			},
		}
		cmd.Flags().StringVar(&o.weights, "weights", "", "weights.json to verify (required)")
		cmd.Flags().StringVar(&o.report, "report", "", "report.json to compare with (default: report.json beside the weights, if any)")
		cmd.Flags().Float64Var(&o.tol, "tol", 1e-9, "relative tolerance for agreement with the report")
		cmd.Flags().BoolVar(&o.noCert, "no-certificate", false, "skip the dual certificate (only recompute the objective)")
		o.dataFlags.register(cmd)
		addJSON(cmd, e, "print the verification as one JSON document")
		addDeprecatedFormat(cmd, e, "diagnostics")
		return cmd
	})
}

// verifyDoc is verify's --json document.
type verifyDoc struct {
	Model              string         `json:"model"`
	Data               string         `json:"data"`
	NonconvexObjective *float64       `json:"nonconvex_objective"`
	Loss               *float64       `json:"loss"`
	Penalty            *float64       `json:"penalty"`
	TrainAccuracy      *float64       `json:"train_accuracy"`
	Report             *verifyReport  `json:"report"`
	Certificate        *verifyCertDoc `json:"certificate"`
	// ZeroLoss is the certificate of a fixed-output-weight model (§11), recomputed
	// from the weights; absent for every other rule.
	ZeroLoss    *cnnc.ZeroLossReport `json:"zero_loss,omitempty"`
	Diagnostics diag.List            `json:"diagnostics"`
}

type verifyReport struct {
	File               string   `json:"file"`
	NonconvexObjective *float64 `json:"nonconvex_objective"`
	RelativeDifference *float64 `json:"relative_difference"`
	Agrees             bool     `json:"agrees"`
	GapToDual          *float64 `json:"gap_to_dual"`
}

type verifyCertDoc struct {
	Available  bool     `json:"available"`
	Why        string   `json:"why,omitempty"`
	Ratio      *float64 `json:"rho,omitempty"`
	Patterns   int      `json:"patterns,omitempty"`
	Scope      string   `json:"scope,omitempty"`
	Family     int      `json:"family,omitempty"`
	Pattern    int      `json:"pattern,omitempty"`
	LowerBound *float64 `json:"lower_bound,omitempty"`
}

func runVerify(e *env, o *verifyOptions, path string) error {
	if o.weights == "" {
		return usageErr("verify needs --weights W")
	}
	p, err := prepare(e, path, o.dataFlags, true)
	if err != nil {
		return err
	}
	w, err := p.ReadWeights(o.weights)
	if err != nil {
		return withCode(exitError, err)
	}
	obj, loss, pen, err := network.Objective(p.Model, w, p.Data.X, p.Data.Y)
	if err != nil {
		return withCode(exitError, err)
	}
	doc := verifyDoc{Model: p.Model.Name, Data: p.DescribeData(), NonconvexObjective: cnnc.Num(obj), Loss: cnnc.Num(loss), Penalty: cnnc.Num(pen)}
	if pr, err := cnnc.Predict(p.Model, w, p.Data); err == nil {
		doc.TrainAccuracy = pr.Accuracy
	}
	failed := false
	if rp := reportPath(o); rp != "" {
		var rep cnnc.Report
		b, err := os.ReadFile(rp)
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		if err != nil {
			return withCode(exitError, fmt.Errorf("reading %s: %v", rp, err))
		}
		if rep.NonconvexObjective != nil {
			rel := math.Abs(obj-*rep.NonconvexObjective) / math.Max(1, math.Abs(obj))
			vr := &verifyReport{File: rp, NonconvexObjective: rep.NonconvexObjective, RelativeDifference: cnnc.Num(rel), Agrees: rel <= o.tol}
			failed = !vr.Agrees
			if rep.DualObjective != nil && rep.ZeroLoss == nil { // §11's dual bounds the relaxation, not the loss
				vr.GapToDual = cnnc.Num(obj - *rep.DualObjective)
			}
			doc.Report = vr
		}
	}
	if !o.noCert {
		doc.Certificate = certificate(p, w)
		if p.Program != nil && p.Program.Anchored != nil {
			z, err := p.ZeroLoss(w)
			if err != nil {
				return withCode(exitError, err)
			}
			doc.ZeroLoss = z
		}
	}
	if e.json {
		doc.Diagnostics = e.diagnostics()
		if err := e.writeJSON(doc); err != nil {
			return err
		}
	} else {
		writeVerify(e.stdout, &doc, o.tol)
	}
	if failed {
		return withCode(exitError, fmt.Errorf("the weights do not reproduce the report's objective"))
	}
	return nil
}

func writeVerify(w io.Writer, doc *verifyDoc, tol float64) {
	fmt.Fprintf(w, "model:               %s\n", doc.Model)
	fmt.Fprintf(w, "data:                %s\n", doc.Data)
	fmt.Fprintf(w, "nonconvex objective: %s  (loss %s + penalty %s)\n", fmt12(doc.NonconvexObjective), fmt12(doc.Loss), fmt12(doc.Penalty))
	if doc.TrainAccuracy != nil {
		fmt.Fprintf(w, "train accuracy:      %.4f\n", *doc.TrainAccuracy)
	}
	if r := doc.Report; r != nil {
		verdict := "agrees"
		if !r.Agrees {
			verdict = "DISAGREES"
		}
		fmt.Fprintf(w, "report:              %s: nonconvex_objective %s %s (relative difference %.2e, tolerance %.0e)\n", r.File, fmt12(r.NonconvexObjective), verdict, deref(r.RelativeDifference), tol)
		if r.GapToDual != nil {
			fmt.Fprintf(w, "                     certified gap to the report's dual bound: %.3e\n", *r.GapToDual)
		}
	}
	c := doc.Certificate
	if c == nil {
		return
	}
	if z := doc.ZeroLoss; z != nil {
		fmt.Fprintf(w, "certificate:         %s: max |y − f(x)| = %s at sample %d (tolerance %.1e)\n", z.Short(), fmt12(z.MaxResidual), z.WorstSample, z.Tolerance)
		fmt.Fprintf(w, "                     %s\n", z.Verdict)
		return
	}
	if !c.Available {
		fmt.Fprintf(w, "certificate:         %s\n", c.Why)
		return
	}
	fmt.Fprintf(w, "certificate:         ρ = %.9f over %d patterns (%s)\n", deref(c.Ratio), c.Patterns, c.Scope)
	if deref(c.Ratio) <= 1+1e-6 {
		fmt.Fprintln(w, "                     ρ ≤ 1: no pattern violates the dual constraint")
	} else {
		fmt.Fprintf(w, "                     ρ > 1: pattern %d of family %d violates it\n", c.Pattern, c.Family)
	}
	if c.LowerBound != nil {
		fmt.Fprintf(w, "lower bound:         %.12g\n", *c.LowerBound)
	}
}

func fmt12(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.12g", *v)
}

func deref(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

func reportPath(o *verifyOptions) string {
	if o.report != "" {
		return o.report
	}
	rp := filepath.Join(filepath.Dir(o.weights), "report.json")
	if _, err := os.Stat(rp); err == nil {
		return rp
	}
	return ""
}

// certificate derives the file's program (its pattern set) and evaluates the §1
// certificate at the network's predictions.
func certificate(p *prepared, w *network.Weights) *verifyCertDoc {
	if err := p.derive(); err != nil {
		// derive reported why; the objective stands on its own.
		return &verifyCertDoc{Why: "not available (no convex program derived)"}
	}
	if p.Program.Anchored != nil {
		return &verifyCertDoc{Why: "the zero-loss certificate of §11 (docs/math/11-fixed-output.md), below"}
	}
	if len(p.Program.Families) == 0 {
		return &verifyCertDoc{Why: fmt.Sprintf("not applicable (%s has no activation patterns; its program is solved to its own duality gap)", p.Rule.Name)}
	}
	yhat, err := network.Forward(p.Model, w, p.Data.X)
	if err != nil {
		return &verifyCertDoc{Why: fmt.Sprintf("not available (%v)", err)}
	}
	res, err := certify.Certify(p.Program, yhat.RawMatrix().Data, p.Program.Families)
	if err != nil {
		return &verifyCertDoc{Why: fmt.Sprintf("not available (%v)", err)}
	}
	scope := "the sampled pattern set"
	if p.Train.Patterns.Mode.String() == "exact" {
		scope = "every activation pattern (exact enumeration): a global certificate"
	}
	n := 0
	for _, f := range p.Program.Families {
		n += f.Patterns()
	}
	return &verifyCertDoc{Available: true, Ratio: cnnc.Num(res.Ratio), Patterns: n, Scope: scope,
		Family: res.Family, Pattern: res.Pattern, LowerBound: cnnc.Num(res.LowerBound)}
}
