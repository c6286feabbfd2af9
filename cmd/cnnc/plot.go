package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/compiler/network"
)

// plotOptions are the flags of `cnnc plot`.
type plotOptions struct {
	out    string
	prefix string
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &plotOptions{}
		cmd := &cobra.Command{
			Use:   "plot DIR [-o OUTDIR] [--prefix NAME]",
			Short: "Draw the plots of a solve's output folder (convergence, filters, spectra) as SVG",
			Long: `Read DIR/report.json and DIR/weights.json (the output folder of cnnc solve) and
draw, as SVG files in OUTDIR (default DIR; created if absent):

  convergence.svg  the objective and the gap of every solver progress row against
                   time, with the certified gap marked at the end;
  filters.svg      the learned filters of the first conv or circconv layer, one panel
                   per active filter (2-D filters as images, 1-D ones as curves);
  spectrum.svg     circular networks (docs/math/07-linear-cnn.md §7.3,
                   docs/math/08-circular3.md): the Fourier magnitudes of each unit's
                   effective filter.

A figure that does not apply is skipped with a note on stderr. --prefix NAME names
the files NAME-convergence.svg, … (to keep several models in one folder).
cnnc solve --plots writes the same files beside the report. docs/cli.md, "Plots".`,
			Example: "  cnnc solve examples/circular_signal.cnn -o /tmp/circ --quiet\n  cnnc plot /tmp/circ\n  cnnc plot /tmp/circ -o /tmp/figs --prefix circular",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runPlot(e, o, args[0])
			},
		}
		cmd.Flags().StringVarP(&o.out, "output", "o", "", "folder for the SVG files (default: DIR)")
		cmd.Flags().StringVar(&o.prefix, "prefix", "", "name the files PREFIX-convergence.svg, PREFIX-filters.svg, PREFIX-spectrum.svg")
		return cmd
	})
}

func runPlot(e *env, o *plotOptions, dir string) error {
	rb, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return withCode(exitError, fmt.Errorf("%s: %v (give the output folder of cnnc solve)", filepath.Join(dir, "report.json"), unwrapPath(err)))
	}
	rep := &cnnc.Report{}
	if err := json.Unmarshal(rb, rep); err != nil {
		return withCode(exitError, fmt.Errorf("%s: %v", filepath.Join(dir, "report.json"), err))
	}
	w, err := network.ReadFile(filepath.Join(dir, "weights.json"))
	if err != nil {
		return withCode(exitError, err)
	}
	figs, notes, err := cnnc.Plots(rep, w)
	if err != nil {
		return withCode(exitError, fmt.Errorf("drawing the plots: %v", err))
	}
	out := o.out
	if out == "" {
		out = dir
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return withCode(exitError, fmt.Errorf("output folder %s: %v", out, unwrapPath(err)))
	}
	if st, err := os.Stat(out); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New("not a folder")
		}
		return withCode(exitError, fmt.Errorf("output folder %s: %v", out, unwrapPath(err)))
	}
	var wrote []string
	for _, name := range cnnc.PlotFiles {
		b, ok := figs[name]
		if !ok {
			continue
		}
		if o.prefix != "" {
			name = o.prefix + "-" + name
		}
		path := filepath.Join(out, name)
		if err := writeFileAtomic(path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return withCode(exitError, err)
		}
		wrote = append(wrote, path)
	}
	for _, n := range notes {
		fmt.Fprintln(e.stderr, "note:", n)
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", strings.Join(wrote, ", "))
	return nil
}
