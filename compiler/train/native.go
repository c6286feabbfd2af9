package train

import (
	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/native/cone"
	"github.com/cnnc-org/cnnc/backend/native/group"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// NativeTemplate adapts backend/native/group (the structured solver for family-only
// programs); Run uses it when Options.Template is nil.
func NativeTemplate(p *convex.Program, warm *convex.Solution, s SolverSettings, rec solver.Recorder) (*Solved, error) {
	r, err := group.Solve(p, warm, group.Settings{Tol: s.Tol, MaxIter: s.MaxIters}, rec)
	if err != nil {
		return nil, err
	}
	return &Solved{Status: r.Status, Solution: r.Solution, Objective: r.Objective, Dual: r.Dual, Iterations: r.Iterations}, nil
}

// NativeConic adapts backend/native/cone (ε_abs = ε_rel = tol/100); Run uses
// it when Options.Conic is nil.
func NativeConic(p *conic.Problem, s SolverSettings, rec solver.Recorder) (*ConicSolved, error) {
	cs := cone.DefaultSettings()
	if s.Tol > 0 {
		// The conic solver's stopping rule bounds residuals, not the objective: at
		// ε = tol its point can leave the cones by ~ε and undercut the optimum by far
		// more than tol (measured 2e-5 relative at ε = 1e-6 on §2 (docs/math/02-fc-relu.md)
		// instance). Two more digits on the residuals give objectives within tol.
		cs.EpsAbs, cs.EpsRel = s.Tol*1e-2, s.Tol*1e-2
		// The interior-point method (chosen by "auto" for zero/nonnegative/SOC
		// programs) gets one digit more again: its dual objective is reported as
		// the certified bound, and at ε = tol/100 it exceeded a feasible network's
		// objective by 4e-7 relative on the instance of §2 (docs/math/02-fc-relu.md); the extra
		// digits cost a few iterations.
		cs.IPMEpsFactor = 1e-1
	}
	if s.MaxIters > 0 {
		cs.MaxIters = s.MaxIters
	}
	r, err := cone.Solve(p, cs, rec)
	if err != nil {
		return nil, err
	}
	return &ConicSolved{Status: r.Status, X: r.X, Primal: r.UserObjective,
		Dual: p.Scale()*r.DualObjective + p.ObjOffset, Iterations: r.Iterations}, nil
}
