// Package cnnc is the Go API of cnnc: it turns a .cnn file (architecture, data,
// training settings; docs/language.md) into a convex program that is exactly
// equivalent to training the network with weight decay, solves it, recovers the
// trained network's weights, certifies them, and runs or exports the result — what
// the cnnc command does, for Go programs. docs/api.md is the guide.
//
// The steps, each a method of Problem:
//
//	p, err := cnnc.Load("net.cnn", cnnc.Options{})     // parse, check, load data (Parse: from memory)
//	rule, prog, err := p.Derive()                       // the reformulation and its convex program
//	res, err := p.Solve(cnnc.SolveOptions{})            // solve, recover, certify: res.Weights, res.Report
//	pr, err := cnnc.Predict(p.Model, res.Weights, p.Test)
//	ds, err := p.LoadNew("new.csv,label=none", res.Weights) // new raw data, preprocessed as in training
//	_, err = p.Export(w, cnnc.FormatSCS, cnnc.ExportOptions{})
//
// Errors. A problem in the input (a bad file, missing data, an architecture with
// no convex equivalent) is reported as diagnostics: the error is a diag.List
// (package lang/diag; errors.As finds it), and every diagnostic so far, warnings
// included, is in p.Diagnostics, renderable with diag.WriteText(w, p.Diagnostics,
// p.Sources). Other errors (I/O, internal) are plain errors. A solver that ends
// without an optimal status is not an error: see Result.Optimal and
// Report.Status.
//
// Files. Result.Weights.Write writes weights.json and Result.Report.Write
// report.json (docs/cli.md); weights.json records the training data's
// preprocessing (network.Preprocess) so the network runs on raw inputs.
//
// Import graph: this package sits on top of the pipeline (lang, compiler,
// backend) and below cmd/cnnc, which is a thin layer of flags and output
// formats over it.
//
// # Measured
//
// The test suite (go test ./..., every reference installed: CVXOPT, NumPy,
// PyTorch, Fashion-MNIST), on the shared 2-core machine at load 23–30, so CPU
// time (user + system, test binaries and the Python they run) is the number to
// trust; a quiet machine should need about CPU/2 of wall time, the packages
// running two at a time. Whole suite, including compilation: 189 s CPU (836 s
// wall at load 28–30). Per package (build cached): cmd/cnnc 61 s, compiler/derive
// 29 s, compiler/train 22 s, backend/native/group 12 s, compiler/network 9 s,
// compiler/canon 6 s, compiler/patch 6 s, every other package under 4 s. Before
// the long cross-checks moved behind CNNC_LONG=1 and CVXOPT's stalls were fixed,
// the same machine measured compiler/derive 186 s CPU (1202 s wall),
// cmd/cnnc 159 s (925 s wall; it failed when CVXOPT ran into the test's 5-minute
// limit), compiler/train 95 s, compiler/canon 21 s (with its CVXOPT failure). A fresh
// clone with only Go (no python3, no Fashion-MNIST; simulated by hiding them in a
// private mount namespace) passes in 49 s CPU (202 s wall at load ~20).
// Re-measure the wall times on a quiet machine.
package cnnc
