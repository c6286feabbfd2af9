package cnnc

import (
	"fmt"
	"io"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/train"
)

// ZeroLossReport is report.json's "zero_loss" object: the certificate of the
// fixed-output-weight relaxation (§11, docs/math/11-fixed-output.md), computed from
// the recovered weights alone (compiler/train.ZeroLoss).
type ZeroLossReport struct {
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

// PlantedReport is report.json's "planted" object, present when the training data
// come from `synthetic planted` and the model is a fixed-output-weight CNN: the hidden
// filter, so that recovery can be measured (docs/language.md).
type PlantedReport struct {
	Filter      []float64 `json:"filter"`       // w*, the hidden unit-norm filter ((C, kh, kw) order)
	FilterError *float64  `json:"filter_error"` // ‖ŵ − w*‖₂
	Noise       float64   `json:"noise"`        // σ of the data
	File        string    `json:"file,omitempty"`
}

// PlantedFile is the file `cnnc solve` writes beside weights.json with the hidden
// network of planted data (weights.json format, the same model).
const PlantedFile = "planted.json"

// NewZeroLossReport converts the pipeline's certificate.
func NewZeroLossReport(z *train.ZeroLoss) *ZeroLossReport {
	if z == nil {
		return nil
	}
	return &ZeroLossReport{
		Certified: z.Certified, Unique: z.Unique, Rank: z.Rank, Verdict: z.Why,
		MaxResidual: Num(z.MaxAbs), MaxSlack: Num(z.MaxSlack), MaxExcess: Num(z.MaxExcess),
		WorstSample: z.Worst, Tolerance: z.Tol, Relaxation: Num(z.Relaxation), NoiseBudget: z.Eps, Polish: z.Polish,
	}
}

// ZeroLoss recomputes the §11 certificate for weights w of a fixed-output-weight
// model (nil, nil for any other rule): the network's outputs on the training data
// against the targets.
func (p *Problem) ZeroLoss(w *network.Weights) (*ZeroLossReport, error) {
	if _, _, err := p.Derive(); err != nil {
		return nil, err
	}
	if p.Program == nil || p.Program.Anchored == nil {
		return nil, nil
	}
	z, err := train.ZeroLossCertificate(p.Input(), w, p.Program)
	if err != nil {
		return nil, err
	}
	return NewZeroLossReport(z), nil
}

// fixedOutReport fills the §11 fields of r from out.
func fixedOutReport(r *Report, out *train.Outcome) {
	if z := out.ZeroLoss; z != nil {
		r.PatternMode = "none"
		r.ZeroLoss = NewZeroLossReport(z)
	}
	if pl := out.Planted; pl != nil {
		r.Planted = &PlantedReport{Filter: pl.Filter, FilterError: Num(pl.Error), Noise: pl.Noise}
		if pl.Weights != nil {
			r.Planted.File = PlantedFile
		}
	}
}

// Short is the certificate in a few words.
func (z *ZeroLossReport) Short() string {
	switch {
	case z.Certified && z.Unique:
		return "GLOBAL MINIMUM (zero training loss), locally unique"
	case z.Certified:
		return "GLOBAL MINIMUM (zero training loss), NOT unique"
	}
	return "NOT CERTIFIED"
}

// writeFixedOut prints the §11 lines of the summary.
func (r *Report) writeFixedOut(w io.Writer) {
	if z := r.ZeroLoss; z != nil {
		fmt.Fprintf(w, "certificate %s: max |y − f(ŵ)| = %s (tolerance %.1e), relaxation aᵀŵ = %s, noise budget ε = %g\n",
			z.Short(), fmtNum(z.MaxResidual), z.Tolerance, fmtNum(z.Relaxation), z.NoiseBudget)
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
