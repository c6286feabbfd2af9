package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"
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
the training data (loss + (β/2)·Σ‖weights‖², the language.md scale) and, for the
two-layer template architectures, the dual certificate of formulations.md §1.3 over
the file's pattern set: ρ = max_p max_{u ∈ B₂ ∩ 𝒦_p} |vᵀ𝒫_p u| / β with v = −∇ℓ(ŷ).
ρ ≤ 1 certifies that the network is optimal over that pattern set (globally optimal
when the patterns are exact); otherwise the lower bound g(v/ρ) bounds the gap.

When a report.json is beside the weights (or given with --report), its
nonconvex_objective must agree to --tol (relative); a disagreement exits 1.`,
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
		return cmd
	})
}

func runVerify(e *env, o *verifyOptions, path string) error {
	if o.weights == "" {
		return usageErr("verify needs --weights W")
	}
	p, err := prepare(e, path, o.dataFlags, true)
	if err != nil {
		return err
	}
	w, err := network.ReadFile(o.weights)
	if err != nil {
		return withCode(exitError, err)
	}
	if err := w.CheckModel(p.model); err != nil {
		return withCode(exitError, fmt.Errorf("%s does not fit model %s: %v", o.weights, p.model.Name, err))
	}
	obj, loss, pen, err := network.Objective(p.model, w, p.train.X, p.train.Y)
	if err != nil {
		return withCode(exitError, err)
	}
	fmt.Fprintf(e.stdout, "model:               %s\n", p.model.Name)
	fmt.Fprintf(e.stdout, "data:                %s\n", p.describeData())
	fmt.Fprintf(e.stdout, "nonconvex objective: %.12g  (loss %.12g + penalty %.12g)\n", obj, loss, pen)
	if acc, ok := accuracy(p.model, w, p.train); ok {
		fmt.Fprintf(e.stdout, "train accuracy:      %.4f\n", acc)
	}
	failed := false
	if rp := reportPath(o); rp != "" {
		var rep report
		b, err := os.ReadFile(rp)
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		if err != nil {
			return withCode(exitError, fmt.Errorf("reading %s: %v", rp, err))
		}
		if rep.NonconvexObjective != nil {
			rel := math.Abs(obj-*rep.NonconvexObjective) / math.Max(1, math.Abs(obj))
			verdict := "agrees"
			if rel > o.tol {
				verdict, failed = "DISAGREES", true
			}
			fmt.Fprintf(e.stdout, "report:              %s: nonconvex_objective %.12g %s (relative difference %.2e, tolerance %.0e)\n", rp, *rep.NonconvexObjective, verdict, rel, o.tol)
			if rep.DualObjective != nil && rep.ZeroLoss == nil {
				fmt.Fprintf(e.stdout, "                     certified gap to the report's dual bound: %.3e\n", obj-*rep.DualObjective)
			}
		}
	}
	if !o.noCert {
		if err := printCertificate(e, p, w, o.format); err != nil {
			return err
		}
	}
	if failed {
		return withCode(exitError, fmt.Errorf("the weights do not reproduce the report's objective"))
	}
	return nil
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

// printCertificate derives the file's program (its pattern set) and evaluates the
// §1.3 certificate at the network's predictions.
func printCertificate(e *env, p *prepared, w *network.Weights, format string) error {
	if _, err := p.derive(e, format); err != nil {
		// derive printed why; the objective above stands on its own.
		fmt.Fprintln(e.stdout, "certificate:         not available (no convex program derived)")
		return nil
	}
	if p.prog.Anchored != nil {
		return printZeroLoss(e, p, w)
	}
	if len(p.prog.Families) == 0 {
		fmt.Fprintf(e.stdout, "certificate:         not applicable (%s has no activation patterns; its program is solved to its own duality gap)\n", p.rule.Name)
		return nil
	}
	yhat, err := network.Forward(p.model, w, p.train.X)
	if err != nil {
		return withCode(exitError, err)
	}
	res, err := certify.Certify(p.prog, yhat.RawMatrix().Data, p.prog.Families)
	if err != nil {
		fmt.Fprintf(e.stdout, "certificate:         not available (%v)\n", err)
		return nil
	}
	scope := "the sampled pattern set"
	if p.file.Train.Patterns.Mode.String() == "exact" {
		scope = "every activation pattern (exact enumeration): a global certificate"
	}
	fmt.Fprintf(e.stdout, "certificate:         ρ = %.9f over %d patterns (%s)\n", res.Ratio, totalPatterns(p), scope)
	if res.Ratio <= 1+1e-6 {
		fmt.Fprintln(e.stdout, "                     ρ ≤ 1: no pattern violates the dual constraint")
	} else {
		fmt.Fprintf(e.stdout, "                     ρ > 1: pattern %d of family %d violates it\n", res.Pattern, res.Family)
	}
	if !math.IsNaN(res.LowerBound) {
		fmt.Fprintf(e.stdout, "lower bound:         %.12g\n", res.LowerBound)
	}
	return nil
}

func totalPatterns(p *prepared) int {
	n := 0
	for _, f := range p.prog.Families {
		n += f.Patterns()
	}
	return n
}

// accuracy is the accuracy of w on ds for classification targets.
func accuracy(m *ir.Model, w *network.Weights, ds *dataset.Dataset) (float64, bool) {
	if ds == nil || !ds.Classification {
		return 0, false
	}
	yhat, err := network.Forward(m, w, ds.X)
	if err != nil {
		return 0, false
	}
	acc, err := network.Accuracy(yhat, ds.Y)
	return acc, err == nil
}
