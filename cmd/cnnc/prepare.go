package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/token"
)

// prepared is a checked file with its data loaded: what every verb past `check`
// works from.
type prepared struct {
	file  *ir.File
	srcs  diag.Sources
	model *ir.Model
	train *dataset.Dataset // nil when the file has no data and none was given
	test  *dataset.Dataset // nil without a `data test` block
	in    *derive.Input

	rule *derive.Rule    // set by derive
	prog *convex.Program // set by derive
}

// dataFlags are the flags shared by verbs that load data.
type dataFlags struct {
	format string // diagnostics: text or json
	data   string // --data override of the train set
	quiet  bool   // no progress lines on stderr
}

// register adds --data, --diagnostics and --quiet to cmd.
func (fl *dataFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&fl.data, "data", "", "training data replacing the file's data train source")
	cmd.Flags().StringVar(&fl.format, "diagnostics", formatText, "diagnostic format: text (stderr) or json (stdout)")
	cmd.Flags().BoolVarP(&fl.quiet, "quiet", "q", false, "no progress on stderr")
}

// prepare loads, checks and (when needData) loads the train and test data of path.
// Diagnostics are printed; on errors it returns withCode(exitError, nil).
func prepare(e *env, path string, fl dataFlags, needData bool) (*prepared, error) {
	if err := checkFormat(fl.format); err != nil {
		return nil, err
	}
	f, srcs, err := loadChecked(e, path, check.Options{DataOverride: fl.data}, fl.format)
	if err != nil {
		return nil, err
	}
	p := &prepared{file: f, srcs: srcs, model: f.Trained}
	if p.model == nil && !needData {
		return p, nil // explain shows every model even when none is selected
	}
	if p.model == nil {
		var dl diag.List
		dl.Errorf("C0901", token.Range{File: path}, "Add a model block, or name the model to train with `train model=NAME { ... }`.", "no model to train")
		printDiags(e, dl, srcs, fl.format)
		return nil, withCode(exitError, nil)
	}
	p.in = &derive.Input{File: f, Model: p.model, Train: f.Train,
		MaxMemory: e.maxMemory, Progress: e.reporter(fl.quiet), Context: e.ctx}
	if !needData {
		return p, nil
	}
	return p, p.loadData(e, path, fl.format)
}

// loadData loads the train set (and the test set, standardised with the train
// set's statistics) of a prepared file; diagnostics are printed.
func (p *prepared) loadData(e *env, path, format string) error {
	f, srcs := p.file, p.srcs
	td := f.Data["train"]
	if td == nil {
		var dl diag.List
		dl.Errorf(dataset.CodeRead, token.Range{File: path}, "Add a `data train { ... }` block, or give the training data with --data (a .csv file, X.npy,y.npy, IMAGES,LABELS, or synthetic:NAME,key=value).", "no training data")
		printDiags(e, dl, srcs, format)
		return withCode(exitError, nil)
	}
	var all diag.List
	e.sig.setStage("loading the training data")
	lo := dataset.Options{MaxMemory: e.maxMemory, Progress: p.in.Progress, Context: e.ctx}
	train, stats, dl := dataset.LoadWith(td, p.model.Input(), nil, lo)
	all = append(all, dl...)
	if train != nil {
		if tst := f.Data["test"]; tst != nil {
			e.sig.setStage("loading the test data")
			test, _, dl := dataset.LoadWith(tst, p.model.Input(), stats, lo)
			all = append(all, dl...)
			p.test = test
		}
	}
	if err := printDiags(e, all, srcs, format); err != nil {
		return err
	}
	if all.HasErrors() {
		return withCode(exitError, nil)
	}
	p.train = train
	p.in.Data = train
	return nil
}

// derive picks the rule for the model and derives its convex program.
func (p *prepared) derive(e *env, format string) (*derive.Rule, error) {
	e.sig.setStage("deriving the convex program")
	rule, prog, dl := derive.Derive(p.in)
	if err := printDiags(e, dl, p.srcs, format); err != nil {
		return nil, err
	}
	if dl.HasErrors() || prog == nil {
		return nil, withCode(exitError, nil)
	}
	p.rule, p.prog = rule, prog
	return rule, nil
}

func (p *prepared) describeData() string {
	if p.train == nil {
		return "no data"
	}
	return fmt.Sprintf("%d samples × %d features (%s)", p.train.N(), p.train.Features(), p.train.Source)
}
