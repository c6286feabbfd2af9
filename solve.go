package cnnc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/train"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// SolveOptions configure Solve. The zero value uses the train block's settings.
type SolveOptions struct {
	// Context ends the solve early: a deadline gives status time_limit, a
	// cancellation status interrupted (the best certified point is kept). nil: never.
	Context context.Context
	// Solver is "native" (the structured solver where it applies, else the conic
	// one) or "conic"; "" takes the train block's `solver`.
	Solver string
	// Tol is the solver tolerance; 0 takes the train block's `tol` (default 1e-6).
	Tol float64
	// MaxIters caps the solver's iterations; 0 takes the train block's `max_iters`.
	MaxIters int
	// TimeLimit > 0 bounds the wall time of the solve (from the end of the
	// derivation): the best point so far is kept with status time_limit.
	TimeLimit time.Duration
	// Progress receives the solver's iteration records (e.g. &solver.Table{W:
	// os.Stderr} for the table `cnnc solve` prints); nil: none.
	Progress solver.Recorder
}

// Result is a solved Problem: the pipeline's outcome, the recovered network (with
// the training preprocessing recorded, so it predicts on raw inputs) and the
// report (report.json).
type Result struct {
	Outcome *train.Outcome
	Weights *network.Weights
	Report  *Report
}

// Optimal reports whether the solver reached an optimal status.
func (r *Result) Optimal() bool { return r.Outcome.Status == solver.Optimal }

// Solve derives the convex program, solves it, recovers the network, evaluates
// its non-convex objective from the weights alone, certifies it, and evaluates it
// on the training and test data. Diagnostics (no convex equivalent, width too small,
// bad labels) come back as a diag.List error and in p.Diagnostics; a solver that
// ends without an optimal status is not an error (see Result.Optimal).
func (p *Problem) Solve(opts SolveOptions) (*Result, error) {
	if err := p.LoadData(); err != nil {
		return nil, err
	}
	out, err := train.Run(p.Input(), train.Options{
		Solver:   opts.Solver,
		Settings: train.SolverSettings{Tol: opts.Tol, MaxIters: opts.MaxIters, Context: opts.Context, TimeLimit: opts.TimeLimit},
		Recorder: opts.Progress,
	})
	if out != nil {
		p.Diagnostics = append(p.Diagnostics, out.Diagnostics...)
		if out.Program != nil {
			p.Rule, p.Program = out.Rule, out.Program
		}
	}
	if err != nil {
		var dl diag.List
		if errors.As(err, &dl) {
			return nil, dl
		}
		return nil, fmt.Errorf("solving %s: %v", p.Path, err)
	}
	w := out.Weights
	w.Preprocess = p.Preprocess()
	res := &Result{Outcome: out, Weights: w}
	res.Report = p.buildReport(out)
	p.stampReport(res.Report, out, opts)
	return res, nil
}

// ReportFormat is the format tag of report.json.
const ReportFormat = "cnnc-report/1"

// Report is report.json (docs/cli.md): what was solved, how, and the certified
// result. Numbers that do not exist (a test loss without test data, an accuracy
// for real-valued targets) are null.
type Report struct {
	Format             string   `json:"format"`
	Model              string   `json:"model"`
	Theorem            string   `json:"theorem"`
	Section            string   `json:"section"`
	Doc                string   `json:"doc,omitempty"` // the docs file of the reformulation
	Regularizer        string   `json:"regularizer"`
	Status             string   `json:"status"`
	Samples            int      `json:"samples"`
	Patterns           int      `json:"patterns"`
	PatternMode        string   `json:"pattern_mode"`
	Variables          int      `json:"variables"`
	Constraints        int      `json:"constraints"`
	ConvexObjective    *float64 `json:"convex_objective"`
	DualObjective      *float64 `json:"dual_objective"`
	Gap                *float64 `json:"gap"`
	DualScope          string   `json:"dual_scope"` // what the dual bound certifies
	NonconvexObjective *float64 `json:"nonconvex_objective"`
	ActiveNeurons      int      `json:"active_neurons"`
	Iterations         int      `json:"iterations"`
	SolveSeconds       float64  `json:"solve_seconds"`
	Solver             string   `json:"solver"`
	TrainLoss          *float64 `json:"train_loss"`
	TrainAccuracy      *float64 `json:"train_accuracy"`
	TestLoss           *float64 `json:"test_loss"`
	TestAccuracy       *float64 `json:"test_accuracy"`
	Beta               float64  `json:"beta"`
	Loss               string   `json:"loss"`
	Seed               int64    `json:"seed"`
	Notes              []string `json:"notes,omitempty"`
	// Diagnostics are the warnings of the run (the file's, the data's, the
	// derivation's); nil is written as [].
	Diagnostics diag.List `json:"diagnostics"`

	// Fixed-output-weight relaxation (§11, fixedout.go): the zero-loss certificate,
	// and the comparison with the hidden filter of planted data.
	ZeroLoss *ZeroLossReport `json:"zero_loss,omitempty"`
	Planted  *PlantedReport  `json:"planted,omitempty"`

	// What identifies the run (runinfo.go): when, from which file and data, with
	// which settings, and the weights.json written beside this report.
	Created       string        `json:"created"`        // UTC time the report was made, RFC 3339
	Input         string        `json:"input"`          // the .cnn file as given
	InputSHA256   string        `json:"input_sha256"`   // SHA-256 of its bytes
	DataSHA256    string        `json:"data_sha256"`    // SHA-256 of the training set as loaded (DataHash)
	WeightsSHA256 string        `json:"weights_sha256"` // SHA-256 of weights.json's bytes (set by Result.Files)
	Settings      SolveSettings `json:"settings"`
}

// Num returns a pointer to v, or nil for NaN and ±Inf (JSON has no such numbers).
func Num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Write writes the report as indented JSON.
func (r *Report) Write(w io.Writer) error {
	if r.Diagnostics == nil {
		r.Diagnostics = diag.List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// buildReport fills report.json from the pipeline's outcome and evaluates the
// recovered network on the training and test data.
func (p *Problem) buildReport(out *train.Outcome) *Report {
	t := p.Train
	r := &Report{
		Format:      ReportFormat,
		Model:       p.Model.Name,
		Theorem:     out.Rule.Theorem,
		Section:     out.Rule.Section,
		Doc:         out.Rule.Doc,
		Regularizer: out.Program.Regularizer,
		Status:      string(out.Status),
		Samples:     p.Data.N(),
		Patterns:    out.Sizes.Patterns,
		PatternMode: t.Patterns.Mode.String(),
		Variables:   out.Sizes.Variables,
		Constraints: out.Sizes.Constraints,

		ConvexObjective:    Num(out.ConvexObjective),
		DualObjective:      Num(out.DualObjective),
		Gap:                Num(out.ConvexObjective - out.DualObjective),
		DualScope:          out.DualSource,
		NonconvexObjective: Num(out.NonconvexObjective),
		ActiveNeurons:      out.ActiveNeurons,
		Iterations:         out.Iterations,
		SolveSeconds:       out.Seconds,
		Solver:             out.SolverName,
		TrainLoss:          Num(out.Loss),
		Beta:               t.Beta,
		Loss:               p.Loss(),
		Seed:               t.Patterns.Seed,
		Diagnostics:        append(diag.List{}, p.Diagnostics...),
	}
	if pr, err := Predict(p.Model, out.Weights, p.Data); err == nil && pr.Accuracy != nil {
		r.TrainAccuracy = pr.Accuracy
	}
	if p.Test != nil {
		if pr, err := Predict(p.Model, out.Weights, p.Test); err == nil {
			r.TestLoss, r.TestAccuracy = pr.Loss, pr.Accuracy
		}
	}
	if out.Adaptive != nil {
		a := out.Adaptive
		r.Notes = append(r.Notes, fmt.Sprintf("adaptive patterns: %d seeded by a local search, %d rounds, %d patterns added, %d search evaluations, exhaustive search: %v, last ρ = %.6g",
			a.Seeded, a.Rounds, a.Added, a.Evaluations, a.Exhaustive, a.Ratio))
	}
	fixedOutReport(r, out)
	if out.ZeroLoss == nil && out.NonconvexObjective != 0 && out.ConvexObjective != 0 {
		rel := math.Abs(out.NonconvexObjective-out.ConvexObjective) / math.Max(1, math.Abs(out.ConvexObjective))
		r.Notes = append(r.Notes, fmt.Sprintf("strong duality: |nonconvex − convex| = %.3e relative", rel))
	}
	return r
}

// fmtNum prints a report number, or — when it is null.
func fmtNum(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.10g", *v)
}

// WriteSummary writes the human summary `cnnc solve` prints.
func (r *Report) WriteSummary(w io.Writer) {
	doc := r.Section
	if r.Doc != "" {
		doc = r.Section + ", " + r.Doc
	}
	fmt.Fprintf(w, "model       %s — %s (%s)\n", r.Model, r.Theorem, doc)
	if r.Regularizer != "" {
		fmt.Fprintf(w, "regulariser %s\n", r.Regularizer)
	}
	fmt.Fprintf(w, "status      %s  (%s solver, %d iterations, %.3f s)\n", r.Status, r.Solver, r.Iterations, r.SolveSeconds)
	fmt.Fprintf(w, "convex      %s  (optimum of the convex program)\n", fmtNum(r.ConvexObjective))
	fmt.Fprintf(w, "nonconvex   %s  (loss + weight decay of the recovered network, from its weights)\n", fmtNum(r.NonconvexObjective))
	fmt.Fprintf(w, "dual bound  %s  gap %s  [%s]\n", fmtNum(r.DualObjective), fmtNum(r.Gap), r.DualScope)
	fmt.Fprintf(w, "network     %d active neurons; %d samples, %d patterns (%s), %d variables, %d constraints\n",
		r.ActiveNeurons, r.Samples, r.Patterns, r.PatternMode, r.Variables, r.Constraints)
	fmt.Fprintf(w, "train       loss %s  accuracy %s\n", fmtNum(r.TrainLoss), fmtNum(r.TrainAccuracy))
	if r.TestLoss != nil {
		fmt.Fprintf(w, "test        loss %s  accuracy %s\n", fmtNum(r.TestLoss), fmtNum(r.TestAccuracy))
	}
	r.writeFixedOut(w)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note        %s\n", n)
	}
}
