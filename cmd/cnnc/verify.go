package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/backend/convex"
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
	certTol float64
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
the template architectures, its dual certificate (docs/certificates.md).

The certificate is a dual point λ (one number per training sample) and
ρ = max_p max_{u ∈ B₂ ∩ 𝒦_p} |λᵀ𝒫_p u| / β over a stated pattern set; θλ with
θ ≤ 1/ρ is dual feasible, so D(θλ) (less its rounding margin) is a lower bound on the
optimum — over every activation pattern when the file's patterns are exact (a global
bound), over the sampled patterns otherwise (a restricted one). verify evaluates it
twice and says which is which:

  - at the dual point solve stored in report.json (beside the weights, or --report):
    ρ and the bound are recomputed here, independently of the solver;
  - at the weights' own prediction, λ = −∇ℓ(ŷ): needs nothing but the weights, but
    near the optimum ρ − 1 grows like ‖𝒫‖·‖ŷ − ŷ*‖/β, so with a small β it is loose
    even for optimal weights.

The weights are certified when their objective exceeds the better bound by at most
the tolerance (relative to max(1, |objective|)): --cert-tol, else the solve's
tolerance recorded in report.json, else 1e-6.

Exit codes: 0 certified (or --no-certificate and nothing disagrees); 1 errors, or the
objective disagrees with report.json's (--tol), or report.json's certified bound is
not reproduced; 3 the certificate does not certify the weights at the tolerance
(the diagnostic says by how much).`,
			Example: "  cnnc verify examples/quickstart.cnn --weights examples/quickstart.out/weights.json",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runVerify(e, o, args[0])
			},
		}
		cmd.Flags().StringVar(&o.weights, "weights", "", "weights.json to verify (required)")
		cmd.Flags().StringVar(&o.report, "report", "", "report.json to compare with (default: report.json beside the weights, if any)")
		cmd.Flags().Float64Var(&o.tol, "tol", 1e-9, "relative tolerance for agreement with the report's objective")
		cmd.Flags().Float64Var(&o.certTol, "cert-tol", 0, "relative gap the certificate must reach (default: the solve's tolerance in report.json, else 1e-6)")
		cmd.Flags().BoolVar(&o.noCert, "no-certificate", false, "skip the dual certificate (only recompute the objective)")
		o.dataFlags.register(cmd)
		return cmd
	})
}

func runVerify(e *env, o *verifyOptions, path string) error {
	if o.weights == "" {
		return usageErr("verify needs --weights W")
	}
	if o.certTol < 0 || math.IsNaN(o.certTol) {
		return usageErr("--cert-tol must be ≥ 0")
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
	var failures []string
	var rep *report
	if rp := reportPath(o); rp != "" {
		rep = &report{}
		b, err := os.ReadFile(rp)
		if err == nil {
			err = json.Unmarshal(b, rep)
		}
		if err != nil {
			return withCode(exitError, fmt.Errorf("reading %s: %v", rp, err))
		}
		if rep.NonconvexObjective != nil {
			rel := math.Abs(obj-*rep.NonconvexObjective) / math.Max(1, math.Abs(obj))
			verdict := "agrees"
			if rel > o.tol {
				verdict = "DISAGREES"
				failures = append(failures, fmt.Sprintf("the weights' objective %.12g differs from report.json's nonconvex_objective %.12g by %.2e relative (--tol %.0e): the weights are not the ones the report describes", obj, *rep.NonconvexObjective, rel, o.tol))
			}
			fmt.Fprintf(e.stdout, "report:              %s: nonconvex_objective %.12g %s (relative difference %.2e, tolerance %.0e)\n", rp, *rep.NonconvexObjective, verdict, rel, o.tol)
		}
	} else {
		fmt.Fprintln(e.stdout, "report:              none beside the weights (--report to name one): no stored dual point, only the check at the weights' own prediction")
	}
	certified := true
	if !o.noCert {
		var why string
		certified, why, failures = printCertificate(e, p, w, o, rep, obj, failures)
		if !certified && len(failures) == 0 {
			return withCode(exitNotSolved, fmt.Errorf("not certified: %s", why))
		}
	}
	if len(failures) > 0 {
		return withCode(exitError, fmt.Errorf("%s", strings.Join(failures, "; ")))
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
// certificate at report.json's dual point (when there is one) and at the network's own
// prediction, prints both with their scope, and returns whether the weights are
// certified at the tolerance (with the reason when not) and the failures so far (a
// report whose bound is not reproduced is one).
func printCertificate(e *env, p *prepared, w *network.Weights, o *verifyOptions, rep *report, obj float64, failures []string) (bool, string, []string) {
	if _, err := p.derive(e, o.format); err != nil {
		// derive printed why; the objective above stands on its own.
		fmt.Fprintln(e.stdout, "certificate:         not available (no convex program derived)")
		return true, "", failures
	}
	if len(p.prog.Families) == 0 || len(p.prog.Vars) > 0 || len(p.prog.Terms) > 0 {
		fmt.Fprintf(e.stdout, "certificate:         not applicable (%s is outside the template the certificate covers; its program is solved to its own duality gap)\n", p.rule.Name)
		return true, "", failures
	}
	yhat, err := network.Forward(p.model, w, p.train.X)
	if err != nil {
		fmt.Fprintf(e.stdout, "certificate:         not available (%v)\n", err)
		return false, err.Error(), failures
	}
	tol := o.certTol
	if tol == 0 && rep != nil && rep.Certificate != nil && rep.Certificate.Tolerance > 0 {
		tol = rep.Certificate.Tolerance
	}
	if tol == 0 {
		tol = 1e-6
	}
	total := totalPatterns(p)
	scope := fmt.Sprintf("over the file's %d sampled patterns: a restricted certificate (optimal among networks whose neurons use these patterns; not a bound on the global optimum)", total)
	if p.file.Train.Patterns.Mode.String() == "exact" {
		scope = fmt.Sprintf("over every activation pattern (%d, exact enumeration): a global certificate", total)
		exh := true
		for _, f := range p.prog.Families {
			if x, _ := f.Meta["exhaustive"].(bool); !x {
				exh = false
			}
		}
		if !exh {
			scope = fmt.Sprintf("over the %d patterns of an exact enumeration that could not certify its completeness (degenerate data): a restricted certificate", total)
		}
	}
	fmt.Fprintf(e.stdout, "certificate:         %s\n", scope)
	gapOf := func(b float64) float64 { return (obj - b) / math.Max(1, math.Abs(obj)) }
	best := math.Inf(1) // smallest relative gap
	// (1) report.json's dual point, recomputed here
	if rep != nil && rep.Certificate != nil {
		rc := rep.Certificate
		switch {
		case len(rc.Lambda) != p.prog.N:
			fmt.Fprintf(e.stdout, "  stored dual point:  ignored (report.json's λ has %d entries, the data %d samples)\n", len(rc.Lambda), p.prog.N)
		default:
			c, err := certify.CertifyDual(p.prog, domainPoint(p.prog, rc.Lambda), nil)
			if err != nil || math.IsNaN(c.LowerBound) {
				fmt.Fprintf(e.stdout, "  stored dual point:  not evaluable (%v)\n", err)
				break
			}
			g := gapOf(c.LowerBound)
			best = math.Min(best, g)
			fmt.Fprintf(e.stdout, "  stored dual point:  ρ = %.9f (report: %.9f), bound %.12g, gap to the weights %.3e relative\n", c.Ratio, rc.Rho, c.LowerBound, g)
			if rep.DualObjective != nil && c.LowerBound < *rep.DualObjective-1e-9*math.Max(1, math.Abs(*rep.DualObjective)) {
				failures = append(failures, fmt.Sprintf("report.json's dual_objective %.12g is not reproduced from its own dual point (recomputed %.12g)", *rep.DualObjective, c.LowerBound))
			}
		}
	}
	// (2) the weights' own prediction
	res, err := certify.Certify(p.prog, yhat.RawMatrix().Data, nil)
	if err != nil {
		fmt.Fprintf(e.stdout, "  own prediction:     not available (%v)\n", err)
	} else {
		g := gapOf(res.LowerBound)
		if !math.IsNaN(res.LowerBound) {
			best = math.Min(best, g)
		}
		fmt.Fprintf(e.stdout, "  own prediction:     ρ = %.9f, bound %.12g, gap %.3e relative", res.Ratio, res.LowerBound, g)
		if res.Ratio > 1+1e-6 {
			fmt.Fprintf(e.stdout, " (pattern %d of family %d attains ρ)", res.Pattern, res.Family)
		}
		fmt.Fprintln(e.stdout)
		if res.Ratio > 1+1e-6 {
			fmt.Fprintf(e.stdout, "                      λ = −∇ℓ(ŷ) at the weights; %s\n", looseNote(p.prog.Beta))
		}
	}
	if best <= tol {
		fmt.Fprintf(e.stdout, "verdict:             certified: the weights are within %.3e (relative) of the bound, tolerance %.0e\n", math.Max(0, best), tol)
		return true, "", failures
	}
	why := fmt.Sprintf("the weights' objective %.12g is above the best certified bound by %.3e relative, more than the tolerance %.0e", obj, best, tol)
	if rep == nil || rep.Certificate == nil {
		why += "; without report.json's dual point only the check at the weights' own prediction is available, which is loose near the optimum when β is small"
	}
	fmt.Fprintf(e.stdout, "verdict:             NOT certified: %s\n", why)
	return false, why, failures
}

// domainPoint returns a copy of λ clipped to the loss's domain and, with an output
// bias, centred (what certify.CertifyDual needs; a stored λ is already so up to
// rounding).
func domainPoint(p *convex.Program, lam []float64) []float64 {
	v := append([]float64(nil), lam...)
	l, err := certify.ProgramLoss(p)
	if err != nil {
		return v
	}
	l.Clip(v)
	if p.OutputBias {
		l.Center(v)
	}
	return v
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
