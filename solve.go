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
	// the data's hash (report.json's data_sha256) is computed beside the solve: a
	// tenth of a second at n = 10 000 that a stopped run need not wait for
	hash := make(chan string, 1)
	go func() { hash <- DataHash(p.Data) }()
	trace := &solver.Trace{Next: opts.Progress}
	out, err := train.Run(p.Input(), train.Options{
		Solver:   opts.Solver,
		Settings: train.SolverSettings{Tol: opts.Tol, MaxIters: opts.MaxIters, Context: opts.Context, TimeLimit: opts.TimeLimit},
		Recorder: trace,
	})
	if out != nil {
		p.Diagnostics = append(p.Diagnostics, out.Diagnostics...)
		if out.Program != nil {
			p.Rule, p.Program = out.Rule, out.Program
		} else if out.Vector != nil {
			p.Rule = out.Rule
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
	if len(trace.Rows) > 0 {
		res.Report.Trace = &ReportTrace{Phases: trace.Phases, Rows: trace.Rows}
	}
	p.stampReport(res.Report, out, opts, <-hash)
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
	// Adaptive is the work of `patterns adaptive` (docs/adaptive.md); absent in the
	// other modes.
	Adaptive *AdaptiveReport `json:"adaptive,omitempty"`
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
	// SolverDual is the solver's own dual objective: information only, never a
	// certified bound (dual_objective is; docs/certificates.md).
	SolverDual *float64 `json:"solver_dual,omitempty"`
	// Certificate is the certificate behind dual_objective: `cnnc verify` recomputes
	// ρ and the bound from its dual point.
	Certificate *ReportCert `json:"certificate,omitempty"`

	// Vector outputs (docs/math/10-vector-output.md): the certified bracket, the
	// conic relaxations solved on request, the number of outputs, the data's class
	// labels in one-hot column order, and the confusion matrices (rows: true class,
	// columns: predicted class).
	Bracket        *Bracket           `json:"bracket,omitempty"`
	Relaxations    []RelaxationReport `json:"relaxations,omitempty"`
	Outputs        int                `json:"outputs,omitempty"`
	Classes        []int              `json:"classes,omitempty"`
	ConfusionTrain [][]int            `json:"confusion_train,omitempty"`
	ConfusionTest  [][]int            `json:"confusion_test,omitempty"`

	// Trace is the solver's progress, as the rows of the table `cnnc solve` prints
	// (thinned to at most 1000 rows): what the convergence plot draws.
	Trace *ReportTrace `json:"trace,omitempty"`
}

// ReportTrace is report.json's "trace": the title of each solver run (phase) and
// the progress rows, each with its phase's index (solver.TraceRow).
type ReportTrace struct {
	Phases []string          `json:"phases"`
	Rows   []solver.TraceRow `json:"rows"`
}

// ReportCert is report.json's "certificate" (docs/certificates.md): the dual point λ
// (one entry per training sample), the upper bound ρ on
// max_p max_{u ∈ B₂ ∩ 𝒦_p} |λᵀ𝒫_p u|/β over the stated pattern set, the scaling θ,
// the floating-point-safe bound D(θλ) − margin, and the tolerance the solve was asked
// for (verify's default for the certified gap).
type ReportCert struct {
	Scope      string    `json:"scope"` // "global" or "restricted"
	Patterns   int       `json:"patterns"`
	PatternSet string    `json:"pattern_set"`
	Source     string    `json:"source"` // "solver", "prediction" or "search"
	Rho        float64   `json:"rho"`
	Theta      float64   `json:"theta"`
	Bound      float64   `json:"bound"`
	Margin     float64   `json:"margin"`
	Tolerance  float64   `json:"tolerance"`
	Loss       string    `json:"loss"`
	Lambda     []float64 `json:"lambda"`
	OwnRho     *float64  `json:"own_rho,omitempty"`   // ρ at the recovered network's own prediction
	OwnBound   *float64  `json:"own_bound,omitempty"` // the bound there
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
	reg := ""
	if out.Program != nil {
		reg = out.Program.Regularizer
	}
	r := &Report{
		Format:      ReportFormat,
		Model:       p.Model.Name,
		Theorem:     out.Rule.Theorem,
		Section:     out.Rule.Section,
		Doc:         out.Rule.Doc,
		Regularizer: reg,
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
	train := func() (*Predictions, error) { return Predict(p.Model, out.Weights, p.Data) }
	if y := out.TrainPrediction; y != nil {
		train = func() (*Predictions, error) { return predictFrom(y, out.Weights, p.Data) }
	}
	if pr, err := train(); err == nil && pr.Accuracy != nil {
		r.TrainAccuracy = pr.Accuracy
	}
	if p.Test != nil {
		if pr, err := Predict(p.Model, out.Weights, p.Test); err == nil {
			r.TestLoss, r.TestAccuracy = pr.Loss, pr.Accuracy
		}
	}
	if !math.IsNaN(out.SolverDual) {
		r.SolverDual = Num(out.SolverDual)
	}
	if c := out.Cert; c != nil {
		r.Certificate = &ReportCert{Scope: c.Scope, Patterns: c.Patterns, PatternSet: c.PatternSet, Source: c.Source,
			Rho: c.Rho, Theta: c.Theta, Bound: c.Bound, Margin: c.Margin, Tolerance: out.Settings.Tol, Loss: p.Loss(), Lambda: c.Lambda}
		if oc := out.Certificate; oc != nil {
			r.Certificate.OwnRho, r.Certificate.OwnBound = Num(oc.Ratio), Num(oc.LowerBound)
		}
	}
	if out.Adaptive != nil {
		r.Adaptive = adaptiveReport(out.Adaptive)
	}
	fixedOutReport(r, out)
	if out.Vector != nil {
		p.addVector(r, out)
		return r
	}
	r.Notes = append(r.Notes, out.Notes...)
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
	if r.Bracket != nil {
		r.writeVector(w)
		fmt.Fprintf(w, "network     %d units, %d outputs; %d samples, %d patterns (%s)\n", r.ActiveNeurons, r.Outputs, r.Samples, r.Patterns, r.PatternMode)
	} else {
		fmt.Fprintf(w, "convex      %s  (optimum of the convex program)\n", fmtNum(r.ConvexObjective))
		fmt.Fprintf(w, "nonconvex   %s  (loss + weight decay of the recovered network, from its weights)\n", fmtNum(r.NonconvexObjective))
		fmt.Fprintf(w, "dual bound  %s  gap %s  [%s]\n", fmtNum(r.DualObjective), fmtNum(r.Gap), r.DualScope)
		r.writeCertLines(w)
		fmt.Fprintf(w, "network     %d active neurons; %d samples, %d patterns (%s), %d variables, %d constraints\n",
			r.ActiveNeurons, r.Samples, r.Patterns, r.PatternMode, r.Variables, r.Constraints)
	}
	fmt.Fprintf(w, "train       loss %s  accuracy %s\n", fmtNum(r.TrainLoss), fmtNum(r.TrainAccuracy))
	if r.TestLoss != nil {
		fmt.Fprintf(w, "test        loss %s  accuracy %s\n", fmtNum(r.TestLoss), fmtNum(r.TestAccuracy))
	}
	r.writeFixedOut(w)
	if a := r.Adaptive; a != nil {
		scope := "over the patterns the search evaluated (not exhaustive)"
		if a.Exhaustive {
			scope = "over the whole arrangement (exhaustive search)"
		}
		fmt.Fprintf(w, "adaptive    %d rounds, %d patterns added (%d seeded, %d by local search) per round %v; ρ %s %s\n",
			a.Rounds, a.Added, a.Seeded, a.LocalPatterns, a.AddedPerRound, fmtNum(a.Ratio), scope)
		fmt.Fprintf(w, "adaptive    time: search %.1f s, certificate %.1f s, local search %.1f s, prune %.1f s, solve %.1f s; %s\n",
			a.Seconds.Search+a.Seconds.Seed, a.Seconds.Certificate, a.Seconds.LocalSearch, a.Seconds.Prune, a.Seconds.Solve, a.Stopped)
	}
	writeConfusion(w, "confusion   train", r.Classes, r.ConfusionTrain)
	writeConfusion(w, "confusion   test", r.Classes, r.ConfusionTest)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note        %s\n", n)
	}
}

// AdaptiveReport is report.json's "adaptive" object: the work of `patterns
// adaptive` (docs/adaptive.md).
type AdaptiveReport struct {
	Rounds        int   `json:"rounds"`
	Seeded        int   `json:"seeded"`          // patterns of the seeding local search
	Added         int   `json:"added"`           // patterns added over the rounds
	AddedPerRound []int `json:"added_per_round"` // per round
	LocalPatterns int   `json:"local_patterns"`  // of the added, from the rounds' local searches
	Evaluations   int   `json:"search_evaluations"`
	Gates         int   `json:"gate_evaluations"`
	// Exhaustive: the last search covered the whole arrangement, so Ratio is the
	// certificate over every pattern and BestBound a lower bound on every network.
	Exhaustive bool `json:"exhaustive"`
	// Ratio is ρ of the last search: max over the program's patterns and the new
	// ones found, over β (a lower bound on the arrangement's ρ unless exhaustive).
	Ratio     *float64 `json:"ratio"`
	BestBound *float64 `json:"best_bound"` // null unless a search was exhaustive
	Stopped   string   `json:"stopped"`    // why the loop ended
	Seconds   struct {
		Seed        float64 `json:"seed"`
		Search      float64 `json:"search"`
		Certificate float64 `json:"certificate"`
		LocalSearch float64 `json:"local_search"`
		Prune       float64 `json:"prune"`
		Solve       float64 `json:"solve"`
	} `json:"seconds"`
	Log []AdaptiveRound `json:"log"`
}

// AdaptiveRound is one search of the adaptive loop and the re-solve after it.
type AdaptiveRound struct {
	Patterns       int      `json:"patterns"`  // of the program searched
	Objective      *float64 `json:"objective"` // its restricted optimum
	Elapsed        float64  `json:"elapsed"`   // seconds from the start of the solve to it
	Ratio          *float64 `json:"ratio"`
	Found          int      `json:"found"` // violating patterns found
	Added          int      `json:"added"`
	Local          int      `json:"local"`           // of the added, from the local search
	LocalObjective *float64 `json:"local_objective"` // where the local search ended
	Evaluations    int      `json:"search_evaluations"`
	Gates          int      `json:"gate_evaluations"`
	SearchSeconds  float64  `json:"search_seconds"`
	SolveSeconds   float64  `json:"solve_seconds"`
	Status         string   `json:"status,omitempty"` // the re-solve's
}

func adaptiveReport(a *train.Adaptive) *AdaptiveReport {
	r := &AdaptiveReport{Rounds: a.Rounds, Seeded: a.Seeded, Added: a.Added, AddedPerRound: append([]int{}, a.PerRound...),
		LocalPatterns: a.Local, Evaluations: a.Evaluations, Gates: a.Gates, Exhaustive: a.Exhaustive,
		Ratio: Num(a.Ratio), BestBound: Num(a.BestBound), Stopped: a.Stopped, Log: []AdaptiveRound{}}
	r.Seconds.Seed, r.Seconds.Search, r.Seconds.Certificate = a.SeedSec, a.SearchSec, a.CertifySec
	r.Seconds.LocalSearch, r.Seconds.Prune, r.Seconds.Solve = a.LocalSec, a.PruneSec, a.SolveSec
	for _, l := range a.Log {
		r.Log = append(r.Log, AdaptiveRound{Patterns: l.Patterns, Objective: Num(l.Objective), Elapsed: l.Elapsed, Ratio: Num(l.Ratio),
			Found: l.Found, Added: l.Added, Local: l.Local, LocalObjective: Num(l.LocalObjective),
			Evaluations: l.Evaluations, Gates: l.Gates, SearchSeconds: l.SearchSec, SolveSeconds: l.SolveSec, Status: string(l.Status)})
	}
	return r
}

// writeCertLines explains the certificate behind the dual bound (the same words
// `cnnc verify` prints): which bound, over which patterns, how tight it may be, and
// why the check at the network's own prediction is looser when β is small.
func (r *Report) writeCertLines(w io.Writer) {
	c := r.Certificate
	if c == nil {
		return
	}
	fmt.Fprintf(w, "certificate ρ = %.9f over %s: θ = %.9f, bound = D(θλ) − %.2g (rounding), the dual point λ is in report.json\n",
		c.Rho, c.PatternSet, c.Theta, c.Margin)
	if c.OwnRho != nil && c.OwnBound != nil && (*c.OwnRho > c.Rho*(1+1e-9) || c.Source != "prediction") {
		fmt.Fprintf(w, "            at the network's own prediction (λ = −∇ℓ(ŷ), what `verify` can check from the weights alone): ρ = %.6g, bound %.10g; %s\n",
			*c.OwnRho, *c.OwnBound, LooseNote(r.Beta, r.Loss, *c.OwnRho))
	}
}

// LooseNote says why the certificate at a prediction's own λ = −∇ℓ(ŷ) can be loose
// near the optimum (docs/certificates.md, "What solve prints"): ρ − 1 grows like
// ‖𝒫‖·‖ŷ − ŷ*‖/β, and for the hinge loss the subgradient on the margin is not the
// optimal dual value there.
func LooseNote(beta float64, loss string, rho float64) string {
	if loss == "hinge" && rho <= 1 {
		return "the hinge loss has a kink on the margin, where any aᵢ ∈ [0, 1] is a subgradient and only the solver's dual point has the right one, so the prediction's own λ gives a loose bound"
	}
	return fmt.Sprintf("near the optimum ρ − 1 grows like ‖𝒫‖·‖ŷ − ŷ*‖/β, so with β = %g a prediction off by 1e-4 can give ρ ≫ 1 while the solver's dual point certifies the gap", beta)
}
