// Package train owns the training pipeline that `cnnc solve` runs: derive the convex
// program (compiler/derive), choose a solver, solve, grow the pattern set in the
// adaptive mode, certify (backend/certify), recover the network (Rule.Recover) and
// evaluate it directly from its weights (compiler/network.Objective).
//
// Input: a derive.Input (checked model, training data, train block) and Options.
// Output: an *Outcome with every number report.json needs.
//
// Solvers. Template programs (families only) with squared, hinge or logistic loss go
// to the structured solver (Options.Template; the CLI wires backend/native/group),
// those with CostMaps block costs (§8's Fourier ℓ1, §9b's group regulariser) with the
// squared loss only (structuredCosts); everything else, and `solver conic`, goes
// through compiler/canon to a conic solver
// (Options.Conic; the CLI wires backend/native/cone); Options.ConicQuadraticLoss canonicalises the squared
// loss as LSQ′ (a quadratic objective) instead of the LSQ cone. Both are plain function values so the pipeline does
// not depend on a particular back end and tests can plug in CVXOPT.
//
// Adaptive mode (§1, docs/math/01-machinery.md; docs/adaptive.md, `patterns adaptive
// start=N max=M seed=S`): start from N sampled patterns per family and solve. FC ReLU
// programs with squared loss are then seeded with one local search's patterns
// (seed.go). Each round, at the current solution: search every family for patterns
// violating the dual certificate (certify.Search: over the exact arrangement when its
// Cover count is at most ExhaustiveLimit, else a batched gradient ascent on the
// certificate objective from the active patterns and seeded gates); certify the
// program's own patterns (ρ = max of both); take the AddPerRound most violating
// patterns over all families and, for FC ReLU programs, the new patterns of a local
// search started from the solution's network (LocalIterations L-BFGS steps; added
// when it ended below the round's optimum, which bounds the next one); prune the
// solution (Carathéodory), extend the program and re-solve warm-started (new blocks
// start at 0). Stop when nothing is added (no violator and no local-search pattern,
// or two rounds that lowered the objective by less than Tol with no violator), every
// family with violators has M patterns, the context ends, or a re-solve returns a
// non-finite point (the previous solution is kept). The structured solver returns
// its unrounded certified point (NativeTemplate): with β small, a rounded point's
// residual gives a badly wrong ρ.
//
// CNN programs (§4 cnn-gap, §5.2 cnn-pool: one family per pooling window, §6
// cnn-maxpool) map a gate u to a pattern column with derive.PatternColumn — the
// constructor the initial build uses — and to its weights in batches with
// derive.PatternWeights, so the average pattern is 1[M_l u ≥ 0] and the max-pattern
// π(i) = argmax_k x_ikᵀu (off when < 0); the exhaustive search enumerates the cells of
// M_l (average) or of the stacked rows [x_ik ; x_ik − x_ik′] (max). The outcome
// (Adaptive) records rounds, patterns added (per round, by the local searches), the
// search effort, the last ρ, the best lower bound seen (exhaustive searches only),
// why the loop stopped, the wall-time split (seed, search, certificate, local search,
// prune, solve) and a log of every round.
//
// Measured (adaptive mode; shared 2-core machine at load 20–27, details in
// docs/adaptive.md): the acceptance test (FC, n = 200, d = 10, ±1 labels, β = 1e-3,
// max = 1000) reaches 0.030404 in 40.9 s of CPU (105 s wall) against 0.033797 for the
// best of 5 L-BFGS runs, below it from the first re-solve on (was 0.030938 after 466 s
// and 3000 patterns); re-solves take 68 % of the wall time, the local searches 17 %,
// the search 2 %. Fashion-MNIST CNN, 100 images, 300 patterns: 0.598134 in 63 s of CPU
// and 0.6 GB (was 1.178011 in 461 s and 8.9 GB); search 15 % of the wall time, re-solves
// 78 %.
//
// Fixed-output-weight CNNs (§11, rule fixed-out) take their own path (anchored.go): the
// anchored relaxation is solved by backend/native/anchored (Options.Anchored) or, with
// `solver conic`, through compiler/canon; the filter is polished on its active pieces,
// recovered, and certified by the zero-loss check of Outcome.ZeroLoss, computed from the
// weights alone; with `synthetic planted` data Outcome.Planted compares it with the
// hidden filter.
//
// Lower bounds (Outcome.DualObjective, DualSource, Cert; docs/certificates.md): a
// bound printed as certified holds in floating point. The pipeline never reports a
// solver's dual objective as one: it takes the solver's dual point λ (the structured
// solver's, or the conic solver's loss multipliers through canon.Map.LossDual) and
// the final prediction's own λ = −∇ℓ(ŷ), recomputes ρ(λ) over the program's patterns
// and the safe bound for each (certify.CertifyDual), and reports the higher:
//   - "global": the patterns are the full arrangement (exact and exhaustive, or an
//     exhaustive adaptive search), so the bound is a lower bound on the non-convex
//     problem's global optimum;
//   - "restricted": sampled patterns; a lower bound on the program over them only;
//   - none: programs outside the template (linear CNNs); Outcome.SolverDual keeps the
//     solver's value, uncertified.
//
// Vector outputs (linear C, C ≥ 2; vector.go): a rule with Rule.Vector set is run by
// the vector pipeline instead — its program is a convex.VectorProgram, solved by
// backend/native/vecout, and the Outcome carries a certified bracket and its scope in
// Outcome.Vector (Program and Solution are nil).
package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cnnc-org/cnnc/backend/certify"
	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/pattern"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/canon"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/progress"

	"gonum.org/v1/gonum/mat"
)

// SolverSettings are the settings passed to every solver.
type SolverSettings struct {
	Tol      float64 // relative tolerance (train block `tol`, default 1e-6)
	MaxIters int     // iteration cap (train block `max_iters`, 0: solver default)
	// Context, when set, ends the solve early (solver.Stop): a deadline gives status
	// time_limit, a cancellation (Ctrl-C) status interrupted. nil: never stops.
	Context context.Context
	// TimeLimit > 0 bounds the wall time of the solve phase — from the end of the
	// derivation through the solves (every adaptive round included) — as a deadline
	// added to Context; the best point so far is returned with status time_limit.
	TimeLimit time.Duration
	// Method picks the structured solver's method (NativeTemplate): "group", "ipm",
	// "al", or "" for TemplateMethod's choice by problem size.
	Method string
	// MaxMemory is the memory budget the solvers check their dominant allocations
	// against (lang/budget; 0: Run takes derive.Input.MaxMemory).
	MaxMemory int64
}

// Solved is a template solver's answer in program terms.
type Solved struct {
	Status     solver.Status
	Solution   *convex.Solution
	Objective  float64 // primal objective on the docs/language.md scale
	Dual       float64 // lower bound on the (restricted) program's optimum
	Iterations int
	// DualPoint is the dual point λ behind Dual (nil if the solver has none): the
	// pipeline recomputes the certificate from it (certify.CertifyDual), so Dual is
	// never taken on trust.
	DualPoint []float64
	// DualMult are cone multipliers that come with DualPoint (nil if none): after a
	// stop the pipeline bounds ρ with them (certify.CertifyDualMult) instead of
	// maximising over every cone row.
	DualMult []certify.BlockMult
	Method   string // the structured method that ran ("group", "large ipm", …)
}

// TemplateSolver solves a family-only program (e.g. backend/native/group).
type TemplateSolver func(p *convex.Program, warm *convex.Solution, s SolverSettings, rec solver.Recorder) (*Solved, error)

// ConicSolved is a conic solver's answer.
type ConicSolved struct {
	Status     solver.Status
	X          []float64
	Primal     float64 // user-scale objective
	Dual       float64 // user-scale dual objective (the solver's; never reported as certified)
	Iterations int
	// Y is the conic dual (SCS conventions), nil if the solver has none: for template
	// programs it gives the certificate's dual point (canon.Map.LossDual).
	Y []float64
}

// ConicSolver solves a conic problem (e.g. backend/native/cone).
type ConicSolver func(p *conic.Problem, s SolverSettings, rec solver.Recorder) (*ConicSolved, error)

// Options configures Run.
type Options struct {
	Solver   string // "" → the train block's solver; "native" or "conic"
	Settings SolverSettings
	Template TemplateSolver
	Conic    ConicSolver
	// Anchored solves the fixed-output relaxation (§11); nil: NativeAnchored.
	Anchored AnchoredSolver
	Recorder solver.Recorder
	// ConicQuadraticLoss canonicalises the squared loss as LSQ′ (canon.Options
	// .QuadraticLoss: a quadratic objective, so the conic problem has a P) for the
	// conic path. The native conic solver needs about six times fewer iterations on
	// it (backend/native/cone doc); CVXOPT's coneqp often stops short on it, so it is
	// opt-in. Run turns it on when it supplies NativeConic itself (Conic nil).
	ConicQuadraticLoss bool
	// Search settings of the adaptive mode (defaults in certify.SearchOptions).
	SearchSamples int
	// ExhaustiveLimit overrides the package's ExhaustiveLimit for the adaptive search
	// (0: ExhaustiveLimit; negative: never enumerate, always the heuristic search).
	ExhaustiveLimit int
}

// ExhaustiveLimit is the largest Cover count for which the adaptive search and the
// final certificate enumerate the full arrangement.
const ExhaustiveLimit = 20000

// AddPerRound caps the certificate-violating patterns added per adaptive round (the
// local search's patterns come on top).
const AddPerRound = 50

// LocalIterations caps the L-BFGS iterations of each round's local search (FC).
const LocalIterations = 1000

// Adaptive records the work of the adaptive mode.
type Adaptive struct {
	Seeded      int // patterns of the seeding local search (seed.go)
	Rounds      int
	Added       int
	Evaluations int
	Exhaustive  bool    // the last search covered the whole arrangement
	BestBound   float64 // best lower bound seen (certificate), NaN if none
	Ratio       float64 // ρ of the last search: max(restricted patterns, new ones found) / β
	Stopped     string  // why the loop ended, in words
	PerRound    []int   // patterns added in each round
	SearchSec   float64 // wall time spent in the searches and certificates
	// Time split (wall seconds): the seeding local search, the restricted
	// certificate over the program's own patterns, the Carathéodory pruning and
	// the re-solves (the seeded one included); SearchSec is the searches proper.
	SeedSec, CertifySec, PruneSec, SolveSec, LocalSec float64
	Gates                                             int // gate evaluations of the batched gradient ascent (certify.SearchStats)
	Local                                             int // patterns added from the rounds' local searches
	// Log has one entry per search (the last one found nothing to add, or stopped).
	Log []AdaptiveRound

	best *Cert // the certificate behind BestBound
}

// AdaptiveRound is one search of the adaptive loop and the re-solve that followed it.
type AdaptiveRound struct {
	Patterns    int     // patterns of the program searched
	Objective   float64 // its restricted optimum (the solution searched)
	Elapsed     float64 // wall seconds from the start of Run to this solution
	Ratio       float64 // ρ at that solution: max(restricted, new patterns found)/β
	Found       int     // violating patterns found
	Added       int     // of them added
	Evaluations int     // exact evaluations of the search
	Gates       int     // gate evaluations of its gradient ascent
	Local       int     // of the added patterns, those from the local search
	// LocalObjective is the non-convex objective the round's local search reached
	// (NaN when there was none): the re-solve's optimum is at most this.
	LocalObjective float64
	SearchSec      float64
	SolveSec       float64
	Status         solver.Status // the re-solve's status ("" when there was none)
}

// Outcome is everything report.json and weights.json need.
type Outcome struct {
	Rule     *derive.Rule
	Program  *convex.Program
	Solution *convex.Solution
	Weights  *network.Weights

	Status          solver.Status
	SolverName      string
	ConvexObjective float64
	// DualObjective is the certified lower bound (it holds in floating point) and
	// DualSource says what it bounds and where it comes from; NaN with a source that
	// says why when there is none.
	DualObjective  float64
	DualSource     string
	RestrictedDual float64 // the structured solver's own bound for the restricted program (NaN on the conic path)
	// SolverDual is the solver's own dual objective as the solver reported it: never a
	// certified bound (printed only as information).
	SolverDual float64
	// Certificate is the certificate at the final prediction's own dual point
	// (−∇ℓ(ŷ)) over the program's patterns, the check `cnnc verify` repeats from the
	// weights alone. nil after a stop (time_limit, interrupted) when the solver
	// returned a dual point: only that one is certified then.
	Certificate *certify.Result
	// Cert is the certificate behind DualObjective: its dual point, ρ, the pattern
	// set ρ was taken over and the bound (report.json's "certificate").
	Cert *Cert

	NonconvexObjective float64
	Loss, Penalty      float64
	// TrainPrediction is the recovered network's output on the training data (the
	// forward pass behind NonconvexObjective; nil where another path evaluated it),
	// so the report's training accuracy needs no second pass.
	TrainPrediction *mat.Dense
	ActiveNeurons   int
	Sizes           convex.Sizes
	Iterations      int
	Seconds         float64
	Adaptive        *Adaptive
	// ZeroLoss is the certificate of the fixed-output relaxation (§11, anchored.go);
	// nil for every other rule.
	ZeroLoss *ZeroLoss
	// Planted compares the recovered filter with the hidden one of `synthetic
	// planted` data (fixed-output rule only; nil otherwise).
	Planted *Planted
	// Notes are sentences for the report (e.g. why an optimal solver's status was
	// lowered).
	Notes       []string
	Diagnostics diag.List
	// Settings are the solver settings the run used, defaults resolved (Tol,
	// MaxIters as passed to the solver; 0 MaxIters: the solver's own default).
	Settings SolverSettings

	// Vector is set for vector-output rules (vector.go): the bracket and its scope.
	// Program and Solution are nil then (the program is Vector.Program).
	Vector *VectorOutcome

	dualPoint []float64           // the last solve's dual point (certifyOutcome)
	dualMult  []certify.BlockMult // its cone multipliers, if the solver gave them
}

// Cert is the certificate behind a run's certified bound (docs/certificates.md): a
// dual point λ, an upper bound ρ on max_p max_{u ∈ B₂ ∩ 𝒦_p} |λᵀ𝒫_p u|/β over a stated
// pattern set, and the floating-point-safe bound D(θλ) − margins with θ ≤ 1/ρ
// (certify.SafeBound). Anyone holding λ and the data can recompute ρ and the bound.
type Cert struct {
	Lambda []float64
	Rho    float64
	Theta  float64
	Bound  float64
	// Scope is "global" when ρ was taken over every activation pattern (the bound is
	// then a lower bound on the non-convex problem's global optimum), "restricted"
	// when over the program's own (sampled) patterns (a lower bound on that program).
	Scope string
	// Patterns is the number of patterns ρ was taken over; PatternSet says which
	// ("exact enumeration", "the N sampled patterns", "exhaustive search").
	Patterns   int
	PatternSet string
	// Source says where λ came from: "solver" (the solver's dual point) or
	// "prediction" (−∇ℓ(ŷ) at the returned solution).
	Source string
	// Margin is the rounding margin subtracted from the dual value (and the bias
	// residual's term).
	Margin float64
}

// Run derives, solves, recovers and evaluates. Diagnostics (bad input, no convex
// equivalent, width too small) come back as a diag.List error with the Outcome's
// Diagnostics set; a non-optimal solver status is not an error.
func Run(in *derive.Input, opts Options) (*Outcome, error) {
	start := time.Now()
	rec := opts.Recorder
	if rec == nil {
		rec = solver.Nop{}
	}
	settings := opts.Settings
	if settings.Tol <= 0 {
		settings.Tol = in.Train.Solver.Options["tol"]
	}
	if settings.Tol <= 0 {
		settings.Tol = 1e-6
	}
	if settings.MaxIters <= 0 {
		settings.MaxIters = int(in.Train.Solver.Options["max_iters"])
	}
	if in.Context == nil {
		in.Context = settings.Context
	}
	if settings.MaxMemory == 0 {
		settings.MaxMemory = in.MaxMemory
	}
	if r, _ := derive.Select(in); r != nil && r.Vector != nil {
		return runVector(in, r, opts, settings, rec, start)
	}
	rule, prog, dl := derive.Derive(in)
	out := &Outcome{Rule: rule, Program: prog, Diagnostics: dl, DualObjective: math.NaN(), RestrictedDual: math.NaN(), SolverDual: math.NaN(), Settings: settings}
	if dl.HasErrors() || prog == nil {
		if !dl.HasErrors() {
			return out, errors.New("train: derive returned no program")
		}
		return out, dl
	}
	if settings.TimeLimit > 0 {
		ctx := settings.Context
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, settings.TimeLimit)
		defer cancel()
		settings.Context = ctx
		opts.Settings.Context = ctx
	}
	if opts.Template == nil {
		opts.Template = NativeTemplate
	}
	if opts.Conic == nil {
		opts.Conic = NativeConic
		opts.ConicQuadraticLoss = true
	}
	name := opts.Solver
	if name == "" {
		name = in.Train.Solver.Name
	}
	if prog.Anchored != nil {
		return runAnchored(in, rule, prog, name, settings, opts, rec, out, start)
	}
	solve := func(p *convex.Program, warm *convex.Solution) (*convex.Solution, error) {
		sol, err := solveOnce(p, warm, name, settings, opts, rec, out)
		return sol, err
	}
	sol, err := solve(prog, nil)
	if err != nil {
		return out, err
	}
	if in.Train.Patterns.Mode == ir.Adaptive {
		opts.Settings = settings
		sol, err = adaptive(in, prog, sol, solve, opts, out, start)
		if err != nil {
			return out, err
		}
	}
	// Carathéodory pruning: same prediction, no larger objective, at most n nonzero
	// blocks — a sparse network even when the solver returns an interior point.
	// After a stop it is skipped: the report must follow the signal promptly.
	// The stages after the solver print their elapsed time every two seconds once
	// they pass two (at n = 10 000: pruning 15 s, the certificate 19 s).
	if out.Status != solver.TimeLimit && out.Status != solver.Interrupted {
		task := progress.Tick(in.Progress, "pruning the solution (Carathéodory reduction)")
		sol = prog.Prune(sol)
		task.End()
	}
	out.Solution = sol
	// The network is recovered first and its objective evaluated from its weights
	// alone (network.ObjectivePrediction) beside the convex objective and the
	// certificate: three forward-sized products of about half a second each at
	// n = 10 000, which a stopped run would otherwise do one after the other. Each
	// is deterministic, so running them together changes no number.
	w, rerr := rule.Recover(in, prog, sol)
	type netEval struct {
		obj, loss, pen float64
		pred           *mat.Dense
		err            error
	}
	var netc chan netEval
	if rerr == nil {
		netc = make(chan netEval, 1)
		go func() {
			var e netEval
			e.obj, e.loss, e.pen, e.pred, e.err = network.ObjectivePrediction(in.Model, w, in.Data.X, in.Data.Y)
			netc <- e
		}()
	}
	// one forward product for the objective and the certificate
	var yhat []float64
	if prog.Anchored == nil {
		yhat = prog.Predict(sol)
		out.ConvexObjective = prog.LossOf(yhat) + prog.Beta*prog.Regularization(sol)
	} else {
		out.ConvexObjective = prog.Objective(sol)
	}
	out.Sizes = prog.Sizes()
	task := progress.Tick(in.Progress, "certificate (ρ over every pattern's cone)")
	certifyOutcome(in, prog, sol, yhat, out)
	task.End()
	// for the structured solvers, whose status rests on their certificate, optimal
	// means the gap the report prints — recomputed here from the solver's dual point,
	// independently of the solver — meets the tolerance: one whose own bound certified
	// it while this one does not is reported inaccurate (the conic solvers' optimal is
	// their own stopping rule, stated as such in the report)
	gap := (out.ConvexObjective - out.DualObjective) / math.Max(1, math.Abs(out.ConvexObjective))
	if out.Status == solver.Optimal && out.SolverName != "conic" && gap > settings.Tol*(1+1e-6)+1e-12 {
		out.Status = solver.Inaccurate
		out.Notes = append(out.Notes, fmt.Sprintf("status inaccurate: the solver certified its point with its own bound, but the recomputed bound leaves a relative gap of %.3g, above the tolerance %g", gap, settings.Tol))
	}

	if rerr != nil {
		var l diag.List
		if errors.As(rerr, &l) {
			out.Diagnostics = append(out.Diagnostics, l...)
		}
		return out, rerr
	}
	out.Weights = w
	for _, t := range w.Tensors {
		if len(t.Shape) == 2 && t.Shape[0] == 1 && t.Name == fmt.Sprintf("L%d.weight", len(in.Model.Layers)-1) {
			for _, a := range t.Data {
				if a != 0 {
					out.ActiveNeurons++
				}
			}
		}
	}
	e := <-netc
	if e.err != nil {
		return out, fmt.Errorf("train: evaluating the recovered network: %v", e.err)
	}
	out.NonconvexObjective, out.Loss, out.Penalty, out.TrainPrediction = e.obj, e.loss, e.pen, e.pred
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// solveOnce runs the chosen solver on p and fills the solver fields of out.
func solveOnce(p *convex.Program, warm *convex.Solution, name string, s SolverSettings, opts Options, rec solver.Recorder, out *Outcome) (*convex.Solution, error) {
	template := isTemplate(p)
	useTemplate := name != "conic" && template && (p.Loss == "squared" || p.Loss == "" || p.Loss == "hinge" || p.Loss == "logistic") && structuredCosts(p)
	if useTemplate && opts.Template != nil {
		r, err := opts.Template(p, warm, s, rec)
		if err != nil {
			return nil, err
		}
		out.Status, out.SolverName = r.Status, "native group"
		// the solver's bound (the structured solver computes it with certify.SafeBound);
		// certifyOutcome recomputes the reported one from the dual point
		out.RestrictedDual, out.SolverDual = r.Dual, r.Dual
		out.dualPoint, out.dualMult = nil, nil
		if r.DualPoint != nil {
			out.dualPoint, out.dualMult = domainPoint(p, r.DualPoint), r.DualMult
		}
		if r.Method != "" && r.Method != "group" {
			out.SolverName = "native " + r.Method
		}
		out.Iterations += r.Iterations
		return r.Solution, nil
	}
	if opts.Conic == nil {
		if useTemplate {
			return nil, errors.New("train: no solver available for this program (the structured solver is not configured and no conic solver is)")
		}
		return nil, fmt.Errorf("train: no conic solver configured (needed for loss %q / solver %q)", p.Loss, name)
	}
	prob, m, err := canon.CanonicalizeWith(p, canon.Options{QuadraticLoss: opts.ConicQuadraticLoss})
	if err != nil {
		return nil, err
	}
	r, err := opts.Conic(prob, s, rec)
	if err != nil {
		return nil, err
	}
	out.Status, out.SolverName = r.Status, "conic"
	out.RestrictedDual, out.SolverDual = math.NaN(), r.Dual
	out.Iterations += r.Iterations
	if len(r.X) != prob.N {
		return nil, fmt.Errorf("train: conic solver returned %d values for %d columns (status %s)", len(r.X), prob.N, r.Status)
	}
	sol := m.Solution(r.X)
	out.dualPoint, out.dualMult = nil, nil
	if template && len(p.Families) > 0 {
		// The conic solver's dual objective is not a bound in floating point (it
		// exceeded feasible objectives by 1e-8 relative): the certificate is
		// recomputed from its dual point (the loss rows' multipliers), or from the
		// returned prediction when it has none, by certify.CertifyDual.
		lam := m.LossDual(r.Y)
		if lam == nil {
			lam = certify.Residual(p, p.Predict(sol))
		}
		out.dualPoint = domainPoint(p, lam)
	}
	return sol, nil
}

// quickWork: above this much cone work (coneWork: Σ over families of rows ×
// patterns × H³) a stopped run certifies its dual point without maximising over the
// cones: with the solver's cone multipliers when it gave them
// (certify.CertifyDualMult, one product 𝒫ᵀλ per pattern: n = 10 000 Fashion-MNIST
// images, 200 patterns, stopped at 75 s: 696 against 748 from the maximisations),
// else with the gradient norms (far looser: 0.064 against 739). Measured cost of
// the maximisations: 9.8·10⁷ rows of 4 × 4 patches (H = 17), 4.8·10¹¹ units, 14 s on
// 2 cores; a fully connected layer on 28 × 28 images (H = 785, 2 000 rows per
// pattern), 9.7·10¹¹ units per pattern, about 50 s per pattern (an NNLS in R⁷⁸⁵).
// A stop must end the run within a few seconds; below this much work they take
// about a second and give the tighter bound.
const quickWork = 3e10

// coneWork is Σ over p's families of cone rows × patterns × H³ (quickWork).
func coneWork(p *convex.Program) float64 {
	t := 0.0
	for _, f := range p.Families {
		if f.C != nil {
			r, _ := f.C.Dims()
			h := float64(f.H)
			t += float64(r) * float64(f.Patterns()) * h * h * h
		}
	}
	return t
}

// coneRows is Σ over p's families of cone rows × patterns.
func coneRows(p *convex.Program) float64 {
	t := 0.0
	for _, f := range p.Families {
		if f.C != nil {
			r, _ := f.C.Dims()
			t += float64(r) * float64(f.Patterns())
		}
	}
	return t
}

// isTemplate reports whether p is made of families only (§12's template).
func isTemplate(p *convex.Program) bool {
	return len(p.Vars) == 0 && len(p.Terms) == 0 && len(p.Penalties) == 0 && len(p.Constraints) == 0
}

// domainPoint returns a copy of λ in the loss's domain and, with an output bias,
// centred (certify.Loss.Clip, Center): the form certify.CertifyDual needs.
func domainPoint(p *convex.Program, lam []float64) []float64 {
	l, err := certify.ProgramLoss(p)
	if err != nil || len(lam) != p.N {
		return lam
	}
	v := append([]float64(nil), lam...)
	l.Clip(v)
	if p.OutputBias {
		l.Center(v)
	}
	return v
}

// fullArrangement returns the exact arrangement of the family's hyperplanes when its
// Cover count is at most limit (0: ExhaustiveLimit; negative: never), else nil: the rows of A for FC and
// average-pooling CNN families (C = A up to row scaling), the stacked rows of C for a
// max-pooling family (§6: max-patterns are constant on its cells).
func fullArrangement(f *convex.Family, limit int) *pattern.Set {
	if limit == 0 {
		limit = ExhaustiveLimit
	}
	if limit < 0 || f.C == nil && f.Signs[0] != 1 {
		return nil
	}
	if full, ok := f.Meta[derive.MetaFull].(func(int) *pattern.Set); ok {
		return full(limit) // a family with its own enumeration (three-layer pairs)
	}
	if _, ok := f.Meta[derive.MetaColumn]; ok {
		return nil
	}
	A := f.A
	if f.Meta["pool"] == "max" {
		A = f.C
	}
	s, err := pattern.Exact(A, limit)
	if err != nil {
		return nil
	}
	return s
}

// columnFunc is the adaptive search's gate → column map of family f: the CNN rules'
// own constructor (derive.PatternColumn) for CNN families, nil (certify's FC layout)
// otherwise.
func columnFunc(f *convex.Family) certify.ColumnFunc {
	if fn, ok := f.Meta[derive.MetaColumn].(func([]float64) ([]float64, []float64, bool)); ok {
		return fn // a family with its own gate → column map (three-layer pairs)
	}
	if _, cnn := f.Meta["pool"]; !cnn {
		return nil
	}
	return func(u []float64) ([]float64, []float64, bool) { return derive.PatternColumn(f, u) }
}

// certifyOutcome fills the certificate and the certified bound (docs/certificates.md);
// yhat is the program's prediction at sol (nil: computed here).
//
// Template programs: the candidates are the solver's dual point (out.dualPoint) and
// the final prediction's own λ = −∇ℓ(ŷ); each is recomputed by certify.CertifyDual
// over the program's patterns (ρ with rounding margins, the floating-point-safe
// bound) and the higher bound is reported. The scope is "global" when the pattern set
// is the full arrangement (patterns exact, every family's enumeration exhaustive), or
// an exhaustive adaptive search covered it; otherwise "restricted" (a lower bound on
// the program over its sampled patterns only). Programs outside the template (linear
// CNNs) have no certified bound: the solver's dual objective is kept as SolverDual
// only.
func certifyOutcome(in *derive.Input, p *convex.Program, sol *convex.Solution, yhat []float64, out *Outcome) {
	out.DualObjective = math.NaN()
	if !isTemplate(p) || len(p.Families) == 0 {
		out.DualSource = "none: this program is outside the template the certificate covers, and a solver's dual objective is not a bound in floating point (solver_dual is the solver's value, uncertified)"
		return
	}
	// A family is complete when it holds every pattern of its arrangement (exact and
	// exhaustive) or has no activation patterns at all (the linear CNN of §7.1,
	// docs/math/07-linear-cnn.md: its one block is the whole program, in every mode).
	complete, linear := true, true
	total := 0
	for _, f := range p.Families {
		total += f.Patterns()
		if l, _ := f.Meta["linear"].(bool); l {
			continue
		}
		linear = false
		if e, _ := f.Meta["exhaustive"].(bool); !e || in.Train.Patterns.Mode != ir.Exact {
			complete = false
		}
	}
	scope, set := "restricted", fmt.Sprintf("the program's %d sampled patterns", total)
	switch {
	case linear:
		scope, set = "global", "the whole program (a linear CNN has no activation patterns)"
	case complete:
		scope, set = "global", fmt.Sprintf("every activation pattern (%d, exact enumeration)", total)
	case in.Train.Patterns.Mode == ir.Exact:
		set = fmt.Sprintf("the %d patterns of an exact enumeration that could not certify its completeness (degenerate data)", total)
	case in.Train.Patterns.Mode == ir.Adaptive:
		set = fmt.Sprintf("the program's %d patterns after the adaptive rounds", total)
	}
	var best *certify.Result
	source := ""
	var own *certify.Result
	var cerr error
	stopped := out.Status == solver.TimeLimit || out.Status == solver.Interrupted
	// after a stop on a program whose cone maximisations take more than about a
	// second, ρ is bounded without them (quickWork)
	quick := stopped && coneWork(p) > quickWork
	if !stopped || out.dualPoint == nil {
		// after a stop with a solver's dual point only that one is certified: each
		// certificate maximises over every cone row of every pattern (seconds at
		// n = 10 000), and the stop must end the run within about a second
		if yhat == nil {
			yhat = p.Predict(sol)
		}
		if quick {
			own, cerr = certify.CertifyDualMult(p, domainPoint(p, certify.Residual(p, yhat)), nil)
			out.Notes = append(out.Notes, fmt.Sprintf("after the stop, ρ was bounded with the gradient norms at the returned prediction instead of maximising over the %.3g cone rows (a looser bound, written promptly); `cnnc verify` recomputes it with the maximisations, which can only raise the bound", coneRows(p)))
		} else {
			own, cerr = certify.Certify(p, yhat, nil)
		}
	}
	if cerr == nil && own != nil {
		out.Certificate = own
		if !math.IsNaN(own.LowerBound) {
			best, source = own, "prediction"
		}
	}
	if out.dualPoint != nil {
		certDual := certify.CertifyDual
		if quick {
			// after a stop on a large program: the multipliers' bound (no cone
			// maximisation), valid and looser, so the report is written promptly
			certDual = func(p *convex.Program, lam []float64, _ []*convex.Family) (*certify.Result, error) {
				return certify.CertifyDualMult(p, lam, out.dualMult)
			}
			how := "the solver's cone multipliers"
			if len(out.dualMult) == 0 {
				how = "the gradient norms (the solver gave no cone multipliers)"
			}
			out.Notes = append(out.Notes, fmt.Sprintf("after the stop, ρ was bounded with %s instead of maximising over the %.3g cone rows (a looser bound, written promptly); `cnnc verify` recomputes it with the maximisations, which can only raise the bound", how, coneRows(p)))
		}
		if c, err := certDual(p, out.dualPoint, nil); err == nil && !math.IsNaN(c.LowerBound) {
			if best == nil || c.LowerBound >= best.LowerBound {
				best, source = c, "solver"
			}
		}
	}
	if best == nil {
		out.DualSource = "none: no dual point in the loss's domain"
		if cerr != nil {
			out.DualSource = fmt.Sprintf("none: %v", cerr)
		}
		return
	}
	out.Cert = &Cert{Lambda: best.Lambda, Rho: best.Ratio, Theta: best.Bound.Theta, Bound: best.LowerBound,
		Scope: scope, Patterns: total, PatternSet: set, Source: source, Margin: best.Bound.Margin + best.Bound.BiasTerm}
	out.DualObjective = best.LowerBound
	if ad := out.Adaptive; !complete && ad != nil && ad.Exhaustive && ad.best != nil {
		// the exhaustive search covered the whole arrangement: a global bound (a lower
		// bound on the non-convex optimum bounds the restricted program too, so it is
		// reported even when the restricted bound is numerically higher)
		out.Cert = ad.best
		out.DualObjective = ad.BestBound
	}
	c := out.Cert
	from := "the solver's dual point"
	if c.Source == "prediction" {
		from = "the returned prediction's λ = −∇ℓ(ŷ)"
	} else if c.Source == "search" {
		from = "the dual point of the best adaptive round"
	}
	if c.Scope == "global" {
		out.DualSource = fmt.Sprintf("global: a lower bound on the non-convex problem's optimum, certified over %s (ρ = %.9f at %s)", c.PatternSet, c.Rho, from)
	} else {
		out.DualSource = fmt.Sprintf("restricted: a lower bound on the convex program over %s, not on the non-convex optimum (ρ = %.9f at %s)", c.PatternSet, c.Rho, from)
	}
}

// adaptive runs the column-generation loop (see the package doc) over every family of
// p (FC: one; CNN: one per pooling window). Each round searches every family for
// certificate-violating patterns (certify.Search with the family's column map and,
// when small enough, its exact arrangement), adds the AddPerRound most violating ones
// over all families (a family grows to at most max patterns) and, for an FC program,
// the new patterns of a local search started from the round's solution; then it
// re-solves warm-started.
func adaptive(in *derive.Input, p *convex.Program, sol *convex.Solution, solve func(*convex.Program, *convex.Solution) (*convex.Solution, error), opts Options, out *Outcome, start time.Time) (*convex.Solution, error) {
	ad := &Adaptive{BestBound: math.NaN()}
	out.Adaptive = ad
	nf := len(p.Families)
	if nf == 0 {
		return sol, nil
	}
	for _, f := range p.Families {
		if lin, _ := f.Meta["linear"].(bool); lin {
			// linear CNNs (§7) have no activation patterns: the program is exact as built
			ad.Stopped = "no activation patterns (linear network): nothing to search"
			return sol, nil
		}
	}
	cols := make([]certify.ColumnFunc, nf)
	weightFuncs := make([]certify.WeightFunc, nf)
	fulls := make([]*pattern.Set, nf)
	allFull := true
	for fi, f := range p.Families {
		cols[fi] = columnFunc(f)
		if cols[fi] != nil {
			if wf := derive.PatternWeights(f); wf != nil {
				weightFuncs[fi] = wf
			}
		}
		fulls[fi] = fullArrangement(f, opts.ExhaustiveLimit)
		allFull = allFull && fulls[fi] != nil
	}
	max := in.Train.Patterns.Max
	if max <= 0 {
		max = 100000
	}
	// Local searches (seed.go): FC programs with squared loss whose arrangement is too
	// large to search exhaustively. The seed is one local search of the non-convex
	// network from a seeded random start; each round then adds the patterns of a local
	// search started from the round's solution. Either way the program's optimum after
	// adding them is at most the local search's objective.
	local := nf == 1 && cols[0] == nil && !allFull && localSearchable(p, p.Families[0])
	if local {
		f := p.Families[0]
		t0 := time.Now()
		task := progress.Tick(in.Progress, "adaptive: local search for seed patterns")
		seeds := localSearchSeeds(opts.Settings.Context, p, f, in.Train.Patterns.N, in.Train.Patterns.Seed)
		task.End()
		ad.SeedSec = time.Since(t0).Seconds()
		if added := newPatterns(f, seeds, nil, max); len(added) > 0 {
			t0 = time.Now()
			sol = p.Prune(sol) // as in the rounds below
			ad.PruneSec += time.Since(t0).Seconds()
			warm, err := extend(p, sol, [][]certify.Candidate{added})
			if err != nil {
				return sol, err
			}
			ad.Seeded = len(added)
			t0 = time.Now()
			sol, err = solve(p, warm)
			ad.SolveSec += time.Since(t0).Seconds()
			if err != nil {
				return sol, err
			}
		}
	}
	type famCand struct {
		f int
		c certify.Candidate
	}
	stall := 0 // consecutive rounds that lowered the objective by less than Tol (relative)
	for round := 0; ; round++ {
		if st := solver.Stop(opts.Settings.Context); st != "" || out.Status == solver.Interrupted || out.Status == solver.TimeLimit {
			if st == "" {
				st = out.Status
			}
			ad.Stopped = fmt.Sprintf("stopped (%s) before round %d", st, round+1)
			out.Status = st
			break
		}
		rl := AdaptiveRound{Objective: p.Objective(sol), LocalObjective: math.NaN(), Elapsed: time.Since(start).Seconds()}
		for _, f := range p.Families {
			rl.Patterns += f.Patterns()
		}
		searchStart := time.Now()
		task := progress.Tick(in.Progress, fmt.Sprintf("adaptive round %d: searching for patterns that violate the certificate", round))
		yhat := p.Predict(sol)
		// the dual point to search at: the last solve's (recomputed, never trusted:
		// its ρ is the search's own), else the prediction's λ = −∇ℓ(ŷ)
		lam := certify.Residual(p, yhat)
		if len(out.dualPoint) == p.N {
			lam = out.dualPoint
		}
		var cands []famCand
		stMax := 0.0
		exhaustive := true
		for fi := range p.Families {
			so := certify.SearchOptions{Full: fulls[fi], Samples: opts.SearchSamples,
				Seed: in.Train.Patterns.Seed + int64(round) + 1 + 1000003*int64(fi), Column: cols[fi],
				Weights: weightFuncs[fi], Starts: activePatterns(sol, fi)}
			so.Lambda = lam
			cs, st, err := certify.Search(p, yhat, fi, nil, so)
			if err != nil {
				return sol, err
			}
			rl.Evaluations += st.Evaluations
			rl.Gates += st.Gates
			exhaustive = exhaustive && st.Exhaustive
			stMax = math.Max(stMax, st.Max)
			for _, c := range cs {
				cands = append(cands, famCand{fi, c})
			}
		}
		ad.Evaluations += rl.Evaluations
		ad.Gates += rl.Gates
		task.End()
		ad.Exhaustive = exhaustive
		rl.Found = len(cands)
		rl.SearchSec = time.Since(searchStart).Seconds()
		ad.SearchSec += rl.SearchSec
		certStart := time.Now()
		// the certificate over the whole arrangement = max(restricted, new patterns)
		task = progress.Tick(in.Progress, fmt.Sprintf("adaptive round %d: certificate", round))
		inner, err := certify.CertifyDual(p, lam, nil)
		task.End()
		if err == nil {
			M := math.Max(inner.Max, stMax) // upper bounds that hold in floating point (stMax: with the gradient ascent, a value found)
			ad.Ratio = M / p.Beta
			if exhaustive {
				b := certify.SafeBound(p, nil, lam, ad.Ratio*(1+0x1p-50))
				if lb := b.Value; math.IsNaN(ad.BestBound) || lb > ad.BestBound {
					ad.BestBound = lb
					total := 0
					for _, f := range p.Families {
						total += f.Patterns()
					}
					ad.best = &Cert{Lambda: lam, Rho: b.Rho, Theta: b.Theta, Bound: lb, Scope: "global",
						Patterns: total, PatternSet: fmt.Sprintf("every activation pattern (the program's %d and an exhaustive search of the rest)", total),
						Source: "search", Margin: b.Margin + b.BiasTerm}
				}
			}
		}
		rl.Ratio = ad.Ratio
		ad.CertifySec += time.Since(certStart).Seconds()
		// the most violating first, at most AddPerRound, each family up to max
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].c.Value > cands[j].c.Value })
		add := make([][]certify.Candidate, nf)
		total := 0
		for _, fc := range cands {
			if total >= AddPerRound {
				break
			}
			if p.Families[fc.f].Patterns()+len(add[fc.f]) >= max {
				continue
			}
			add[fc.f] = append(add[fc.f], fc.c)
			total++
		}
		if local && p.Families[0].Patterns()+len(add[0]) < max {
			t0 := time.Now()
			// Its patterns are added when it ended below the round's optimum, and
			// while the loop has not stalled (below): near the optimum it mostly moves
			// neurons lying on cell boundaries across them.
			task := progress.Tick(in.Progress, fmt.Sprintf("adaptive round %d: local search from the round's solution", round))
			ls := localSearchFrom(opts.Settings.Context, p, p.Families[0], 0, sol, LocalIterations)
			task.End()
			if ls != nil && ls.obj < rl.Objective && (len(cands) > 0 || stall < 2) {
				rl.LocalObjective = ls.obj
				more := newPatterns(p.Families[0], ls.cands, add[0], max)
				add[0] = append(add[0], more...)
				rl.Local = len(more)
				total += len(more)
				ad.Local += len(more)
			}
			ad.LocalSec += time.Since(t0).Seconds()
		}
		rl.Added = total
		ad.Log = append(ad.Log, rl)
		if total == 0 {
			switch {
			case len(cands) == 0 && local && stall >= 2:
				ad.Stopped = "no violating pattern found, and the last two rounds lowered the objective by less than the tolerance"
			case len(cands) == 0 && local:
				ad.Stopped = "no violating pattern found, and the local search found no new pattern"
			case len(cands) == 0:
				ad.Stopped = "no violating pattern found"
			default:
				ad.Stopped = fmt.Sprintf("the families with violating patterns have max = %d patterns", max)
			}
			break
		}
		// Prune before extending: an interior-point solver returns the relative
		// interior of the optimal face (every block slightly nonzero), and the
		// structured solver's working set starts from the warm start's nonzero
		// blocks, so without this W would grow by every added pattern each round
		// (measured: n = 200, W 200 → 1145 blocks in 19 rounds, each restricted
		// solve at its 100-iteration cap). Prune keeps the prediction and does not
		// raise the objective, so the search above, done at sol, stays valid.
		t0 := time.Now()
		sol = p.Prune(sol)
		ad.PruneSec += time.Since(t0).Seconds()
		warm, err := extend(p, sol, add)
		if err != nil {
			return sol, err
		}
		ad.Rounds++
		ad.Added += total
		ad.PerRound = append(ad.PerRound, total)
		t0 = time.Now()
		next, err := solve(p, warm)
		last := &ad.Log[len(ad.Log)-1]
		last.SolveSec = time.Since(t0).Seconds()
		last.Status = out.Status
		ad.SolveSec += last.SolveSec
		if err != nil {
			return next, err
		}
		if !finite(next) {
			// A solver that gives up with a non-finite point (seen: the conic solver at
			// its iteration limit) must not end the run with NaN weights: keep the
			// previous round's solution (zero blocks for the new patterns: feasible,
			// same objective) and stop. The solver's status stays in the outcome.
			ad.Stopped = fmt.Sprintf("round %d: the solver returned a non-finite point (status %s); the previous round's solution is kept", ad.Rounds, out.Status)
			return warm, nil
		}
		if no, po := p.Objective(next), rl.Objective; no > po-opts.Settings.Tol*math.Max(1, math.Abs(po)) {
			stall++
		} else {
			stall = 0
		}
		sol = next
	}
	return sol, nil
}

// newPatterns returns the candidates (FC layout: D and Gate) whose pattern is neither
// one of family f's nor in taken nor earlier in cands, while f stays within max
// patterns.
func newPatterns(f *convex.Family, cands, taken []certify.Candidate, max int) []certify.Candidate {
	have := make(map[string]bool, f.Patterns()+len(taken))
	for q := 0; q < f.Patterns(); q++ {
		have[supportKey(f.Weight.Col(q, nil))] = true
	}
	for _, c := range taken {
		have[supportKey(c.D)] = true
	}
	var out []certify.Candidate
	for _, c := range cands {
		if f.Patterns()+len(taken)+len(out) >= max {
			break
		}
		if k := supportKey(c.D); !have[k] {
			have[k] = true
			out = append(out, c)
		}
	}
	return out
}

// activePatterns lists the patterns of family fi with a block in some copy above
// 1e-6 × the family's largest block norm (the ascent starts of the search; the
// solver's unrounded interior point has every block of its working set slightly
// nonzero); at least an empty, non-nil list.
func activePatterns(sol *convex.Solution, fi int) []int {
	act := []int{}
	if fi >= len(sol.Blocks) {
		return act
	}
	var norms [][]float64
	mx := 0.0
	for _, B := range sol.Blocks[fi] {
		var ns []float64
		if B != nil {
			r, _ := B.Dims()
			ns = make([]float64, r)
			for q := 0; q < r; q++ {
				ns[q] = mat.Norm(B.RowView(q), 2)
				mx = math.Max(mx, ns[q])
			}
		}
		norms = append(norms, ns)
	}
	seen := map[int]bool{}
	for _, ns := range norms {
		for q, v := range ns {
			if !seen[q] && v > 1e-6*mx {
				seen[q] = true
				act = append(act, q)
			}
		}
	}
	sort.Ints(act)
	return act
}

// finite reports whether every block entry and the bias of sol are finite.
func finite(sol *convex.Solution) bool {
	if sol == nil || math.IsNaN(sol.Bias) || math.IsInf(sol.Bias, 0) {
		return false
	}
	for _, fb := range sol.Blocks {
		for _, B := range fb {
			if B == nil {
				continue
			}
			for _, x := range B.RawMatrix().Data {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return false
				}
			}
		}
	}
	return true
}

// extend appends add[f]'s patterns to family f for every family (convex.Program.Extend)
// and returns the warm start: the old blocks with zero blocks for the new patterns. A
// candidate's columns are its Weight and Sign, or for an FC candidate with only D the
// columns D and 2D − 1 (no Sign for an unconstrained family).
func extend(p *convex.Program, sol *convex.Solution, add [][]certify.Candidate) (*convex.Solution, error) {
	cols := make([][]convex.Column, len(add))
	for fi, cs := range add {
		for _, c := range cs {
			w, sg := c.Weight, c.Sign
			if w == nil {
				w = c.D
			}
			if sg == nil && fi < len(p.Families) && p.Families[fi].C != nil {
				sg = make([]float64, len(c.D))
				for i, d := range c.D {
					sg[i] = 2*d - 1
				}
			}
			cols[fi] = append(cols[fi], convex.Column{Weight: w, Sign: sg, Gate: c.Gate})
		}
	}
	warm, err := p.Extend(sol, cols)
	if err != nil {
		return nil, fmt.Errorf("train: adding patterns: %v", err)
	}
	return warm, nil
}

// supportKey identifies a pattern column by its support.
func supportKey(w []float64) string {
	b := make([]byte, len(w))
	for i, x := range w {
		b[i] = '0'
		if x != 0 {
			b[i] = '1'
		}
	}
	return string(b)
}

// structuredCosts reports whether the structured solver takes p's block costs with
// its loss: ‖·‖₂ with every loss it handles; CostMaps (§8's Fourier ℓ1, §9b's group
// regulariser: one second-order cone per map in its restricted solves) with the
// squared loss only, so CostMaps programs with hinge or logistic loss go through the
// conic path.
func structuredCosts(p *convex.Program) bool {
	for _, f := range p.Families {
		if f.Cost.Kind != convex.CostL2 && p.Loss != "squared" && p.Loss != "" {
			return false
		}
	}
	return true
}
