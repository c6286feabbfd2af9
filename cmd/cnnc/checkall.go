package main

import (
	"fmt"

	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// deepCheck runs, on a file that checked without errors, every check that needs
// no solve: it loads the training data (and the test data, standardised with the
// train set's statistics) — data shapes, row counts, label kinds, sizes against
// the memory budget — then matches the trained model against the rule table and
// runs the matched rule's data checks (labels the loss can use, β, the patch
// matrix's size). It returns their diagnostics and, in words, the checks it
// skipped and why.
func deepCheck(e *env, o *checkOptions, f *ir.File) (diag.List, []string) {
	if f.Trained == nil {
		return nil, []string{"the formulation and data checks (no model is selected for training)"}
	}
	in := &derive.Input{File: f, Model: f.Trained, Train: f.Train, MaxMemory: e.maxMemory, Context: e.ctx}
	var all diag.List
	var skipped []string
	td := f.Data["train"]
	switch {
	case o.noData:
		skipped = append(skipped, "loading the data (--no-data)")
	case td == nil:
		skipped = append(skipped, "loading the data (no `data train` block; give one or --data)")
	default:
		e.sig.setStage("loading the data of " + f.Path)
		lo := dataset.Options{MaxMemory: e.maxMemory, Progress: e.reporter(o.quiet), Context: e.ctx}
		train, stats, dl := dataset.LoadWith(td, f.Trained.Input(), nil, lo)
		all = append(all, dl...)
		if train != nil {
			if tst := f.Data["test"]; tst != nil {
				_, _, dl := dataset.LoadWith(tst, f.Trained.Input(), stats, lo)
				all = append(all, dl...)
			}
		}
		if all.HasErrors() {
			return all, nil
		}
		in.Data = train
	}
	_, dl, sk := derive.Precheck(in)
	all = append(all, dl...)
	skipped = append(skipped, sk...)
	return all, skipped
}

// printSkipped says which checks did not run, one line per file and check.
func printSkipped(e *env, path string, skipped []string) {
	for _, s := range skipped {
		fmt.Fprintf(e.stderr, "cnnc check: %s: skipped %s\n", path, s)
	}
}
