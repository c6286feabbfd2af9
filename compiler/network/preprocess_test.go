package network

import (
	"strings"
	"testing"
)

// TestPreprocessReading: how outputs become classes and labels, how targets map to
// classes, and what Check refuses.
func TestPreprocessReading(t *testing.T) {
	bin := &Preprocess{Task: TaskBinary, Levels: []float64{0, 1}}
	for _, c := range []struct {
		y     float64
		class int
	}{{0.49, 0}, {0.5, 0}, {0.51, 1}, {-3, 0}, {7, 1}} {
		if k := bin.Class([]float64{c.y}); k != c.class {
			t.Errorf("levels 0/1: output %g is class %d, want %d", c.y, k, c.class)
		}
	}
	if bin.Label(1) != 1 || bin.TargetClass([]float64{0}) != 0 || bin.TargetClass([]float64{0.5}) != -1 {
		t.Error("levels 0/1: labels and target classes")
	}
	named := &Preprocess{Task: TaskBinary, Levels: []float64{-1, 1}, Classes: []int{3, 7}}
	if named.Label(named.Class([]float64{-0.2})) != 3 || named.Label(named.Class([]float64{0.2})) != 7 {
		t.Error("classes 3 7: labels")
	}
	multi := &Preprocess{Task: TaskMulticlass, Classes: []int{5, 2, 9}}
	if k := multi.Class([]float64{0.1, 0.7, 0.7}); k != 1 || multi.Label(k) != 2 {
		t.Errorf("multiclass: ties go to the first largest output, got class %d", k)
	}
	if multi.TargetClass([]float64{0, 0, 1}) != 2 || multi.TargetClass([]float64{0, 1, 1}) != -1 || multi.TargetClass([]float64{0, 0.5, 0}) != -1 {
		t.Error("multiclass: one-hot target classes")
	}
	x := []float64{2, 4}
	s := 0.5
	(&Preprocess{Scale: &s, Mean: []float64{1, 1}, Std: []float64{2, 0.5}}).Apply(x)
	if x[0] != 0 || x[1] != 2 {
		t.Errorf("apply: %v, want [0 2]", x)
	}
	zero := 0.0
	for _, c := range []struct {
		p    *Preprocess
		want string
	}{
		{&Preprocess{Task: "ranking"}, "unknown task"},
		{&Preprocess{Task: TaskRegression, Scale: &zero}, "scale"},
		{&Preprocess{Task: TaskRegression, Mean: []float64{0}}, "together"},
		{&Preprocess{Task: TaskRegression, Mean: []float64{0}, Std: []float64{1}}, "input features"},
		{&Preprocess{Task: TaskRegression, Mean: []float64{0, 0}, Std: []float64{1, 0}}, "not positive"},
		{&Preprocess{Task: TaskBinary, Levels: []float64{1, -1}}, "increasing"},
		{&Preprocess{Task: TaskMulticlass, Classes: []int{1, 2}}, "classes for"},
	} {
		err := c.p.Check(2, 3)
		if c.p.Task == TaskBinary {
			err = c.p.Check(2, 1)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: Check = %v, want an error with %q", c.p, err, c.want)
		}
	}
}
