package main

import (
	"fmt"
	"io"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/train"
)

// zeroLossReport is report.json's "zero_loss" object: the certificate of the
// fixed-output-weight relaxation (§11, docs/math/11-fixed-output.md), computed from
// the recovered weights alone.
type zeroLossReport struct {
	Certified   bool     `json:"certified"` // zero training loss: a global minimum
	Unique      bool     `json:"unique"`    // … and locally unique (full-rank active pieces, no patch at a kink)
	Rank        int      `json:"rank"`      // rank of the active pieces (certified networks only)
	Verdict     string   `json:"verdict"`
	MaxResidual *float64 `json:"max_abs_residual"` // max_i |y_i − f_i(ŵ)|
	MaxSlack    *float64 `json:"max_slack"`        // max_i (y_i − f_i(ŵ))
	MaxExcess   *float64 `json:"max_excess"`       // max_i (f_i(ŵ) − y_i)
	WorstSample int      `json:"worst_sample"`     // the sample of max_abs_residual (0-based)
	Tolerance   float64  `json:"tolerance"`        // absolute: 1e-7·max(1, ‖y‖∞)
	Relaxation  *float64 `json:"relaxation_value"` // aᵀŵ
	NoiseBudget float64  `json:"noise_budget"`     // ε
	Polish      float64  `json:"polish"`           // ‖w' − ŵ‖ of the active-piece polish (0: not polished)
}

// plantedReport is report.json's "planted" object, present when the training data
// come from `synthetic planted` and the model is a fixed-output-weight CNN.
type plantedReport struct {
	Filter      []float64 `json:"filter"`       // w*, the hidden unit-norm filter ((C, kh, kw) order)
	FilterError *float64  `json:"filter_error"` // ‖ŵ − w*‖₂
	Noise       float64   `json:"noise"`        // σ of the data
	File        string    `json:"file,omitempty"`
}

// plantedFile is the teacher network written beside weights.json.
const plantedFile = "planted.json"

// fixedOutReport fills the §11 fields of r from out.
func fixedOutReport(r *report, out *train.Outcome) {
	if z := out.ZeroLoss; z != nil {
		r.PatternMode = "none"
		r.ZeroLoss = &zeroLossReport{
			Certified: z.Certified, Unique: z.Unique, Rank: z.Rank, Verdict: z.Why,
			MaxResidual: num(z.MaxAbs), MaxSlack: num(z.MaxSlack), MaxExcess: num(z.MaxExcess),
			WorstSample: z.Worst, Tolerance: z.Tol, Relaxation: num(z.Relaxation), NoiseBudget: z.Eps, Polish: z.Polish,
		}
	}
	if p := out.Planted; p != nil {
		r.Planted = &plantedReport{Filter: p.Filter, FilterError: num(p.Error), Noise: p.Noise}
		if p.Weights != nil {
			r.Planted.File = plantedFile
		}
	}
}

// printFixedOut prints the §11 lines of the summary.
func printFixedOut(w io.Writer, r *report) {
	if z := r.ZeroLoss; z != nil {
		verdict := "NOT CERTIFIED"
		switch {
		case z.Certified && z.Unique:
			verdict = "GLOBAL MINIMUM (zero training loss), locally unique"
		case z.Certified:
			verdict = "GLOBAL MINIMUM (zero training loss), NOT unique"
		}
		fmt.Fprintf(w, "certificate %s: max |y − f(ŵ)| = %s (tolerance %.1e), relaxation aᵀŵ = %s, noise budget ε = %g\n",
			verdict, fmtNum(z.MaxResidual), z.Tolerance, fmtNum(z.Relaxation), z.NoiseBudget)
		fmt.Fprintf(w, "            %s\n", z.Verdict)
	}
	if p := r.Planted; p != nil {
		where := ""
		if p.File != "" {
			where = "; the hidden network is in " + p.File
		}
		fmt.Fprintf(w, "planted     ‖ŵ − w*‖ = %s (data noise σ = %g)%s\n", fmtNum(p.FilterError), p.Noise, where)
	}
}

// printZeroLoss is `cnnc verify`'s certificate for a fixed-output-weight model: the
// zero-loss check of §11 on the weights' own outputs.
func printZeroLoss(e *env, p *prepared, w *network.Weights) error {
	z, err := train.ZeroLossCertificate(p.in, w, p.prog)
	if err != nil {
		return withCode(exitError, err)
	}
	verdict := "not certified"
	switch {
	case z.Certified && z.Unique:
		verdict = "global minimum (zero training loss), locally unique"
	case z.Certified:
		verdict = "global minimum (zero training loss), not unique"
	}
	fmt.Fprintf(e.stdout, "certificate:         %s: max |y − f(x)| = %.3e at sample %d (tolerance %.1e)\n", verdict, z.MaxAbs, z.Worst, z.Tol)
	fmt.Fprintf(e.stdout, "                     %s\n", z.Why)
	return nil
}
