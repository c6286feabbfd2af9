package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// prepared is a loaded Problem (github.com/cnnc-org/cnnc) plus how far its
// diagnostics have been shown: what every verb past `check` works from.
type prepared struct {
	*cnnc.Problem
	e     *env
	shown int // p.Diagnostics[:shown] have been reported
}

// dataFlags are the flags shared by verbs that load data.
type dataFlags struct {
	data string // --data override of the train set
}

// register adds --data to cmd.
func (fl *dataFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&fl.data, "data", "", "training data replacing the file's data train source: FILE.csv[,header=true][,label=COLUMN], X.npy,y.npy, IMAGES,LABELS or synthetic:NAME[,key=value] (docs/cli.md)")
}

// prepare loads and checks path and (when needData) its train and test data.
// Diagnostics are reported; on errors it returns withCode(exitError, nil) and the
// Problem loaded so far.
func prepare(e *env, path string, fl dataFlags, needData bool) (*prepared, error) {
	e.sig.setStage("loading " + path)
	prob, err := cnnc.Load(path, cnnc.Options{Data: fl.data, SkipData: !needData,
		MaxMemory: e.maxMemory, Progress: e.reporter(e.quiet), Context: e.ctx})
	p := &prepared{Problem: prob, e: e}
	return p, p.done(err)
}

// flush reports the diagnostics not shown yet.
func (p *prepared) flush() {
	p.e.report(p.Diagnostics[p.shown:], p.Sources)
	p.shown = len(p.Diagnostics)
}

// done reports new diagnostics and turns an API error into the verb's error:
// diagnostics (already reported) become exit 1 without a message.
func (p *prepared) done(err error) error {
	p.flush()
	if err == nil {
		return nil
	}
	var dl diag.List
	if errors.As(err, &dl) {
		return withCode(exitError, nil)
	}
	return withCode(exitError, err)
}

// loadData loads the train and test data (see cnnc.Problem.LoadData).
func (p *prepared) loadData() error { return p.done(p.LoadData()) }

// derive picks the rule for the model and derives its convex program.
func (p *prepared) derive() error {
	p.e.sig.setStage("deriving the convex program")
	_, _, err := p.Derive()
	return p.done(err)
}
