// Package derive owns the compiler's rule table (spec/formulations.md Part A): it
// recognises a checked model's architecture, derives the matching convex program
// (convex.Program) with its implicit regulariser, and maps a solution back to network
// weights. Each architecture is a Rule registered by its own file.
//
// Pipeline position: ir.Model + dataset ──Derive──▶ convex.Program ──(solve)──▶
// convex.Solution ──Rule.Recover──▶ network.Weights.
package derive

import (
	"cnnc/compiler/convex"
	"cnnc/compiler/network"
	"cnnc/lang/dataset"
	"cnnc/lang/diag"
	"cnnc/lang/ir"
)

// Input is what a rule derives from.
type Input struct {
	File  *ir.File
	Model *ir.Model
	Data  *dataset.Dataset // training data reshaped to the model's input
	Train ir.Train
}

// Match is how well a rule fits a model: Layers is the number of layers after the
// input that agree with the rule; Differs is the first layer that does not (nil on a
// full match) and Why says how it differs ("expected relu, found maxpool").
type Match struct {
	OK      bool
	Layers  int
	Differs *ir.Layer
	Why     string
}

// Rule is one row of the rule table.
type Rule struct {
	Name    string // short id, e.g. "fc-relu"
	Section string // formulations.md section, e.g. "§2"
	Theorem string // e.g. "two-layer ReLU, Pilanci & Ergen 2020"
	Pattern string // the architecture in .cnn words, e.g. "linear auto · relu · linear 1"

	Match   func(m *ir.Model) Match
	Build   func(in *Input) (*convex.Program, diag.List)
	Recover func(in *Input, p *convex.Program, s *convex.Solution) (*network.Weights, error)
}

var rules []*Rule

// Register adds a rule to the table (called from init in each rule's file).
func Register(r *Rule) { rules = append(rules, r) }

// Rules returns the registered rules in registration order.
func Rules() []*Rule { return rules }
