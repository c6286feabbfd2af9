package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/backend/solver"
)

// solveOptions are the flags of `cnnc solve`.
type solveOptions struct {
	dataFlags
	out    string
	quiet  bool
	solver string
	tol    float64
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
without .cnn plus .out/). Progress goes to stderr (--quiet silences it), the summary
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
		cmd.Flags().StringVar(&o.solver, "solver", "", "native (structured solver where it applies, else conic) or conic; default: the train block's")
		cmd.Flags().Float64Var(&o.tol, "tol", 0, "solver tolerance (default: the train block's tol, else 1e-6)")
		o.dataFlags.register(cmd)
		addDeprecatedFormat(cmd, e, "diagnostics")
		return cmd
	})
}

func runSolve(e *env, o *solveOptions, path string) error {
	if o.solver != "" && o.solver != "native" && o.solver != "conic" {
		return usageErr("unknown --solver %q (want native or conic)", o.solver)
	}
	p, err := prepare(e, path, o.dataFlags, true)
	if err != nil {
		return err
	}
	dir := o.out
	if dir == "" {
		dir = strings.TrimSuffix(path, ".cnn") + ".out"
	}
	var rec solver.Recorder
	if !o.quiet {
		rec = &solver.Table{W: e.stderr}
	}
	res, err := p.Solve(cnnc.SolveOptions{Solver: o.solver, Tol: o.tol, Progress: rec})
	if err := p.done(err); err != nil {
		return err
	}
	rep := res.Report
	var rj bytes.Buffer
	if err := rep.Write(&rj); err != nil {
		return withCode(exitError, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return withCode(exitError, fmt.Errorf("creating output folder: %v", err))
	}
	wpath, rpath := filepath.Join(dir, "weights.json"), filepath.Join(dir, "report.json")
	if err := writeFileAtomic(wpath, res.Weights.Write); err != nil {
		return withCode(exitError, err)
	}
	if err := writeFileAtomic(rpath, func(w io.Writer) error { _, err := w.Write(rj.Bytes()); return err }); err != nil {
		return withCode(exitError, err)
	}
	if e.json {
		e.wroteJSON = true
		e.stdout.Write(rj.Bytes())
	} else {
		rep.WriteSummary(e.stdout)
		fmt.Fprintf(e.stdout, "wrote       %s, %s\n", rpath, wpath)
	}
	if !res.Optimal() {
		return withCode(exitNotSolved, fmt.Errorf("the solver ended with status %s (report written to %s)", rep.Status, rpath))
	}
	return nil
}
