package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/diag"
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

Exit codes: 0 certified (or --no-certificate and nothing disagrees, or a program
outside the template, which has no certificate); 1 errors, or the objective disagrees
with report.json's (--tol), or report.json's certified bound is not reproduced from
its own dual point; 3 the certificate does not certify the weights at the tolerance
(the message says by how much). --json prints the same as one JSON document.`,
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

// verifyCertDoc is the certificate part of verify's output (docs/certificates.md).
type verifyCertDoc struct {
	Available bool   `json:"available"`
	Why       string `json:"why,omitempty"`
	Patterns  int    `json:"patterns,omitempty"`
	Scope     string `json:"scope,omitempty"` // "global" or "restricted"
	// ScopeText says it in words.
	ScopeText string `json:"scope_text,omitempty"`
	// Stored is the certificate at report.json's dual point, recomputed here.
	Stored *verifyPoint `json:"stored,omitempty"`
	// StoredNote says why the stored point was not used (absent, wrong length…).
	StoredNote string `json:"stored_note,omitempty"`
	// Own is the certificate at the weights' own prediction (λ = −∇ℓ(ŷ)).
	Own *verifyPoint `json:"own,omitempty"`
	// Certified: the weights' objective is within Tolerance (relative) of the better
	// bound; Gap is that relative gap.
	Certified bool     `json:"certified"`
	Gap       *float64 `json:"gap,omitempty"`
	Tolerance float64  `json:"tolerance,omitempty"`
	Verdict   string   `json:"verdict,omitempty"`
	// NotReproduced is set when report.json's dual_objective is above the bound
	// recomputed from its own dual point.
	NotReproduced string `json:"not_reproduced,omitempty"`
}

// verifyPoint is the certificate at one dual point.
type verifyPoint struct {
	Rho        *float64 `json:"rho"`
	ReportRho  *float64 `json:"report_rho,omitempty"`
	LowerBound *float64 `json:"lower_bound"`
	Gap        *float64 `json:"gap"` // (objective − bound)/max(1, |objective|)
	Family     int      `json:"family,omitempty"`
	Pattern    int      `json:"pattern,omitempty"`
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
	var failures []string
	var rep *cnnc.Report
	if rp := reportPath(o); rp != "" {
		rep = &cnnc.Report{}
		b, err := os.ReadFile(rp)
		if err == nil {
			err = json.Unmarshal(b, rep)
		}
		if err != nil {
			return withCode(exitError, fmt.Errorf("reading %s: %v", rp, err))
		}
		if rep.NonconvexObjective != nil {
			rel := math.Abs(obj-*rep.NonconvexObjective) / math.Max(1, math.Abs(obj))
			vr := &verifyReport{File: rp, NonconvexObjective: rep.NonconvexObjective, RelativeDifference: cnnc.Num(rel), Agrees: rel <= o.tol}
			if !vr.Agrees {
				failures = append(failures, fmt.Sprintf("the weights' objective %.12g differs from report.json's nonconvex_objective %.12g by %.2e relative (--tol %.0e): the weights are not the ones the report describes", obj, *rep.NonconvexObjective, rel, o.tol))
			}
			if rep.DualObjective != nil && rep.ZeroLoss == nil { // §11's dual bounds the relaxation, not the loss
				vr.GapToDual = cnnc.Num(obj - *rep.DualObjective)
			}
			doc.Report = vr
		}
	}
	if !o.noCert {
		doc.Certificate = certificate(p, w, obj, rep, o.certTol)
		if c := doc.Certificate; c.NotReproduced != "" {
			failures = append(failures, c.NotReproduced)
		}
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
		writeVerify(e.stdout, &doc, o.tol, rep != nil)
	}
	if len(failures) > 0 {
		return withCode(exitError, fmt.Errorf("%s", strings.Join(failures, "; ")))
	}
	if c := doc.Certificate; c != nil && c.Available && !c.Certified {
		return withCode(exitNotSolved, fmt.Errorf("not certified: %s", c.Verdict))
	}
	return nil
}

func writeVerify(w io.Writer, doc *verifyDoc, tol float64, haveReport bool) {
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
	} else if !haveReport {
		fmt.Fprintln(w, "report:              none beside the weights (--report to name one): no stored dual point, only the check at the weights' own prediction")
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
	fmt.Fprintf(w, "certificate:         %s\n", c.ScopeText)
	if s := c.Stored; s != nil {
		fmt.Fprintf(w, "  stored dual point:  ρ = %.9f (report: %.9f), bound %s, gap to the weights %.3e relative\n", deref(s.Rho), deref(s.ReportRho), fmt12(s.LowerBound), deref(s.Gap))
	} else if c.StoredNote != "" {
		fmt.Fprintf(w, "  stored dual point:  %s\n", c.StoredNote)
	}
	if s := c.Own; s != nil {
		fmt.Fprintf(w, "  own prediction:     ρ = %.9f, bound %s, gap %.3e relative", deref(s.Rho), fmt12(s.LowerBound), deref(s.Gap))
		if deref(s.Rho) > 1+1e-6 {
			fmt.Fprintf(w, " (pattern %d of family %d attains ρ)\n", s.Pattern, s.Family)
			fmt.Fprintf(w, "                      λ = −∇ℓ(ŷ) at the weights: loose near the optimum when β is small; the solver's dual point is the tight one\n")
		} else {
			fmt.Fprintln(w)
		}
	}
	if c.Certified {
		fmt.Fprintf(w, "verdict:             certified: the weights are within %.3e (relative) of the bound, tolerance %.0e\n", math.Max(0, deref(c.Gap)), c.Tolerance)
	} else {
		fmt.Fprintf(w, "verdict:             NOT certified: %s\n", c.Verdict)
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

// certificate derives the file's program (its pattern set) and evaluates the
// certificate at report.json's dual point (when there is one) and at the network's
// own prediction, with their scope and the verdict at the tolerance (certTol, else
// the report's, else 1e-6; docs/certificates.md).
func certificate(p *prepared, w *network.Weights, obj float64, rep *cnnc.Report, certTol float64) *verifyCertDoc {
	if err := p.derive(); err != nil {
		// derive reported why; the objective stands on its own.
		return &verifyCertDoc{Why: "not available (no convex program derived)"}
	}
	prog := p.Program
	if prog.Anchored != nil {
		return &verifyCertDoc{Why: "the zero-loss certificate of §11 (docs/math/11-fixed-output.md), below"}
	}
	if len(prog.Families) == 0 || len(prog.Vars) > 0 || len(prog.Terms) > 0 {
		return &verifyCertDoc{Why: fmt.Sprintf("not applicable (%s is outside the template the certificate covers; its program is solved to its own duality gap)", p.Rule.Name)}
	}
	yhat, err := network.Forward(p.Model, w, p.Data.X)
	if err != nil {
		return &verifyCertDoc{Why: fmt.Sprintf("not available (%v)", err)}
	}
	c := &verifyCertDoc{Available: true, Tolerance: certTol}
	if c.Tolerance == 0 && rep != nil && rep.Certificate != nil && rep.Certificate.Tolerance > 0 {
		c.Tolerance = rep.Certificate.Tolerance
	}
	if c.Tolerance == 0 {
		c.Tolerance = 1e-6
	}
	for _, f := range prog.Families {
		c.Patterns += f.Patterns()
	}
	c.Scope = "restricted"
	c.ScopeText = fmt.Sprintf("over the file's %d sampled patterns: a restricted certificate (optimal among networks whose neurons use these patterns; not a bound on the global optimum)", c.Patterns)
	if p.Train.Patterns.Mode.String() == "exact" {
		exh := true
		for _, f := range prog.Families {
			if x, _ := f.Meta["exhaustive"].(bool); !x {
				exh = false
			}
		}
		if exh {
			c.Scope = "global"
			c.ScopeText = fmt.Sprintf("over every activation pattern (%d, exact enumeration): a global certificate", c.Patterns)
		} else {
			c.ScopeText = fmt.Sprintf("over the %d patterns of an exact enumeration that could not certify its completeness (degenerate data): a restricted certificate", c.Patterns)
		}
	}
	gapOf := func(b float64) float64 { return (obj - b) / math.Max(1, math.Abs(obj)) }
	best := math.Inf(1)
	// (1) report.json's dual point, recomputed here
	switch {
	case rep == nil || rep.Certificate == nil:
		c.StoredNote = "none (no report.json with a certificate beside the weights)"
	case len(rep.Certificate.Lambda) != prog.N:
		c.StoredNote = fmt.Sprintf("ignored (report.json's λ has %d entries, the data %d samples)", len(rep.Certificate.Lambda), prog.N)
	default:
		rc := rep.Certificate
		res, err := certify.CertifyDual(prog, domainPoint(prog, rc.Lambda), nil)
		if err != nil || math.IsNaN(res.LowerBound) {
			c.StoredNote = fmt.Sprintf("not evaluable (%v)", err)
			break
		}
		g := gapOf(res.LowerBound)
		best = math.Min(best, g)
		c.Stored = &verifyPoint{Rho: cnnc.Num(res.Ratio), ReportRho: cnnc.Num(rc.Rho), LowerBound: cnnc.Num(res.LowerBound), Gap: cnnc.Num(g),
			Family: res.Family, Pattern: res.Pattern}
		if rep.DualObjective != nil && res.LowerBound < *rep.DualObjective-1e-9*math.Max(1, math.Abs(*rep.DualObjective)) {
			c.NotReproduced = fmt.Sprintf("report.json's dual_objective %.12g is not reproduced from its own dual point (recomputed %.12g)", *rep.DualObjective, res.LowerBound)
		}
	}
	// (2) the weights' own prediction
	if res, err := certify.Certify(prog, yhat.RawMatrix().Data, nil); err == nil {
		g := gapOf(res.LowerBound)
		if !math.IsNaN(res.LowerBound) {
			best = math.Min(best, g)
		}
		c.Own = &verifyPoint{Rho: cnnc.Num(res.Ratio), LowerBound: cnnc.Num(res.LowerBound), Gap: cnnc.Num(g), Family: res.Family, Pattern: res.Pattern}
	}
	c.Gap = cnnc.Num(best)
	c.Certified = best <= c.Tolerance
	if !c.Certified {
		c.Verdict = fmt.Sprintf("the weights' objective %.12g is above the best certified bound by %.3e relative, more than the tolerance %.0e", obj, best, c.Tolerance)
		if c.Stored == nil {
			own := math.Inf(1)
			if c.Own != nil {
				own = deref(c.Own.Rho)
			}
			c.Verdict += "; without report.json's dual point only the check at the weights' own prediction is available, which is loose near the optimum (" + cnnc.LooseNote(prog.Beta, prog.Loss, own) + ")"
		}
	}
	return c
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
