package cnnc

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// Preprocess is the training data's preprocessing and the meaning of the outputs,
// as recorded in weights.json: the `scale` factor, the standardisation statistics
// of the training set, and the task (regression, two classes with their target
// levels and labels, or one output per class). It needs the training data (loaded
// first if needed); nil when they cannot be loaded.
func (p *Problem) Preprocess() *network.Preprocess {
	if p.LoadData() != nil {
		return nil
	}
	return preprocessOf(p.File.Data["train"], p.Data, p.Stats)
}

func preprocessOf(d *ir.Data, ds *dataset.Dataset, st *dataset.Stats) *network.Preprocess {
	pp := &network.Preprocess{Task: network.TaskRegression}
	if d != nil && d.HasScale {
		s := d.Scale
		pp.Scale = &s
	}
	if st != nil && st.Mean != nil {
		pp.Mean = append([]float64(nil), st.Mean...)
		pp.Std = append([]float64(nil), st.Std...)
	}
	if ds != nil && ds.Classification {
		switch {
		case ds.Y != nil && ds.Features() > 0 && len(ds.Levels) == 2 && colsOf(ds.Y) == 1:
			pp.Task = network.TaskBinary
			pp.Levels = append([]float64(nil), ds.Levels...)
			if len(ds.Classes) == 2 {
				pp.Classes = append([]int(nil), ds.Classes...)
			}
		case len(ds.Classes) > 0:
			pp.Task = network.TaskMulticlass
			pp.Classes = append([]int(nil), ds.Classes...)
		}
	}
	return pp
}

func colsOf(m *mat.Dense) int {
	_, c := m.Dims()
	return c
}

// Predictions are a network's outputs on a data set, read as the task says.
type Predictions struct {
	Task    string     // network.TaskRegression, TaskBinary or TaskMulticlass
	Outputs *mat.Dense // n × outputs: the network's raw outputs
	// Labels are the predicted class labels (the user's labels: the classes of
	// `classes A B` / `classes all`, or the two target values), nil for regression.
	Labels []float64
	// Loss is the loss on the targets (the objective's scale: summed, ½ for the
	// squared loss), Accuracy the fraction of correctly classified samples; nil
	// when the data have no targets (or, for Accuracy, are not classes).
	Loss     *float64
	Accuracy *float64
}

// Predict runs the network w of model m on the (already preprocessed) data set ds
// and reads its outputs with w.Preprocess (or, when the weights do not record one,
// with what ds says about its classes).
func Predict(m *ir.Model, w *network.Weights, ds *dataset.Dataset) (*Predictions, error) {
	yhat, err := network.Forward(m, w, ds.X)
	if err != nil {
		return nil, err
	}
	return predictFrom(yhat, w, ds)
}

// predictFrom is Predict for outputs yhat = Forward(ds.X) already computed.
func predictFrom(yhat *mat.Dense, w *network.Weights, ds *dataset.Dataset) (*Predictions, error) {
	pp := w.Preprocess
	if pp == nil {
		pp = preprocessOf(nil, ds, nil)
	}
	n, c := yhat.Dims()
	if err := pp.Check(ds.Features(), c); err != nil && pp != w.Preprocess {
		pp = &network.Preprocess{Task: network.TaskRegression}
	} else if err != nil {
		return nil, err
	}
	pr := &Predictions{Task: pp.Task, Outputs: yhat}
	if pp.Classification() {
		pr.Labels = make([]float64, n)
		for i := range pr.Labels {
			pr.Labels[i] = pp.Label(pp.Class(yhat.RawRowView(i)))
		}
	}
	if ds.Y == nil {
		return pr, nil
	}
	if r, k := ds.Y.Dims(); r != n || k != c {
		return nil, fmt.Errorf("the network has %d outputs per sample but the data have %d targets", c, k)
	}
	loss, err := network.Loss(w.Loss, yhat, ds.Y)
	if err != nil {
		return nil, err
	}
	pr.Loss = Num(loss)
	if pp.Classification() {
		hit := 0
		for i := 0; i < n; i++ {
			t := pp.TargetClass(ds.Y.RawRowView(i))
			if t < 0 {
				return pr, nil // targets that are not classes: no accuracy
			}
			if t == pp.Class(yhat.RawRowView(i)) {
				hit++
			}
		}
		pr.Accuracy = Num(float64(hit) / float64(n))
	}
	return pr, nil
}

// LoadNew reads new data for the network w (prediction inputs) and preprocesses
// them as the training data were: with w.Preprocess, or, when the weights do not
// record it, with the Problem's training statistics (the training data are loaded
// for that). spec is a data source in the --data forms (docs/cli.md) with the
// options of the data block: FILE.csv[,header=true][,label=last|first|none|COLUMN],
// X.npy[,y.npy], IMAGES[,LABELS], synthetic:NAME[,key=value], each optionally
// followed by ,limit=N. Without targets (label=none, or no targets file) the set is
// unlabeled and Predict gives outputs and labels but no loss. With `classes A B`
// in training, labeled rows of other classes are dropped, as in training.
func (p *Problem) LoadNew(spec string, w *network.Weights) (*dataset.Dataset, error) {
	if p.Model == nil {
		return nil, p.LoadData() // reports "no model to train"
	}
	pp := w.Preprocess
	if pp == nil {
		if pp = p.Preprocess(); pp == nil {
			return nil, p.LoadData()
		}
	}
	d, dl := check.ParseDataSpec(spec, true)
	if err := p.report(dl); err != nil {
		return nil, err
	}
	d.Name = "new"
	st := &dataset.Stats{}
	if pp.Scale != nil {
		d.Scale, d.HasScale = *pp.Scale, true
	}
	if pp.Mean != nil {
		d.Standardize = true
		st.Mean, st.Std = pp.Mean, pp.Std
	}
	switch pp.Task {
	case network.TaskBinary:
		if len(pp.Classes) == 2 {
			d.Classes = pp.Classes
		} else {
			st.Levels = pp.Levels
		}
	case network.TaskMulticlass:
		d.AllClasses = true
		st.Classes = pp.Classes
		if st.Classes == nil {
			st.Classes = make([]int, w.Outputs())
			for k := range st.Classes {
				st.Classes[k] = k
			}
		}
	}
	ds, _, dl := dataset.LoadFor(d, p.Model, st)
	if err := p.report(dl); err != nil {
		return nil, err
	}
	return ds, nil
}

// ReadWeights reads a weights.json and checks that it is a network of the
// Problem's model (same layers, widths within the declared ones).
func (p *Problem) ReadWeights(path string) (*network.Weights, error) {
	if p.Model == nil {
		return nil, fmt.Errorf("%s selects no model to run the weights of", p.Path)
	}
	w, err := network.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := w.CheckModel(p.Model); err != nil {
		return nil, fmt.Errorf("%s does not fit model %s: %v", path, p.Model.Name, err)
	}
	return w, nil
}
