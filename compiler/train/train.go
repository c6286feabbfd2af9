// Package train owns the training pipeline that `cnnc solve` runs: derive the convex
// program (compiler/derive), choose a solver, solve, grow the pattern set in the
// adaptive mode, certify (backend/certify), recover the network (Rule.Recover) and
// evaluate it directly from its weights (compiler/network.Objective).
//
// Input: a derive.Input (checked model, training data, train block) and Options.
// Output: an *Outcome with every number report.json needs.
//
// Solvers. Template programs (families only) with squared loss go to the structured
// solver (Options.Template; the CLI wires backend/native/group); everything else, and
// `solver conic`, goes through compiler/canon to a conic solver (Options.Conic; the
// CLI wires backend/native/cone); Options.ConicQuadraticLoss canonicalises the squared
// loss as LSQ′ (a quadratic objective) instead of the LSQ cone. Both are plain function values so the pipeline does
// not depend on a particular back end and tests can plug in CVXOPT.
//
// Adaptive mode (§1, docs/math/01-machinery.md, `patterns adaptive start=N max=M seed=S`):
// start from N sampled patterns per family; solve; search every family for patterns
// violating the dual certificate (certify.Search: over the exact arrangement when its
// Cover count is at most ExhaustiveLimit, else seeded gates + local ascent); add up to
// AddPerRound of the most violating ones over all families; re-solve warm-started (new
// blocks start at 0); stop when none is found, every family with violators has M
// patterns, or a re-solve returns a non-finite point (the previous solution is kept).
// FC programs (§2, §3) have one family, searched in the FC layout and seeded first with
// one local search's patterns (seed.go). CNN programs (§4 cnn-gap, §5.2 cnn-pool: one
// family per pooling window, §6 cnn-maxpool) map a gate u to a pattern column with
// derive.PatternColumn — the constructor the initial build uses — so the average
// pattern is 1[M_l u ≥ 0] and the max-pattern π(i) = argmax_k x_ikᵀu (off when < 0);
// the exhaustive search enumerates the cells of M_l (average) or of the stacked rows
// [x_ik ; x_ik − x_ik′] (max). The outcome records rounds, patterns added (per round),
// search evaluations, the last ρ and the best lower bound seen.
//
// Fixed-output-weight CNNs (§11, rule fixed-out) take their own path (anchored.go): the
// anchored relaxation is solved by backend/native/anchored (Options.Anchored) or, with
// `solver conic`, through compiler/canon; the filter is polished on its active pieces,
// recovered, and certified by the zero-loss check of Outcome.ZeroLoss, computed from the
// weights alone; with `synthetic planted` data Outcome.Planted compares it with the
// hidden filter.
//
// Lower bounds (Outcome.DualObjective, DualSource):
//   - "certificate (exact patterns)" / "certificate (exhaustive search)": the dual bound
//     of certify at the final prediction over the full arrangement — a certified lower
//     bound on the global optimum of the non-convex problem;
//   - "solver (restricted patterns)": the solver's own dual bound — a lower bound on the
//     restricted program only (sampled patterns; not on the global optimum).
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
	Method     string // the structured method that ran ("group", "large ipm", …)
}

// TemplateSolver solves a family-only program (e.g. backend/native/group).
type TemplateSolver func(p *convex.Program, warm *convex.Solution, s SolverSettings, rec solver.Recorder) (*Solved, error)

// ConicSolved is a conic solver's answer.
type ConicSolved struct {
	Status     solver.Status
	X          []float64
	Primal     float64 // user-scale objective
	Dual       float64 // user-scale dual objective
	Iterations int
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

// AddPerRound caps the patterns added per adaptive round.
const AddPerRound = 50

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
	DualObjective   float64
	DualSource      string
	RestrictedDual  float64 // the solver's bound for the restricted program
	Certificate     *certify.Result

	NonconvexObjective float64
	Loss, Penalty      float64
	ActiveNeurons      int
	Sizes              convex.Sizes
	Iterations         int
	Seconds            float64
	Adaptive           *Adaptive
	// ZeroLoss is the certificate of the fixed-output relaxation (§11, anchored.go);
	// nil for every other rule.
	ZeroLoss *ZeroLoss
	// Planted compares the recovered filter with the hidden one of `synthetic
	// planted` data (fixed-output rule only; nil otherwise).
	Planted     *Planted
	Diagnostics diag.List
	// Settings are the solver settings the run used, defaults resolved (Tol,
	// MaxIters as passed to the solver; 0 MaxIters: the solver's own default).
	Settings SolverSettings
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
	rule, prog, dl := derive.Derive(in)
	out := &Outcome{Rule: rule, Program: prog, Diagnostics: dl, DualObjective: math.NaN(), RestrictedDual: math.NaN(), Settings: settings}
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
		sol, err = adaptive(in, prog, sol, solve, opts, out)
		if err != nil {
			return out, err
		}
	}
	// Carathéodory pruning: same prediction, no larger objective, at most n nonzero
	// blocks — a sparse network even when the solver returns an interior point.
	sol = prog.Prune(sol)
	out.Solution = sol
	out.ConvexObjective = prog.Objective(sol)
	out.Sizes = prog.Sizes()
	certifyOutcome(in, prog, sol, out)

	w, err := rule.Recover(in, prog, sol)
	if err != nil {
		var l diag.List
		if errors.As(err, &l) {
			out.Diagnostics = append(out.Diagnostics, l...)
		}
		return out, err
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
	obj, loss, pen, err := network.Objective(in.Model, w, in.Data.X, in.Data.Y)
	if err != nil {
		return out, fmt.Errorf("train: evaluating the recovered network: %v", err)
	}
	out.NonconvexObjective, out.Loss, out.Penalty = obj, loss, pen
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// solveOnce runs the chosen solver on p and fills the solver fields of out.
func solveOnce(p *convex.Program, warm *convex.Solution, name string, s SolverSettings, opts Options, rec solver.Recorder, out *Outcome) (*convex.Solution, error) {
	template := len(p.Vars) == 0 && len(p.Terms) == 0 && len(p.Penalties) == 0 && len(p.Constraints) == 0
	useTemplate := name != "conic" && template && (p.Loss == "squared" || p.Loss == "")
	if useTemplate && opts.Template != nil {
		r, err := opts.Template(p, warm, s, rec)
		if err != nil {
			return nil, err
		}
		out.Status, out.SolverName = r.Status, "native group"
		if r.Method != "" && r.Method != "group" {
			out.SolverName = "native " + r.Method
		}
		out.RestrictedDual = r.Dual
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
	out.RestrictedDual = r.Dual
	out.Iterations += r.Iterations
	if len(r.X) != prob.N {
		return nil, fmt.Errorf("train: conic solver returned %d values for %d columns (status %s)", len(r.X), prob.N, r.Status)
	}
	return m.Solution(r.X), nil
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
	if _, cnn := f.Meta["pool"]; !cnn {
		return nil
	}
	return func(u []float64) ([]float64, []float64, bool) { return derive.PatternColumn(f, u) }
}

// certifyOutcome fills the certificate and the dual bound.
func certifyOutcome(in *derive.Input, p *convex.Program, sol *convex.Solution, out *Outcome) {
	out.DualObjective, out.DualSource = out.RestrictedDual, "solver (restricted patterns)"
	if len(p.Families) == 0 {
		return
	}
	exhaustive := true
	for _, f := range p.Families {
		if e, _ := f.Meta["exhaustive"].(bool); !e {
			exhaustive = false
		}
	}
	yhat := p.Predict(sol)
	if in.Train.Patterns.Mode == ir.Exact && exhaustive {
		// With the full arrangement the restricted program is the full one, so the
		// solver's bound (the best over its rounds: any dual-feasible point of the
		// same program bounds it) is as global as the certificate at the final
		// prediction. The latter can be much looser near the optimum when β is small
		// (ρ − 1 ≈ ‖X‖·‖λ − λ*‖/β), so the better of the two is reported.
		out.DualSource = "solver dual (exact patterns: a global bound)"
		if c, err := certify.Certify(p, yhat, nil); err == nil {
			out.Certificate = c
			if !math.IsNaN(c.LowerBound) && !(c.LowerBound <= out.DualObjective) {
				out.DualObjective, out.DualSource = c.LowerBound, "certificate (exact patterns: a global bound)"
			}
		}
		return
	}
	if out.Adaptive != nil && out.Adaptive.Exhaustive && !math.IsNaN(out.Adaptive.BestBound) {
		out.DualObjective, out.DualSource = out.Adaptive.BestBound, "certificate (exhaustive search)"
	}
	if c, err := certify.Certify(p, yhat, nil); err == nil {
		out.Certificate = c
	}
}

// adaptive runs the column-generation loop (see the package doc) over every family of
// p (FC: one; CNN: one per pooling window). Each round searches every family for
// certificate-violating patterns (certify.Search with the family's column map and,
// when small enough, its exact arrangement), adds the AddPerRound most violating ones
// over all families (a family grows to at most max patterns), and re-solves
// warm-started.
func adaptive(in *derive.Input, p *convex.Program, sol *convex.Solution, solve func(*convex.Program, *convex.Solution) (*convex.Solution, error), opts Options, out *Outcome) (*convex.Solution, error) {
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
	fulls := make([]*pattern.Set, nf)
	allFull := true
	for fi, f := range p.Families {
		cols[fi] = columnFunc(f)
		fulls[fi] = fullArrangement(f, opts.ExhaustiveLimit)
		allFull = allFull && fulls[fi] != nil
	}
	max := in.Train.Patterns.Max
	if max <= 0 {
		max = 100000
	}
	// Seed with the patterns of one local search of the non-convex network (seed.go):
	// the program's optimum then starts at or below that local minimum. FC only, and
	// skipped when the exact arrangement is small enough to search exhaustively.
	if f := p.Families[0]; nf == 1 && cols[0] == nil && !allFull {
		have := pattern.NewSet(f.A.Dims())
		for q := 0; q < f.Patterns(); q++ {
			have.Add(f.Weight.Col(q, nil), mat.Col(nil, q, f.Gates))
		}
		var added []certify.Candidate
		for _, c := range localSearchSeeds(p, f, in.Train.Patterns.N, in.Train.Patterns.Seed) {
			if f.Patterns()+len(added) < max && have.Add(c.D, c.Gate) {
				added = append(added, c)
			}
		}
		if len(added) > 0 {
			sol = p.Prune(sol) // as in the rounds below
			warm, err := extend(p, sol, [][]certify.Candidate{added})
			if err != nil {
				return sol, err
			}
			ad.Seeded = len(added)
			if sol, err = solve(p, warm); err != nil {
				return sol, err
			}
		}
	}
	type famCand struct {
		f int
		c certify.Candidate
	}
	for round := 0; ; round++ {
		if st := solver.Stop(opts.Settings.Context); st != "" || out.Status == solver.Interrupted || out.Status == solver.TimeLimit {
			if st == "" {
				st = out.Status
			}
			ad.Stopped = fmt.Sprintf("stopped (%s) before round %d", st, round+1)
			out.Status = st
			break
		}
		searchStart := time.Now()
		yhat := p.Predict(sol)
		var cands []famCand
		stMax := 0.0
		exhaustive := true
		for fi := range p.Families {
			so := certify.SearchOptions{Full: fulls[fi], Samples: opts.SearchSamples,
				Seed: in.Train.Patterns.Seed + int64(round) + 1 + 1000003*int64(fi), Column: cols[fi],
				Starts: activePatterns(sol, fi)}
			cs, st, err := certify.Search(p, yhat, fi, nil, so)
			if err != nil {
				return sol, err
			}
			ad.Evaluations += st.Evaluations
			exhaustive = exhaustive && st.Exhaustive
			stMax = math.Max(stMax, st.Max)
			for _, c := range cs {
				cands = append(cands, famCand{fi, c})
			}
		}
		ad.Exhaustive = exhaustive
		// the certificate over the whole arrangement = max(restricted, new patterns)
		inner, err := certify.Certify(p, yhat, nil)
		if err == nil {
			M := math.Max(inner.Max, stMax)
			ad.Ratio = M / p.Beta
			if exhaustive {
				lb := certify.DualBound(p, certify.Residual(p, yhat), ad.Ratio)
				if math.IsNaN(ad.BestBound) || lb > ad.BestBound {
					ad.BestBound = lb
				}
			}
		}
		ad.SearchSec += time.Since(searchStart).Seconds()
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
		if total == 0 {
			if len(cands) == 0 {
				ad.Stopped = "no violating pattern found"
			} else {
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
		sol = p.Prune(sol)
		warm, err := extend(p, sol, add)
		if err != nil {
			return sol, err
		}
		ad.Rounds++
		ad.Added += total
		ad.PerRound = append(ad.PerRound, total)
		next, err := solve(p, warm)
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
		sol = next
	}
	return sol, nil
}

// activePatterns lists the patterns of family fi with a nonzero block in any copy (the
// ascent starts of the search; at least an empty, non-nil list).
func activePatterns(sol *convex.Solution, fi int) []int {
	act := []int{}
	if fi >= len(sol.Blocks) {
		return act
	}
	seen := map[int]bool{}
	for _, B := range sol.Blocks[fi] {
		if B == nil {
			continue
		}
		r, _ := B.Dims()
		for q := 0; q < r; q++ {
			if !seen[q] && mat.Norm(B.RowView(q), 2) > 0 {
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
