package main

import (
	"cnnc/backend/conic"
	"cnnc/backend/native/cone"
	"cnnc/backend/native/group"
	"cnnc/backend/solver"
	"cnnc/compiler/convex"
	"cnnc/compiler/train"
)

// groupSolver adapts backend/native/group (the structured solver for family-only
// programs) to the pipeline.
func groupSolver(p *convex.Program, warm *convex.Solution, s train.SolverSettings, rec solver.Recorder) (*train.Solved, error) {
	gs := group.Settings{Tol: s.Tol, MaxIter: s.MaxIters}
	r, err := group.Solve(p, warm, gs, rec)
	if err != nil {
		return nil, err
	}
	return &train.Solved{Status: r.Status, Solution: r.Solution, Objective: r.Objective, Dual: r.Dual, Iterations: r.Iterations}, nil
}

// coneSolver adapts backend/native/cone (the HSDE conic solver) to the pipeline.
// The tolerance is used for both ε_abs and ε_rel.
func coneSolver(p *conic.Problem, s train.SolverSettings, rec solver.Recorder) (*train.ConicSolved, error) {
	cs := cone.DefaultSettings()
	if s.Tol > 0 {
		cs.EpsAbs, cs.EpsRel = s.Tol, s.Tol
	}
	if s.MaxIters > 0 {
		cs.MaxIters = s.MaxIters
	}
	r, err := cone.Solve(p, cs, rec)
	if err != nil {
		return nil, err
	}
	return &train.ConicSolved{Status: r.Status, X: r.X, Primal: r.UserObjective,
		Dual: p.Scale()*r.DualObjective + p.ObjOffset, Iterations: r.Iterations}, nil
}
