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
package cnnc
