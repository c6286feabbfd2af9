package train

// The vector-output pipeline (multiclass networks, docs/math/10-vector-output.md).
//
// A vector rule (derive.Rule.Vector) builds a convex.VectorProgram; its exact convex
// form is a copositive program, so every solve returns a bracket instead of a single
// certified optimum:
//
//   - upper: the objective of the recovered ReLU (or gated) network, computed from
//     weights.json by compiler/network — an upper bound on the global optimum;
//   - lower: a certified dual bound (backend/native/vecout Repair + Bound), over the
//     scope its oracle covers.
//
// Paths:
//   - gated model (any patterns): relaxation (a) over the model's gates is the exact
//     program (FISTA, nuclear-norm prox): lower bounds the global optimum of the
//     gated network with these gates;
//   - ReLU model, `patterns exact`: column generation (fully corrective Frank–Wolfe)
//     with the exact cone-constrained PCA oracle over every face of the arrangement:
//     lower bounds the global optimum of the non-convex problem (when the data are in
//     general position; otherwise the report says the enumeration may be incomplete);
//   - ReLU model, `patterns sample|adaptive`: relaxation (a) over the sampled
//     patterns, a ReLU network grown by Frank–Wolfe from its violators,
//     Burer–Monteiro refinement: lower bounds every
//     network whose units' activation patterns lie in the sampled set extended by the
//     recovered units' own patterns (not the global optimum); GlobalLower adds an
//     enumeration-free bound on the global optimum (usually weak).
//
// With `solver conic` (or Options.Solver "conic") the conic form of relaxation (b)
// (copositive; (a) for gated models) is also solved by the conic solver when the
// loss is squared; its value and status are reported, and the dual bound at its
// prediction is one more candidate for lower (certified with the path's oracle —
// the conic solver's own dual objective is not taken as a bound).

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/native/vecout"
	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/canon"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// Copositive is the statement every vector report carries.
const Copositive = "the exact convex program of a vector-output ReLU network is a copositive program (its regulariser, the cone-constrained nuclear norm, has a copositivity condition as dual constraint): NP-hard in general, polynomial for a fixed data rank or filter size; cnnc brackets its optimum"

// VectorOutcome is the vector pipeline's part of an Outcome.
type VectorOutcome struct {
	Program  *convex.VectorProgram
	Solution *convex.VectorSolution

	// The bracket: Lower ≤ optimum over LowerScope ≤ Upper.
	Lower, Upper float64
	RelGap       float64 // (Upper − Lower)/|Upper|
	LowerScope   string  // what Lower bounds, in words
	LowerSource  string  // which computation gave Lower
	Global       bool    // Lower bounds the global optimum of the model's training problem
	// GlobalLower is an enumeration-free lower bound on the global optimum (sampled
	// ReLU path only; NaN otherwise).
	GlobalLower float64
	// BMBound is the Burer–Monteiro optimality bound (ρ̄/β − 1)₊ at the recovered
	// network's prediction, ρ̄ over LowerScope: a bound on its relative gap when its
	// factors are balanced (NaN when not computed).
	BMBound     float64
	Method      string
	Relaxations []RelaxationValue
	Copositive  string
	Rounds      int
	Notes       []string
}

// RelaxationValue is a relaxation solved by the conic solver.
type RelaxationValue struct {
	Name   string        // "relaxation (b), copositive", …
	Value  float64       // the solver's primal objective
	Dual   float64       // the solver's dual objective (not a certified bound)
	Status solver.Status // the solver's status
	Scope  string        // the patterns it ranges over
}

// runVector runs the vector pipeline for a vector rule (see the file comment).
func runVector(in *derive.Input, rule *derive.Rule, opts Options, settings SolverSettings, rec solver.Recorder, start time.Time) (*Outcome, error) {
	vp, dl := rule.Vector.Build(in)
	out := &Outcome{Rule: rule, Diagnostics: dl, DualObjective: math.NaN(), RestrictedDual: math.NaN()}
	if dl.HasErrors() || vp == nil {
		if !dl.HasErrors() {
			return out, errors.New("train: the vector rule built no program")
		}
		return out, dl
	}
	vo := &VectorOutcome{Program: vp, GlobalLower: math.NaN(), BMBound: math.NaN(), Copositive: Copositive}
	out.Vector = vo
	// the time limit counts from here (the end of the derivation), as for scalar rules
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
	set := vecout.Settings{Tol: settings.Tol, MaxIters: settings.MaxIters, Context: settings.Context, Recorder: rec}
	var res *vecout.Result
	var err error
	var oracle vecout.Oracle
	switch {
	case vp.Gated:
		po := vecout.NewPatternOracle(vp)
		oracle = po
		res, err = vecout.Relaxation(vp, po, set)
		if err != nil {
			return out, err
		}
		vo.Global = true
		vo.LowerScope = fmt.Sprintf("the global optimum of the gated network with these %d gates (relaxation (a) over the gates' patterns is its exact convex program)", po.P)
		vo.LowerSource = "dual bound of relaxation (a), certified at the solver's prediction"
		out.SolverName = "native vector (FISTA, relaxation (a))"
	case in.Train.Patterns.Mode == ir.Exact:
		eo, oerr := vecout.NewExactOracle(vp)
		if oerr != nil {
			var d diag.List
			d.Errorf(derive.CodePatterns, in.Train.Patterns.Range, "The exact path enumerates every face of the data's arrangement, which grows like N^rank; use `patterns sample N` for the scalable path (a bracket over the sampled patterns).", "%v", oerr)
			out.Diagnostics = append(out.Diagnostics, d...)
			return out, d
		}
		oracle = eo
		res, err = vecout.ColumnGeneration(vp, eo, set)
		if err != nil {
			return out, err
		}
		vo.Global = eo.Global()
		if vo.Global {
			vo.LowerScope = "the global optimum of the non-convex training problem (every unit: the cone-constrained PCA solved exactly over all faces of the arrangement)"
		} else {
			vo.LowerScope = "the units of the faces found; the data are not in general position, so faces may be missing and the bound may not hold globally"
			vo.Notes = append(vo.Notes, "face enumeration met a degenerate ray or missed a cell: the lower bound is not certified as global")
		}
		vo.LowerSource = "dual certificate of column generation (exact oracle)"
		vo.Rounds = res.Rounds
		out.SolverName = "native vector (column generation, exact oracle)"
	default:
		var sc *vecout.Scale
		res, sc, err = vecout.Scalable(vp, set)
		if err != nil {
			return out, err
		}
		po := vecout.NewPatternOracle(vp)
		G := mat.NewDense(vp.H, max(1, len(res.Solution.Atoms)), nil)
		for k, a := range res.Solution.Atoms {
			G.SetCol(k, a.U)
		}
		if len(res.Solution.Atoms) > 0 {
			po.AddGates(G)
		}
		oracle = po
		vo.Global = false
		vo.LowerScope = fmt.Sprintf("every ReLU or gated network whose units' activation patterns lie in the %d sampled patterns or are the recovered units' own %d (relaxation (a) over that set) — not the global optimum", vp.Patterns(), len(res.Solution.Atoms))
		vo.LowerSource = "dual bound of relaxation (a), best of the relaxation's and the refined network's prediction"
		vo.GlobalLower = sc.GlobalLower
		vo.Notes = append(vo.Notes,
			fmt.Sprintf("relaxation (a) over the %d sampled patterns: %.10g (certified ≥ %.10g, %s, %d gated atoms); %s: %d units → Burer–Monteiro: %d L-BFGS iterations, objective %.10g → %.10g (%s); relaxation (a) with the network's patterns added: %.10g (certified ≥ %.10g)",
				vp.Patterns(), sc.RelaxA, sc.RelaxALower, sc.RelaxStatus, sc.GatedAtoms, sc.Init, sc.InitUnits, sc.Polish.Iterations, sc.Polish.Start, sc.Polish.End, sc.Polish.Status, sc.ExtendedRelaxA, sc.ExtendedLower),
			fmt.Sprintf("enumeration-free lower bound on the global optimum (ρ̄ ≤ σ₁(V)·‖P‖·σ₁(A)): %.10g", sc.GlobalLower))
		out.SolverName = "native vector (relaxation (a) + Frank–Wolfe growth + Burer–Monteiro)"
	}
	vo.Method = res.Method
	out.Status = res.Status
	if st := solver.Stop(settings.Context); st != "" {
		// a stage ended early: the bracket below is certified but not closed
		out.Status = st
	}
	out.Iterations = res.Iterations
	vo.Lower = res.Lower
	vo.Solution = res.Solution
	// the conic relaxation, on request
	name := opts.Solver
	if name == "" {
		name = in.Train.Solver.Name
	}
	if name == "conic" {
		rv, lb, note := conicRelaxation(in, vp, oracle, opts, settings, rec)
		if rv != nil {
			vo.Relaxations = append(vo.Relaxations, *rv)
			if lb > vo.Lower {
				vo.Lower = lb
				vo.LowerSource = "dual bound at the conic relaxation's prediction, certified with the path's oracle"
			}
		}
		if note != "" {
			vo.Notes = append(vo.Notes, note)
		}
	}
	// Carathéodory pruning: same prediction, no larger objective, at most N·C units
	res.Solution = vecout.Prune(vp, res.Solution)
	res.Upper = vp.Objective(res.Solution)
	vo.Solution = res.Solution
	w, err := rule.Vector.Recover(in, vp, res.Solution)
	if err != nil {
		var l diag.List
		if errors.As(err, &l) {
			out.Diagnostics = append(out.Diagnostics, l...)
		}
		return out, err
	}
	out.Weights = w
	obj, loss, pen, err := network.Objective(in.Model, w, in.Data.X, in.Data.Y)
	if err != nil {
		return out, fmt.Errorf("train: evaluating the recovered network: %v", err)
	}
	out.NonconvexObjective, out.Loss, out.Penalty = obj, loss, pen
	vo.Upper = obj
	vo.RelGap = (vo.Upper - vo.Lower) / math.Abs(vo.Upper)
	// the Burer–Monteiro bound at the recovered network, from its own prediction
	if yh, err := network.Forward(in.Model, w, in.Data.X); err == nil {
		if c, ok := vecout.Certify(vp, oracle, yh); ok {
			vo.BMBound = c.RelBound
			if c.Lower > vo.Lower {
				vo.Lower, vo.LowerSource = c.Lower, "dual bound at the recovered network's prediction"
				vo.RelGap = (vo.Upper - vo.Lower) / math.Abs(vo.Upper)
			}
		}
	}
	// optimal means the bracket closed (docs/math/10-vector-output.md §9): a solver
	// that ended by its own criterion with the bracket still open is inaccurate
	tol := settings.Tol
	if tol <= 0 {
		tol = 1e-6
	}
	if out.Status == solver.Optimal && !(vo.RelGap <= tol*(1+1e-6)+1e-12) {
		out.Status = solver.Inaccurate
		vo.Notes = append(vo.Notes, fmt.Sprintf("status inaccurate: every stage ended by its own criterion, but the bracket's relative gap %.3g is above the tolerance %g", vo.RelGap, tol))
	}
	out.ConvexObjective = res.Upper
	out.DualObjective = vo.Lower
	out.DualSource = vo.LowerSource + "; bounds " + vo.LowerScope
	out.RestrictedDual = vo.Lower
	for _, a := range res.Solution.Atoms {
		if norm2(a.U)*norm2(a.G) > 0 {
			out.ActiveNeurons++
		}
	}
	out.Sizes = convex.Sizes{Samples: vp.N, Patterns: vp.Patterns()}
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// conicRelaxation solves the conic form of relaxation (b) ((a) for gated models) and
// certifies the dual bound at its prediction with the path's oracle.
func conicRelaxation(in *derive.Input, vp *convex.VectorProgram, o vecout.Oracle, opts Options, settings SolverSettings, rec solver.Recorder) (*RelaxationValue, float64, string) {
	r := derive.VectorRelaxation(in, vp)
	prog, err := vp.Relaxation(r)
	if err != nil {
		return nil, math.Inf(-1), "conic relaxation not solved: " + err.Error()
	}
	conicSolve := opts.Conic
	quad := opts.ConicQuadraticLoss
	if conicSolve == nil {
		conicSolve, quad = NativeConic, true
	}
	cp, m, err := canon.CanonicalizeWith(prog, canon.Options{QuadraticLoss: quad})
	if err != nil {
		return nil, math.Inf(-1), "conic relaxation not solved: " + err.Error()
	}
	cs, err := conicSolve(cp, settings, rec)
	if err != nil {
		return nil, math.Inf(-1), "conic relaxation not solved: " + err.Error()
	}
	rv := &RelaxationValue{Name: r.String(), Value: cs.Primal, Dual: cs.Dual, Status: cs.Status,
		Scope: fmt.Sprintf("the %d patterns of the train block", vp.Patterns())}
	if len(cs.X) != cp.N {
		return rv, math.Inf(-1), ""
	}
	yv := prog.Predict(m.Solution(cs.X))
	Yh := mat.NewDense(vp.N, vp.C, nil)
	for i := 0; i < vp.N; i++ {
		for k := 0; k < vp.C; k++ {
			Yh.Set(i, k, yv[k*vp.N+i])
		}
	}
	if c, ok := vecout.Certify(vp, o, Yh); ok {
		return rv, c.Lower, ""
	}
	return rv, math.Inf(-1), ""
}

func norm2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
