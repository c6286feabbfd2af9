package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/backend/solver"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/train"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// solveOptions are the flags of `cnnc solve`.
type solveOptions struct {
	dataFlags
	out    string
	json   bool
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
equivalent to the architecture (formulations.md), solve it natively, recover the
network's weights, evaluate the recovered network's non-convex objective directly from
its weights, and certify the result with a dual bound.

Writes DIR/report.json and DIR/weights.json (spec/cli.md; DIR defaults to FILE without
.cnn plus .out/). Progress goes to stderr (--quiet silences it), the summary to stdout
(--json prints report.json instead). Exit 0 when the solver reached an optimal status,
3 when it ended otherwise (the report is still written and says why), 1 on errors.`,
			Example: "  cnnc solve examples/quickstart.cnn\n  cnnc solve examples/quickstart.cnn -o /tmp/run --json --quiet",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runSolve(e, o, args[0])
			},
		}
		cmd.Flags().StringVarP(&o.out, "output", "o", "", "output folder (default: FILE without .cnn plus .out)")
		cmd.Flags().BoolVar(&o.json, "json", false, "print report.json to stdout instead of the summary")
		cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress on stderr")
		cmd.Flags().StringVar(&o.solver, "solver", "", "native (structured solver where it applies, else conic) or conic; default: the train block's")
		cmd.Flags().Float64Var(&o.tol, "tol", 0, "solver tolerance (default: the train block's tol, else 1e-6)")
		o.dataFlags.register(cmd)
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
	var rec solver.Recorder = solver.Nop{}
	if !o.quiet {
		rec = &solver.Table{W: e.stderr}
	}
	out, err := train.Run(p.in, train.Options{
		Solver:   o.solver,
		Settings: train.SolverSettings{Tol: o.tol},
		Recorder: rec,
	})
	if out != nil && len(out.Diagnostics) > 0 {
		if perr := printDiags(e, out.Diagnostics, p.srcs, o.format); perr != nil {
			return perr
		}
	}
	if err != nil {
		var dl diag.List
		if errors.As(err, &dl) {
			return withCode(exitError, nil)
		}
		return withCode(exitError, fmt.Errorf("solving %s: %v", path, err))
	}
	rep := buildReport(p, out)
	var rj bytes.Buffer
	if err := rep.write(&rj); err != nil {
		return withCode(exitError, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return withCode(exitError, fmt.Errorf("creating output folder: %v", err))
	}
	wpath, rpath := filepath.Join(dir, "weights.json"), filepath.Join(dir, "report.json")
	if err := writeFileAtomic(wpath, out.Weights.Write); err != nil {
		return withCode(exitError, err)
	}
	if err := writeFileAtomic(rpath, func(w io.Writer) error { _, err := w.Write(rj.Bytes()); return err }); err != nil {
		return withCode(exitError, err)
	}
	if o.json {
		e.stdout.Write(rj.Bytes())
	} else {
		printSummary(e.stdout, rep)
		fmt.Fprintf(e.stdout, "wrote       %s, %s\n", rpath, wpath)
	}
	if out.Status != solver.Optimal {
		return withCode(exitNotSolved, fmt.Errorf("the solver ended with status %s (report written to %s)", out.Status, rpath))
	}
	return nil
}

// buildReport fills report.json from the pipeline's outcome and evaluates the
// recovered network on the train and test sets.
func buildReport(p *prepared, out *train.Outcome) *report {
	t := p.file.Train
	loss := t.Loss
	if loss == "" {
		loss = "squared"
	}
	reg := ""
	if out.Program != nil {
		reg = out.Program.Regularizer
	}
	r := &report{
		Format:      reportFormat,
		Model:       p.model.Name,
		Theorem:     out.Rule.Theorem,
		Section:     out.Rule.Section,
		Regularizer: reg,
		Status:      string(out.Status),
		Samples:     p.train.N(),
		Patterns:    out.Sizes.Patterns,
		PatternMode: t.Patterns.Mode.String(),
		Variables:   out.Sizes.Variables,
		Constraints: out.Sizes.Constraints,

		ConvexObjective:    num(out.ConvexObjective),
		DualObjective:      num(out.DualObjective),
		Gap:                num(out.ConvexObjective - out.DualObjective),
		DualScope:          out.DualSource,
		NonconvexObjective: num(out.NonconvexObjective),
		ActiveNeurons:      out.ActiveNeurons,
		Iterations:         out.Iterations,
		SolveSeconds:       out.Seconds,
		Solver:             out.SolverName,
		TrainLoss:          num(out.Loss),
		Beta:               t.Beta,
		Loss:               loss,
		Seed:               t.Patterns.Seed,
	}
	if acc, ok := accuracy(p.model, out.Weights, p.train); ok {
		r.TrainAccuracy = num(acc)
	}
	if p.test != nil {
		if _, l, _, err := network.Objective(p.model, out.Weights, p.test.X, p.test.Y); err == nil {
			r.TestLoss = num(l)
		}
		if acc, ok := accuracy(p.model, out.Weights, p.test); ok {
			r.TestAccuracy = num(acc)
		}
	}
	if out.Adaptive != nil {
		a := out.Adaptive
		r.Notes = append(r.Notes, fmt.Sprintf("adaptive patterns: %d seeded by a local search, %d rounds, %d patterns added, %d search evaluations, exhaustive search: %v, last ρ = %.6g",
			a.Seeded, a.Rounds, a.Added, a.Evaluations, a.Exhaustive, a.Ratio))
	}
	if out.Vector != nil {
		addVector(r, p, out)
		return r
	}
	if out.NonconvexObjective != 0 && out.ConvexObjective != 0 {
		rel := math.Abs(out.NonconvexObjective-out.ConvexObjective) / math.Max(1, math.Abs(out.ConvexObjective))
		r.Notes = append(r.Notes, fmt.Sprintf("strong duality: |nonconvex − convex| = %.3e relative", rel))
	}
	return r
}

func fmtNum(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.10g", *v)
}

func printSummary(w io.Writer, r *report) {
	fmt.Fprintf(w, "model       %s — %s (formulations.md %s)\n", r.Model, r.Theorem, r.Section)
	if r.Regularizer != "" {
		fmt.Fprintf(w, "regulariser %s\n", r.Regularizer)
	}
	fmt.Fprintf(w, "status      %s  (%s solver, %d iterations, %.3f s)\n", r.Status, r.Solver, r.Iterations, r.SolveSeconds)
	if r.Bracket != nil {
		printVector(w, r)
	} else {
		fmt.Fprintf(w, "convex      %s  (optimum of the convex program)\n", fmtNum(r.ConvexObjective))
		fmt.Fprintf(w, "nonconvex   %s  (loss + weight decay of the recovered network, from its weights)\n", fmtNum(r.NonconvexObjective))
		fmt.Fprintf(w, "dual bound  %s  gap %s  [%s]\n", fmtNum(r.DualObjective), fmtNum(r.Gap), r.DualScope)
	}
	fmt.Fprintf(w, "network     %d active neurons; %d samples, %d patterns (%s), %d variables, %d constraints\n",
		r.ActiveNeurons, r.Samples, r.Patterns, r.PatternMode, r.Variables, r.Constraints)
	fmt.Fprintf(w, "train       loss %s  accuracy %s\n", fmtNum(r.TrainLoss), fmtNum(r.TrainAccuracy))
	if r.TestLoss != nil {
		fmt.Fprintf(w, "test        loss %s  accuracy %s\n", fmtNum(r.TestLoss), fmtNum(r.TestAccuracy))
	}
	printConfusion(w, "confusion   train", r.Classes, r.ConfusionTrain)
	printConfusion(w, "confusion   test", r.Classes, r.ConfusionTest)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note        %s\n", n)
	}
}
