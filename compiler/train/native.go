package train

import (
	"fmt"
	"math"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/backend/native/cone"
	"github.com/cnnc-org/cnnc/backend/native/group"
	"github.com/cnnc-org/cnnc/backend/native/large"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// NativeTemplate adapts the structured solvers for family-only programs; Run uses it
// when Options.Template is nil. SolverSettings.Method picks one: "group"
// (backend/native/group: working-set IPM whose Newton systems live in sample space;
// asked for its certified unrounded point, group.Settings.Unrounded: Run prunes the
// support itself, the point's residual is then the certifying dual point, and the
// adaptive mode's local search starts from every block of the working set),
// "ipm" or "al" (backend/native/large: working-set IPM in pattern space, or the
// augmented Lagrangian), or "" for TemplateMethod's choice.
func NativeTemplate(p *convex.Program, warm *convex.Solution, s SolverSettings, rec solver.Recorder) (*Solved, error) {
	method := s.Method
	auto := method == ""
	if auto {
		method = TemplateMethod(p)
	}
	switch method {
	case "group":
		r, err := group.Solve(p, warm, group.Settings{Tol: s.Tol, MaxIter: s.MaxIters, Context: s.Context, Unrounded: true, MaxMemory: s.MaxMemory}, rec)
		if err != nil {
			return nil, err
		}
		return &Solved{Status: r.Status, Solution: r.Solution, Objective: r.Objective, Dual: r.Dual, Iterations: r.Iterations, DualPoint: r.DualPoint, Method: "group"}, nil
	case "ipm", "al":
		lm := method
		if auto {
			lm = "" // the large solver picks ipm or al by its pattern space's size
		}
		r, err := large.Solve(p, warm, large.Settings{Tol: s.Tol, MaxIter: s.MaxIters, Method: lm, Context: s.Context, MaxMemory: s.MaxMemory}, rec)
		if err != nil {
			return nil, err
		}
		return &Solved{Status: r.Status, Solution: r.Solution, Objective: r.Objective, Dual: r.Dual, Iterations: r.Iterations, DualPoint: r.DualPoint, DualMult: r.DualMult, Method: "large " + r.Method}, nil
	}
	return nil, fmt.Errorf("train: unknown structured method %q (want group, ipm or al)", method)
}

// TemplateMethod is the structured method "auto" picks for p. The group solver's
// Newton systems are n × n (Woodbury) or (Σ H + blocks)², and it stores its iterates
// and the patterns densely: per pattern about 5S + 2 floats per prediction row and
// S + 2 per cone row (four Np × S·P iterate products, the gradient work, Weight and
// the gates' products; S copies) and per block about 6(H+1)² floats for its Newton
// systems (group.NewtonBytes: 29 GB for 500 patterns of flattened 28 × 28 images).
// The large solver's Newton systems are nu × nu with
// nu = Σ_patterns H, independent of n, and it stores bits per pattern. So: large
// ("ipm") when the samples outnumber the pattern coordinates (n > nu) or group's
// dense storage would pass groupBytes; group otherwise (backend/native/large's package doc has the
// measurements behind the rule).
func TemplateMethod(p *convex.Program) string {
	if p.Loss != "" && p.Loss != "squared" {
		return "group" // the large solver takes the squared loss only
	}
	for _, f := range p.Families {
		if f.Cost.Kind != convex.CostL2 {
			return "group" // the large solver takes the block cost ‖·‖₂ only
		}
	}
	nu, dense := 0, 0.0
	for _, f := range p.Families {
		P := f.Patterns()
		nu += P * f.H
		np, _ := f.A.Dims()
		nc := 0
		if f.C != nil {
			nc, _ = f.C.Dims()
		}
		S := float64(len(f.Signs))
		dense += 8 * float64(P) * (float64(np)*(5*S+2) + float64(nc)*(S+2))
	}
	newton, _ := group.NewtonBytes(p)
	dense += float64(newton)
	if dense <= smallBytes && (p.N <= nu || p.N < groupMaxN) {
		return "group" // small programs: group, the reference method, in well under a second
	}
	if p.N > nu || dense > groupBytes {
		return "ipm"
	}
	return "group"
}

// smallBytes is the group solver's dense storage below which TemplateMethod keeps it
// whatever the shape (64 MB): at that size both methods take about a second, and group
// also handles the degenerate programs (constant features, a zero optimum) whose
// pattern-space Newton systems are singular.
const smallBytes = 64 << 20

// groupMaxN: from this many samples on, a small program whose samples outnumber its
// pattern coordinates goes to the large solver even below smallBytes — group's
// sample-space Newton systems cost n³/3 per iteration (n = 2000, 100 patterns of 11
// features: 51 s with group; the pattern space has 1100 coordinates).
const groupMaxN = 1000

// groupBytes is the group solver's dense storage above which TemplateMethod prefers
// the large solver (1 GB).
const groupBytes = 1 << 30

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
	cs.Context = s.Context
	r, err := cone.Solve(p, cs, rec)
	if err != nil {
		return nil, err
	}
	dual := p.Scale()*r.DualObjective + p.ObjOffset
	if r.Status == solver.Interrupted || r.Status == solver.TimeLimit {
		// an iterate stopped from outside has no certified dual bound
		dual = math.NaN()
	}
	return &ConicSolved{Status: r.Status, X: r.X, Primal: r.UserObjective,
		Dual: dual, Iterations: r.Iterations, Y: r.Y}, nil
}
