// Package plot draws the pictures of a solved model as SVG (gonum.org/v1/plot):
//
//   - convergence.svg: the objective and the gap of every progress row the solver
//     recorded (report.json's "trace") against wall time, with the certified gap
//     (convex optimum − certified dual bound) marked at the end (ConvergenceSVG);
//   - filters.svg: the learned filters of the first conv or circconv layer, one
//     panel per active filter — 2-D filters as images on a diverging colour scale,
//     1-D filters as curves (FiltersSVG);
//   - spectrum.svg: for circular networks (§7.3, docs/math/07-linear-cnn.md; §8,
//     docs/math/08-circular3.md), the Fourier magnitudes of every unit's effective
//     filter and, for linear ones, of the whole network's filter (SpectrumSVG,
//     CircSpectra documents the effective filter and the convention).
//
// `cnnc solve --plots` writes them beside report.json and weights.json, `cnnc plot
// DIR` from a finished output folder (docs/cli.md). Every figure is computed from
// weights.json and report.json alone.
//
// Pipeline position: report.json, weights.json ──▶ plot ──▶ SVG. It imports
// compiler/network (the weights) and backend/solver (the trace rows), nothing else
// of cnnc.
//
// Determinism: the same inputs give the same bytes (gonum's SVG writer is
// deterministic; no fonts are embedded).
//
// # Measured
//
// The figures of the shipped examples (docs/img, made by docs/img/make.sh): 8–30 kB
// per convergence plot, 13–20 kB for 1-D filters and spectra, 51 kB for the 32 4×4
// filter images of examples/fashion_gap.cnn; about 180 kB in all. Drawing takes
// milliseconds (the compiler/plot tests draw eight figures in about 0.2 s). The
// working-set solvers (group, large) record one progress row per round, so their
// convergence plots have few points (two for examples/quickstart.cnn); the conic
// interior-point solver records every iteration.
package plot
