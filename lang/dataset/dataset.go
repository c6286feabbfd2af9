package dataset

import "gonum.org/v1/gonum/mat"

// Dataset is a loaded, transformed data set.
type Dataset struct {
	Name  string
	Shape []int      // per-sample feature shape (the model's input shape once reshaped)
	X     *mat.Dense // n × prod(Shape), row-major (C, H, W) features
	Y     *mat.Dense // n × C targets (C = 1 for scalar targets, ±1 for two classes)

	// Y is nil for an unlabeled set (a prediction input: `label=none` in a CSV
	// source, or features without a targets file).

	// Classification is true when targets are classes, so accuracy is meaningful:
	// from `classes A B` or `classes all`, from a generator that makes classes, or
	// (single target column) when the training targets take exactly two distinct
	// values. Labels holds the original class of each kept row (nil when the classes
	// are raw target values).
	Classification bool
	Labels         []int
	Classes        []int // the classes kept, in target order
	// Levels are the two target values of a single-column classification, low then
	// high ([−1, +1] under `classes A B`): a prediction above their midpoint is the
	// high class. nil otherwise.
	Levels []float64

	Source string // human description: file names or generator

	// Teacher is the planted network of the `planted` generator (nil otherwise), so
	// that a caller can measure recovery ‖ŵ − w*‖/‖w*‖.
	Teacher *Teacher
}

// N is the number of samples.
func (d *Dataset) N() int {
	r, _ := d.X.Dims()
	return r
}

// Labeled reports whether the set has targets.
func (d *Dataset) Labeled() bool { return d.Y != nil }

// Features is the number of features per sample.
func (d *Dataset) Features() int {
	_, c := d.X.Dims()
	return c
}
