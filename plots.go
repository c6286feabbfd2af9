package cnnc

import (
	"strings"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/compiler/plot"
)

// PlotFiles are the plot file names Plots can return, in a fixed order.
var PlotFiles = []string{plot.ConvergenceFile, plot.FiltersFile, plot.SpectrumFile}

// Plots draws the figures of a solved model (package compiler/plot) from its report
// and weights: convergence.svg (from the report's trace; always), filters.svg (when
// the network has a conv or circconv layer) and spectrum.svg (one-channel 1-D
// circular networks). The map holds the files drawn (name → SVG bytes); notes say
// which were not drawn and why.
func Plots(rep *Report, w *network.Weights) (files map[string][]byte, notes []string, err error) {
	files = map[string][]byte{}
	run := &plot.Run{Model: rep.Model, Status: rep.Status, Convex: rep.ConvexObjective}
	// Only a certified dual bound gives a certified gap (not a solver's own dual).
	if rep.DualObjective != nil && rep.Gap != nil && !strings.HasPrefix(rep.DualScope, "none") && !strings.HasPrefix(rep.DualScope, "solver dual") {
		run.Gap = rep.Gap
	}
	if rep.Trace != nil {
		run.Phases, run.Rows = rep.Trace.Phases, rep.Trace.Rows
	}
	b, err := plot.ConvergenceSVG(run)
	if err != nil {
		return nil, nil, err
	}
	files[plot.ConvergenceFile] = b
	if w == nil {
		return files, append(notes, "no weights: filters and spectra not drawn"), nil
	}
	b, ok, err := plot.FiltersSVG(w)
	switch {
	case err != nil:
		return nil, nil, err
	case ok:
		files[plot.FiltersFile] = b
	default:
		notes = append(notes, plot.FiltersFile+" not drawn: the network has no conv or circconv layer")
	}
	b, ok, why, err := plot.SpectrumSVG(w)
	switch {
	case err != nil:
		return nil, nil, err
	case ok:
		files[plot.SpectrumFile] = b
	default:
		notes = append(notes, plot.SpectrumFile+" not drawn: "+why)
	}
	return files, notes, nil
}
