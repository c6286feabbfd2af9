package dataset

import "gonum.org/v1/gonum/mat"

// Dataset is a loaded, transformed data set.
type Dataset struct {
	Name  string
	Shape []int      // per-sample feature shape (the model's input shape once reshaped)
	X     *mat.Dense // n × prod(Shape), row-major (C, H, W) features
	Y     *mat.Dense // n × C targets (C = 1 for scalar targets, ±1 for two classes)

	// Classification is true when targets come from class labels (`classes`), so
	// accuracy is meaningful. Labels holds the original class of each kept row.
	Classification bool
	Labels         []int
	Classes        []int // the classes kept, in target order

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

// Features is the number of features per sample.
func (d *Dataset) Features() int {
	_, c := d.X.Dims()
	return c
}
