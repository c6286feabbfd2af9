package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// solveOptions are the flags of `cnnc solve`.
type solveOptions struct {
	dataFlags
	out       string
	quiet     bool
	solver    string
	tol       float64
	timeLimit time.Duration
	plots     bool
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &solveOptions{}
		cmd := &cobra.Command{
			Use:   "solve FILE [-o DIR] [--json]",
			Short: "Derive the convex program, solve it, recover the network and certify it",
			Long: `Train the model of FILE to global optimality: derive the convex program that is
equivalent to the architecture (docs/math/), solve it natively, recover the
network's weights, evaluate the recovered network's non-convex objective directly from
its weights, and certify the result with a dual bound.

Writes DIR/report.json and DIR/weights.json (docs/cli.md; DIR defaults to FILE
without .cnn plus .out/); with --plots also the figures convergence.svg,
filters.svg and spectrum.svg (those that apply; docs/cli.md, "Plots"). Progress goes to stderr (--quiet silences it), the summary
to stdout (--json prints report.json instead). Exit 0 when the solver reached an
optimal status, 3 when it ended otherwise (the report is still written and says
why), 1 on errors.`,
			Example: "  cnnc solve examples/quickstart.cnn\n  cnnc solve examples/quickstart.cnn -o /tmp/run --json --quiet",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runSolve(e, o, args[0])
			},
		}
		cmd.Flags().StringVarP(&o.out, "output", "o", "", "output folder (default: FILE without .cnn plus .out)")
		addJSON(cmd, e, "print report.json to stdout instead of the summary")
		cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress on stderr")
		cmd.Flags().BoolVar(&o.plots, "plots", false, "also write SVG plots beside the report: convergence, learned filters, Fourier spectra of circular models (docs/cli.md)")
		cmd.Flags().StringVar(&o.solver, "solver", "", "native (structured solver where it applies, else conic) or conic; default: the train block's")
		cmd.Flags().Float64Var(&o.tol, "tol", 0, "solver tolerance, in (0, 1) (default: the train block's tol, else 1e-6)")
		cmd.Flags().DurationVar(&o.timeLimit, "time-limit", 0, "stop the solve after this wall time (e.g. 90s, 10m; counted from the end of the derivation) with status time_limit and the best point so far; default none")
		cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("output") && o.out == "" {
				return usageErr("-o \"\" names no folder; give a folder name, or leave -o out for the default (FILE without .cnn plus .out)")
			}
			if cmd.Flags().Changed("tol") && !(o.tol > 0 && o.tol < 1) {
				return usageErr("--tol must be in (0, 1), got %g", o.tol)
			}
			if o.timeLimit < 0 {
				return usageErr("--time-limit must be positive, got %v", o.timeLimit)
			}
			return nil
		}
		o.dataFlags.register(cmd)
		addDeprecatedFormat(cmd, e, "diagnostics")
		return cmd
	})
}

func runSolve(e *env, o *solveOptions, path string) error {
	if o.solver != "" && o.solver != "native" && o.solver != "conic" {
		return usageErr("unknown --solver %q (want native or conic)", o.solver)
	}
	dir := o.out
	if dir == "" {
		dir = strings.TrimSuffix(path, ".cnn") + ".out"
	}
	// A bad output folder fails now, not after the solve (outputs.go).
	if err := validateOutDir(dir); err != nil {
		return withCode(exitError, err)
	}
	e.quiet = o.quiet
	p, err := prepare(e, path, o.dataFlags, true)
	if err != nil {
		return err
	}
	var rec solver.Recorder = solver.Nop{}
	if !o.quiet {
		// a row at least every 5 s even when one iteration takes longer; the
		// library's Solve puts its trace before this, so report.json keeps the
		// solver's own rows
		rec = &solver.Heartbeat{Next: &solver.Table{W: e.stderr}}
	}
	rec = endRecorder{rec: rec, in: e.sig}
	e.sig.setStage("deriving and solving the convex program")
	res, err := p.Solve(cnnc.SolveOptions{Solver: o.solver, Tol: o.tol, Progress: rec, Context: e.ctx, TimeLimit: o.timeLimit})
	if err := p.done(err); err != nil {
		return err
	}
	rep := res.Report
	wj, rj, err := res.Files()
	if err != nil {
		return withCode(exitError, err)
	}
	files := map[string][]byte{"weights.json": wj, "report.json": rj}
	if pl := res.Outcome.Planted; pl != nil && pl.Weights != nil {
		// the hidden network of `synthetic planted` data (§11): docs/language.md;
		// part of the same unit, so a later solve into DIR finds only its own files
		var b bytes.Buffer
		if err := pl.Weights.Write(&b); err != nil {
			return withCode(exitError, err)
		}
		files[cnnc.PlantedFile] = b.Bytes()
	}
	var plotNames []string
	if o.plots {
		e.sig.setStage("drawing the plots")
		figs, notes, err := cnnc.Plots(rep, res.Weights)
		if err != nil {
			return withCode(exitError, fmt.Errorf("drawing the plots: %v", err))
		}
		for _, name := range cnnc.PlotFiles {
			if b, ok := figs[name]; ok {
				files[name] = b
				plotNames = append(plotNames, filepath.Join(dir, name))
			}
		}
		if !o.quiet {
			for _, n := range notes {
				fmt.Fprintln(e.stderr, "note:", n)
			}
		}
	}
	// The files replace dir as one unit (outputs.go); a signal waits for it.
	wpath, rpath := filepath.Join(dir, "weights.json"), filepath.Join(dir, "report.json")
	e.sig.setStage("writing " + dir)
	unlock := e.sig.lockOutputs()
	err = writeOutDir(dir, files)
	unlock()
	if err != nil {
		return withCode(exitError, err)
	}
	if e.json {
		e.wroteJSON = true
		e.stdout.Write(rj)
	} else {
		rep.WriteSummary(e.stdout)
		fmt.Fprintf(e.stdout, "wrote       %s, %s\n", rpath, wpath)
		if len(plotNames) > 0 {
			fmt.Fprintf(e.stdout, "plots       %s\n", strings.Join(plotNames, ", "))
		}
	}
	if !res.Optimal() {
		return withCode(exitNotSolved, fmt.Errorf("the solver ended with status %s (report written to %s)", rep.Status, rpath))
	}
	return nil
}
