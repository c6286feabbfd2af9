package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/progress"
)

// exportOptions are the flags of `cnnc export`.
type exportOptions struct {
	dataFlags
	to      string // scs, cbf, cvxpy, json
	out     string
	eps     float64
	layout  string // scs: legacy or dev
	int32   bool
	allRows bool
	quiet   bool
	relax   string // vector outputs: gated (relaxation (a)) or copositive (b)
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &exportOptions{}
		cmd := &cobra.Command{
			Use:   "export FILE --format scs|cbf|cvxpy|json -o PATH",
			Short: "Write the derived convex program for an external solver",
			Long: `Derive the convex program of FILE and write it for an external solver:

  scs    SCS binary data file (read by SCS's read_data; legacy 13-field settings layout)
  cbf    Conic Benchmark Format v3 (MOSEK and others)
  cvxpy  a readable CVXPY script PATH plus its data PATH without .py + .npz
  json   the conic form as one JSON object (cnnc-conic/1)

The objective of every export equals the objective of docs/language.md (no offset or
scale). A vector-output model (linear C, C ≥ 2) exports a convex relaxation over the
train block's patterns: --relaxation copositive (the default for ReLU units) or gated
(the nuclear-norm relaxation: exact, and the only one, for gated units). The SCS and
JSON files hold the squared loss as the quadratic objective P (CBF, which has none, as
a second-order cone). The cone rows that the other rows of their activation pattern
imply (each certified a nonnegative combination of the kept rows) are left out, which
makes the files many times smaller; --all-rows keeps them. Files are written
atomically: on any error no partial output is left behind. The formats are described in docs/exports.md. --json prints what was written as one
JSON document instead of a sentence.`,
			Example: "  cnnc export examples/quickstart.cnn --format scs -o quickstart.scs\n  cnnc export examples/quickstart.cnn --format cvxpy -o quickstart.py && python3 quickstart.py CVXOPT",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runExport(e, o, args[0])
			},
		}
		cmd.Flags().StringVar(&o.to, "format", "", "output format: scs, cbf, cvxpy or json (required)")
		cmd.Flags().StringVarP(&o.out, "output", "o", "", "output path (required)")
		cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress on stderr")
		o.dataFlags.register(cmd)
		addJSON(cmd, e, "print what was written as one JSON document")
		addDeprecatedFormat(cmd, e, "diagnostics")
		cmd.Flags().Float64Var(&o.eps, "eps", 1e-6, "scs: eps_abs and eps_rel written into the settings")
		cmd.Flags().StringVar(&o.layout, "scs-layout", "legacy", "scs: settings layout, legacy (13 fields, read by every SCS 3.2.x) or dev (16 fields)")
		cmd.Flags().BoolVar(&o.int32, "scs-int32", false, "scs: write 4-byte integers instead of 8-byte ones")
		cmd.Flags().StringVar(&o.relax, "relaxation", "", "vector outputs: copositive (relaxation (b), default) or gated (relaxation (a))")
		cmd.Flags().BoolVar(&o.allRows, "all-rows", false, "write every cone row, also those the other rows of their pattern imply")
		return cmd
	})
}

// exportDoc is export's --json document.
type exportDoc struct {
	Format      string    `json:"format"`
	Files       []string  `json:"files"`
	Variables   int       `json:"variables,omitempty"`
	Rows        int       `json:"rows,omitempty"`
	Cones       *coneDoc  `json:"cones,omitempty"`
	Scale       float64   `json:"objective_scale,omitempty"`
	Offset      float64   `json:"objective_offset"`
	Diagnostics diag.List `json:"diagnostics"`
}

type coneDoc struct {
	Zero    int   `json:"z"`
	Linear  int   `json:"l"`
	SOC     []int `json:"q"`
	PSD     []int `json:"s"`
	ExpPrim int   `json:"ep"`
}

func runExport(e *env, o *exportOptions, path string) error {
	switch o.to {
	case "scs", "cbf", "cvxpy", "json":
	case "":
		return usageErr("export needs --format scs|cbf|cvxpy|json")
	default:
		return usageErr("unknown --format %q (want scs, cbf, cvxpy or json)", o.to)
	}
	if o.out == "" {
		return usageErr("export needs -o PATH")
	}
	if o.layout != "legacy" && o.layout != "dev" {
		return usageErr("unknown --scs-layout %q (want legacy or dev)", o.layout)
	}
	// A bad -o fails now, before the program is derived (outputs.go).
	outs := []string{o.out}
	if o.to == "cvxpy" {
		script, npz := cvxpyPaths(o.out)
		outs = []string{script, npz}
	}
	for _, op := range outs {
		if err := validateOutFile(op); err != nil {
			return withCode(exitError, err)
		}
	}
	e.quiet = o.quiet
	if o.relax != "" && o.relax != derive.RelaxGated && o.relax != derive.RelaxCopositive {
		return usageErr("unknown --relaxation %q (want copositive or gated)", o.relax)
	}
	p, err := prepare(e, path, o.dataFlags, true)
	if err != nil {
		return err
	}
	p.Relaxation = o.relax
	if err := p.derive(); err != nil {
		return err
	}
	if o.to == "cvxpy" {
		return exportCVXPY(e, p, o.out)
	}
	eo := cnnc.ExportOptions{Eps: o.eps, SCSLayout: o.layout, SCSInt32: o.int32, AllRows: o.allRows}
	e.sig.setStage("canonicalising")
	cp, err := p.ConicFor(o.to, eo) // against the budget, before anything is written
	if err != nil {
		return p.done(err)
	}
	e.sig.setStage("writing " + o.out)
	task := progress.Start(e.reporter(o.quiet), "writing "+o.out, 0, "bytes")
	err = writeFileAtomic(o.out, func(w io.Writer) error {
		return cnnc.WriteConic(&countingWriter{w: w, task: task}, cp, o.to, eo)
	})
	task.End()
	if err != nil {
		return p.done(err)
	}
	if e.json {
		return e.writeJSON(exportDoc{Format: o.to, Files: []string{o.out}, Variables: cp.N, Rows: cp.M,
			Cones: &coneDoc{Zero: cp.Cones.Z, Linear: cp.Cones.L, SOC: nonNil(cp.Cones.Q), PSD: nonNil(cp.Cones.S), ExpPrim: cp.Cones.EP},
			Scale: cp.Scale(), Offset: cp.ObjOffset, Diagnostics: e.diagnostics()})
	}
	fmt.Fprintf(e.stdout, "wrote %s (%s): %d variables, %d rows, cones z=%d l=%d q=%d blocks s=%d blocks ep=%d; objective scale %g offset %g\n",
		o.out, o.to, cp.N, cp.M, cp.Cones.Z, cp.Cones.L, len(cp.Cones.Q), len(cp.Cones.S), cp.Cones.EP, cp.Scale(), cp.ObjOffset)
	return nil
}

func nonNil(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

// countingWriter passes writes through and reports the bytes to a progress task.
type countingWriter struct {
	w    io.Writer
	task *progress.Task
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.task.Add(int64(n))
	return n, err
}

// cvxpyPaths returns the script (PATH, with .py added if missing) and data paths of
// a CVXPY export.
func cvxpyPaths(out string) (script, npz string) {
	if !strings.HasSuffix(out, ".py") {
		out += ".py"
	}
	return out, strings.TrimSuffix(out, ".py") + ".npz"
}

// exportCVXPY writes PATH (the script) and PATH without .py plus .npz (its data).
func exportCVXPY(e *env, p *prepared, out string) error {
	out, npz := cvxpyPaths(out)
	// Both files are staged in memory first so a failure leaves neither behind.
	var script, data bytes.Buffer
	if err := p.ExportCVXPY(&script, &data, filepath.Base(npz)); err != nil {
		return p.done(err)
	}
	if err := writeFileAtomic(npz, func(w io.Writer) error { _, err := w.Write(data.Bytes()); return err }); err != nil {
		return withCode(exitError, err)
	}
	if err := writeFileAtomic(out, func(w io.Writer) error { _, err := w.Write(script.Bytes()); return err }); err != nil {
		return withCode(exitError, err)
	}
	if e.json {
		return e.writeJSON(exportDoc{Format: "cvxpy", Files: []string{out, npz}, Diagnostics: e.diagnostics()})
	}
	fmt.Fprintf(e.stdout, "wrote %s and %s; run: python3 %s [SCS|CVXOPT|CLARABEL|MOSEK]\n", out, npz, out)
	return nil
}
