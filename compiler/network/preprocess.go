package network

import (
	"fmt"
	"math"
)

// Tasks of a Preprocess: what the network's outputs mean.
const (
	TaskRegression = "regression" // outputs are values
	TaskBinary     = "binary"     // one output; above the midpoint of Levels is the second class
	TaskMulticlass = "multiclass" // one output per class; the largest wins
)

// Preprocess is weights.json "preprocess": how the training data were transformed
// before the network saw them, and what its outputs mean, so that the network can
// be run on raw inputs without cnnc or the .cnn file (docs/cli.md, weights.json).
//
// Raw features x (one sample, row-major C, H, W) become the network's input
//
//	z_j = (x_j·Scale − Mean_j) / Std_j
//
// (Scale 1 when absent; no centring when Mean is absent). The outputs ŷ are read as:
//
//	regression  the values themselves;
//	binary      one output: class Classes[1] (label Levels[1] when Classes is absent)
//	            when ŷ > (Levels[0] + Levels[1])/2, else Classes[0] (Levels[0]);
//	multiclass  one output per class: Classes[argmax_k ŷ_k] (the first largest).
type Preprocess struct {
	Scale   *float64  `json:"scale,omitempty"`
	Mean    []float64 `json:"mean,omitempty"`
	Std     []float64 `json:"std,omitempty"`
	Task    string    `json:"task"`
	Levels  []float64 `json:"levels,omitempty"`  // binary: the two target values, low then high
	Classes []int     `json:"classes,omitempty"` // binary: the labels of Levels; multiclass: the label of each output
}

// Check validates the preprocessing against the number of input features and of
// outputs of the network.
func (p *Preprocess) Check(features, outputs int) error {
	if p.Scale != nil && (*p.Scale == 0 || math.IsNaN(*p.Scale) || math.IsInf(*p.Scale, 0)) {
		return fmt.Errorf("preprocess: scale %g is not a finite non-zero number", *p.Scale)
	}
	if (p.Mean == nil) != (p.Std == nil) {
		return fmt.Errorf("preprocess: mean and std go together")
	}
	if p.Mean != nil && (len(p.Mean) != features || len(p.Std) != features) {
		return fmt.Errorf("preprocess: %d means and %d standard deviations for %d input features", len(p.Mean), len(p.Std), features)
	}
	for j, s := range p.Std {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("preprocess: std[%d] = %g is not positive", j, s)
		}
	}
	switch p.Task {
	case TaskRegression:
	case TaskBinary:
		if outputs != 1 || len(p.Levels) != 2 || !(p.Levels[0] < p.Levels[1]) {
			return fmt.Errorf("preprocess: a binary task needs one output and two increasing levels, found %d outputs and levels %v", outputs, p.Levels)
		}
		if p.Classes != nil && len(p.Classes) != 2 {
			return fmt.Errorf("preprocess: a binary task has 2 classes, found %d", len(p.Classes))
		}
	case TaskMulticlass:
		if p.Classes != nil && len(p.Classes) != outputs {
			return fmt.Errorf("preprocess: %d classes for %d outputs", len(p.Classes), outputs)
		}
	default:
		return fmt.Errorf("preprocess: unknown task %q (want %s, %s or %s)", p.Task, TaskRegression, TaskBinary, TaskMulticlass)
	}
	return nil
}

// Apply transforms the raw features of one sample in place.
func (p *Preprocess) Apply(x []float64) {
	if p.Scale != nil {
		for j := range x {
			x[j] *= *p.Scale
		}
	}
	if p.Mean != nil {
		for j := range x {
			x[j] = (x[j] - p.Mean[j]) / p.Std[j]
		}
	}
}

// Classification reports whether the outputs are read as classes.
func (p *Preprocess) Classification() bool {
	return p.Task == TaskBinary || p.Task == TaskMulticlass
}

// Class returns the index of the class the outputs ŷ of one sample predict
// (binary: 0 low, 1 high; multiclass: the first largest output).
func (p *Preprocess) Class(yhat []float64) int {
	if p.Task == TaskBinary {
		if yhat[0] > (p.Levels[0]+p.Levels[1])/2 {
			return 1
		}
		return 0
	}
	best := 0
	for k, v := range yhat {
		if v > yhat[best] {
			best = k
		}
	}
	return best
}

// Label returns the user's label of class index k: Classes[k] when set, else the
// binary level, else k.
func (p *Preprocess) Label(k int) float64 {
	switch {
	case p.Classes != nil:
		return float64(p.Classes[k])
	case p.Task == TaskBinary:
		return p.Levels[k]
	}
	return float64(k)
}

// TargetClass returns the class index of one sample's targets y (binary: the
// level it equals; multiclass: the hot column), or −1 when y is not a class.
func (p *Preprocess) TargetClass(y []float64) int {
	switch p.Task {
	case TaskBinary:
		for k, v := range p.Levels {
			if y[0] == v {
				return k
			}
		}
	case TaskMulticlass:
		hot := -1
		for k, v := range y {
			switch v {
			case 1:
				if hot >= 0 {
					return -1
				}
				hot = k
			case 0:
			default:
				return -1
			}
		}
		return hot
	}
	return -1
}

// Features is the number of input features of the network (the product of the
// input layer's shape), 0 when it has no input layer.
func (w *Weights) Features() int {
	if len(w.Layers) == 0 || w.Layers[0].Type != "input" {
		return 0
	}
	return prod(w.Layers[0].Shape)
}

// Outputs is the number of outputs of the network (the width of its last weight
// layer); Finalize must have resolved the widths.
func (w *Weights) Outputs() int {
	out := 0
	for _, l := range w.Layers {
		switch l.Type {
		case "conv", "circconv", "linear":
			out = l.Out
		}
	}
	return out
}

// CheckPreprocess validates w.Preprocess (if any) against the network's inputs and
// outputs.
func (w *Weights) CheckPreprocess() error {
	if w.Preprocess == nil {
		return nil
	}
	return w.Preprocess.Check(w.Features(), w.Outputs())
}
