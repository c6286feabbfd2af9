package main

import (
	"fmt"
	"io"

	"github.com/cnnc-org/cnnc/compiler/derive"
)

// explainProgram prints the second half of `cnnc explain`: which theorem applies,
// the convex program in math notation, the implicit regulariser in words and the
// program's sizes. The patterns come from the training data, so without data it says
// how to give some instead.
func explainProgram(e *env, w io.Writer, p *prepared, path string, fl dataFlags) error {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Convex program")
	fmt.Fprintln(w)
	if p.model == nil {
		fmt.Fprintln(w, "  (no model is selected for training: name one with `train model=NAME { ... }`)")
		return nil
	}
	if p.file.Data["train"] == nil {
		fmt.Fprintln(w, "  (the program depends on the training data: add a `data train` block or pass --data)")
		return nil
	}
	if err := p.loadData(e, path, fl.format); err != nil {
		return err
	}
	if rule, _ := derive.Select(p.in); rule != nil && rule.Vector != nil {
		return explainVector(e, w, p, rule, fl.format)
	}
	if _, err := p.derive(e, fl.format); err != nil {
		return err
	}
	p.prog.Describe(w)
	return nil
}
