package cnnc

import (
	"context"
	"errors"
	"fmt"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/progress"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/lang/token"
	"github.com/cnnc-org/cnnc/stdlib"
)

// Options configure Load and Parse.
type Options struct {
	// Data replaces the source of the `data train` block, keeping its transforms
	// (classes, limit, scale, standardize). The forms are those of the command line's
	// --data (docs/cli.md): FILE.csv[,header=true][,label=COLUMN], X.npy[,y.npy],
	// IMAGES[,LABELS] (IDX, gzip optional) and synthetic:NAME[,key=value...]. Relative
	// paths are relative to the current directory.
	Data string

	// SkipData checks the file without reading its data; call LoadData later.
	SkipData bool

	// Dir is the folder that relative paths inside the file are resolved against
	// (Parse only; Load uses the file's folder).
	Dir string

	// MaxMemory is the memory budget in bytes of every stage that grows with the
	// input (data readers, patch extraction, pattern sets, the conic form; package
	// budget): 0 the default (half of the machine's memory), < 0 none. A stage over
	// it is refused with diagnostic F0209 before it allocates.
	MaxMemory int64
	// Progress receives progress lines of long stages (reading data, sampling or
	// enumerating patterns, extracting patches); nil: none.
	Progress progress.Reporter
	// Context ends those stages early (diagnostic F0210); Solve's own Context ends
	// the solve. nil: never.
	Context context.Context
}

// Problem is a checked .cnn file with its data: what every later step works from.
// Its fields are set as the steps run (Load, LoadData, Derive); a Problem is not
// safe for concurrent use.
type Problem struct {
	Opts  Options          // the options it was loaded with
	Path  string           // the .cnn file's name (as given)
	File  *ir.File         // the checked file
	Model *ir.Model        // the model the train block selects (nil when none is)
	Train ir.Train         // the train block with its defaults filled in
	Data  *dataset.Dataset // the training data (nil until loaded)
	Test  *dataset.Dataset // the `data test` block, preprocessed with the training statistics (nil without one)
	Stats *dataset.Stats   // the preprocessing learned from the training data

	Rule    *derive.Rule    // the reformulation that applies (set by Derive)
	Program *convex.Program // the derived convex program (set by Derive)

	// Relaxation selects the relaxation Derive writes for a vector-output model
	// (derive.RelaxGated or derive.RelaxCopositive; "" the rule's default).
	Relaxation string

	// Diagnostics are every diagnostic reported so far, warnings included, in the
	// order the steps produced them. Sources renders them as text (diag.WriteText).
	Diagnostics diag.List
	Sources     diag.Sources
}

// Load reads, parses and checks the .cnn file at path and (unless opts.SkipData)
// loads its training and test data. When the file has errors, the error is the
// diag.List of this step's diagnostics and the Problem holds what did check (File
// is nil when the file cannot be read at all); the Problem is never nil.
func Load(path string, opts Options) (*Problem, error) {
	f, dl, srcs := check.LoadFile(path, check.Options{DataOverride: opts.Data})
	p := &Problem{Path: path, Sources: srcs}
	return p.finish(f, dl, opts)
}

// Parse is Load for a file held in memory: name labels diagnostics and src is its
// text. Relative data paths are resolved against opts.Dir (default: the folder of
// name).
func Parse(name string, src []byte, opts Options) (*Problem, error) {
	srcs := diag.Sources{}
	for _, e := range stdlib.List() {
		srcs[e.File] = token.NewFile(e.File, e.Source)
	}
	srcs[name] = token.NewFile(name, src)
	sf, dl := syntax.Parse(name, src)
	f, cd := check.Check(sf, check.Options{Dir: opts.Dir, DataOverride: opts.Data})
	dl = append(dl, cd...)
	dl.Sort()
	p := &Problem{Path: name, Sources: srcs}
	return p.finish(f, dl, opts)
}

func (p *Problem) finish(f *ir.File, dl diag.List, opts Options) (*Problem, error) {
	p.Opts = opts
	p.Diagnostics = append(p.Diagnostics, dl...)
	if f == nil {
		return p, dl
	}
	p.File, p.Model, p.Train = f, f.Trained, f.Train
	if dl.HasErrors() {
		return p, dl
	}
	if opts.SkipData {
		return p, nil
	}
	return p, p.LoadData()
}

// report adds dl to the Problem's diagnostics and returns dl as an error when it
// has errors.
func (p *Problem) report(dl diag.List) error {
	p.Diagnostics = append(p.Diagnostics, dl...)
	return dl.Err()
}

// CodeNoModel is the diagnostic code of a file with no model to train.
const CodeNoModel = "C0901"

// LoadData loads the `data train` block (and `data test`, preprocessed with the
// training statistics). It needs a selected model: the data are reshaped to its
// input. Loading twice is a no-op.
func (p *Problem) LoadData() error {
	if p.Data != nil {
		return nil
	}
	if p.Model == nil {
		var dl diag.List
		dl.Errorf(CodeNoModel, token.Range{File: p.Path}, "Add a model block, or name the model to train with `train model=NAME { ... }`.", "no model to train")
		return p.report(dl)
	}
	td := p.File.Data["train"]
	if td == nil {
		var dl diag.List
		dl.Errorf(dataset.CodeRead, token.Range{File: p.Path}, "Add a `data train { ... }` block, or give the training data with --data (a .csv file, X.npy,y.npy, IMAGES,LABELS, or synthetic:NAME,key=value).", "no training data")
		return p.report(dl)
	}
	var all diag.List
	lo := dataset.Options{MaxMemory: p.Opts.MaxMemory, Progress: p.Opts.Progress, Context: p.Opts.Context, Model: p.Model}
	train, stats, dl := dataset.LoadWith(td, nil, nil, lo)
	all = append(all, dl...)
	var test *dataset.Dataset
	if train != nil {
		if tst := p.File.Data["test"]; tst != nil {
			var dl diag.List
			test, _, dl = dataset.LoadWith(tst, nil, stats, lo)
			all = append(all, dl...)
		}
	}
	if err := p.report(all); err != nil {
		return err
	}
	p.Data, p.Test, p.Stats = train, test, stats
	return nil
}

// Input is the derive input of the Problem (model, training data, train block).
func (p *Problem) Input() *derive.Input {
	return &derive.Input{File: p.File, Model: p.Model, Data: p.Data, Train: p.Train, Relaxation: p.Relaxation,
		MaxMemory: p.Opts.MaxMemory, Progress: p.Opts.Progress, Context: p.Opts.Context}
}

// Derive picks the reformulation that applies to the model and derives its convex
// program from the training data (loaded first if needed). The result is kept in
// p.Rule and p.Program; deriving twice returns them again.
func (p *Problem) Derive() (*derive.Rule, *convex.Program, error) {
	if p.Program != nil {
		return p.Rule, p.Program, nil
	}
	if err := p.LoadData(); err != nil {
		return nil, nil, err
	}
	rule, prog, dl := derive.Derive(p.Input())
	if err := p.report(dl); err != nil {
		return nil, nil, err
	}
	if prog == nil {
		return nil, nil, errors.New("cnnc: derive returned no program")
	}
	p.Rule, p.Program = rule, prog
	return rule, prog, nil
}

// Loss is the train block's loss (squared when unset).
func (p *Problem) Loss() string {
	if p.Train.Loss == "" {
		return ir.Squared
	}
	return p.Train.Loss
}

// DescribeData says what the training data are, in words.
func (p *Problem) DescribeData() string {
	if p.Data == nil {
		return "no data"
	}
	return fmt.Sprintf("%d samples × %d features (%s)", p.Data.N(), p.Data.Features(), p.Data.Source)
}
