package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/native/cone"
	"github.com/cnnc-org/cnnc/backend/scs"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// solveFileOptions are the flags of `cnnc solve-file`.
type solveFileOptions struct {
	eps      float64
	maxIters int
	quiet    bool
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &solveFileOptions{}
		cmd := &cobra.Command{
			Use:   "solve-file PATH",
			Short: "Solve a conic program from an SCS data file or a JSON conic export",
			Long: `Solve the conic program in PATH with cnnc's native conic solver and print the
status, objective (cᵀx + ½xᵀPx, and the user-scale objective when the file sets an
objective scale or offset), dual objective, residuals, iterations and time.

PATH is an SCS binary data file (recognised by its header: int size 4 or 8, float
size 8) or a JSON export of format cnnc-conic/1 ('cnnc export --format json').
The settings stored in an SCS file are ignored; --eps sets eps_abs = eps_rel.
The iteration table goes to stderr unless --quiet.

Exit status: 0 optimal, 3 the solver ended without an optimal status, 1 errors
(unreadable file, unsupported cone), 2 usage.`,
			Example: "  cnnc export examples/quickstart.cnn --format json -o program.json\n  cnnc solve-file program.json --json --eps 1e-6 --quiet",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runSolveFile(e, o, args[0])
			},
		}
		addJSON(cmd, e, "print one JSON object instead of text")
		cmd.Flags().Float64Var(&o.eps, "eps", 1e-8, "absolute and relative tolerance (eps_abs = eps_rel)")
		cmd.Flags().IntVar(&o.maxIters, "max-iters", 100000, "iteration limit")
		cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "do not print the iteration table")
		return cmd
	})
}

// solveFileReport is the --json output.
type solveFileReport struct {
	File          string   `json:"file"`
	Format        string   `json:"format"`
	Status        string   `json:"status"`
	Objective     *float64 `json:"objective"`      // cᵀx + ½xᵀPx (null if not finite)
	UserObjective *float64 `json:"user_objective"` // ObjScale·objective + ObjOffset
	DualObjective *float64 `json:"dual_objective"`
	PrimalRes     *float64 `json:"primal_residual"`
	DualRes       *float64 `json:"dual_residual"`
	Gap           *float64 `json:"gap"`
	Iterations    int      `json:"iterations"`
	SolveSeconds  float64  `json:"solve_seconds"`
	SetupSeconds  float64  `json:"setup_seconds"`
	M             int      `json:"m"`
	N             int      `json:"n"`
}

// finiteOrNull maps non-finite values to JSON null.
func finiteOrNull(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func runSolveFile(e *env, o *solveFileOptions, path string) error {
	if !(o.eps > 0) {
		return usageErr("--eps must be positive, got %g", o.eps)
	}
	if o.maxIters <= 0 {
		return usageErr("--max-iters must be positive, got %d", o.maxIters)
	}
	p, format, err := readConicFile(path)
	if err != nil {
		return withCode(exitError, err)
	}
	var rec solver.Recorder = solver.Nop{}
	if !o.quiet {
		rec = &solver.Heartbeat{Next: &solver.Table{W: e.stderr}} // a row at least every 5 s
	}
	set := cone.Settings{EpsAbs: o.eps, EpsRel: o.eps, MaxIters: o.maxIters}
	if !o.quiet {
		set.RecordEvery = 100
	}
	r, err := cone.Solve(p, set, rec)
	if err != nil {
		return withCode(exitError, fmt.Errorf("%s: %v", path, err))
	}
	userSet := p.ObjScale != 0 && p.ObjScale != 1 || p.ObjOffset != 0
	if e.json {
		rep := solveFileReport{File: path, Format: format, Status: string(r.Status),
			Objective: finiteOrNull(r.PrimalObjective), DualObjective: finiteOrNull(r.DualObjective),
			UserObjective: finiteOrNull(r.UserObjective),
			PrimalRes:     finiteOrNull(r.PrimalRes), DualRes: finiteOrNull(r.DualRes), Gap: finiteOrNull(r.Gap),
			Iterations: r.Iterations, SolveSeconds: r.SolveTime.Seconds(), SetupSeconds: r.SetupTime.Seconds(),
			M: p.M, N: p.N}
		if err := e.writeJSON(rep); err != nil {
			return err
		}
	} else {
		w := e.stdout
		fmt.Fprintf(w, "file:            %s (%s, m = %d, n = %d)\n", path, format, p.M, p.N)
		fmt.Fprintf(w, "status:          %s\n", r.Status)
		fmt.Fprintf(w, "objective:       %.12g   (cᵀx + ½xᵀPx)\n", r.PrimalObjective)
		if userSet {
			fmt.Fprintf(w, "user objective:  %.12g   (%g·objective + %g)\n", r.UserObjective, p.Scale(), p.ObjOffset)
		}
		fmt.Fprintf(w, "dual objective:  %.12g\n", r.DualObjective)
		switch r.Status {
		case solver.Infeasible:
			fmt.Fprintf(w, "certificate:     y with bᵀy = −1, ‖Aᵀy‖∞ = %.3g\n", r.InfeasRes)
		case solver.Unbounded:
			fmt.Fprintf(w, "certificate:     x with cᵀx = −1, max(‖Ax + s‖∞, ‖Px‖∞) = %.3g\n", r.UnboundedRes)
		default:
			fmt.Fprintf(w, "residuals:       primal %.3g (tol %.3g), dual %.3g (tol %.3g), gap %.3g (tol %.3g)\n",
				r.PrimalRes, r.PrimalTol, r.DualRes, r.DualTol, r.Gap, r.GapTol)
		}
		fmt.Fprintf(w, "iterations:      %d\n", r.Iterations)
		fmt.Fprintf(w, "time:            %.3fs solve, %.3fs setup\n", r.SolveTime.Seconds(), r.SetupTime.Seconds())
	}
	if r.Status != solver.Optimal {
		return withCode(exitNotSolved, nil)
	}
	return nil
}

// readConicFile reads an SCS binary data file or a cnnc-conic/1 JSON file,
// telling them apart by content: JSON starts with '{' (after white space), an SCS
// file with the u32 pair (int_size ∈ {4, 8}, float_size = 8).
func readConicFile(path string) (*conic.Problem, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	trim := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trim) > 0 && trim[0] == '{':
		p, err := conic.ReadJSON(bytes.NewReader(data))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %v", path, err)
		}
		return p, "json " + conic.JSONFormat, nil
	case len(data) >= 8 && (binary.LittleEndian.Uint32(data) == 4 || binary.LittleEndian.Uint32(data) == 8) &&
		binary.LittleEndian.Uint32(data[4:]) == 8:
		f, err := scs.Read(bytes.NewReader(data))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %v", path, err)
		}
		return f.Problem, fmt.Sprintf("scs %s, %d-byte ints", f.Version, f.IntSize), nil
	}
	return nil, "", fmt.Errorf("%s: not an SCS data file (no int_size/float_size header) nor a JSON conic export", path)
}
