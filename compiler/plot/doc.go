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
package plot
