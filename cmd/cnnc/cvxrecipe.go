package main

import (
	"encoding/json"
	"fmt"

	"github.com/cnnc-org/cnnc/backend/cvxpy"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// recipeFor tells the CVXPY script how to write weights.json for p's program: the
// same recovery as the rule's Recover, stated as data so the script needs no cnnc.
//
//   - fc-relu, fc-gated (fc.go): hidden layer = the first linear layer, units
//     u = x/√‖x‖ (bias last), α = ±√‖x‖, blocks ≤ ZeroBlockTol·max dropped, width 0
//     when none is active, gates from the pattern generators;
//   - cnn-gap, cnn-pool, cnn-maxpool, linear-cnn-gap (cnn.go, §7.1): hidden layer =
//     the conv, filters [C, kernel…] (bias last), w = ±√‖x‖·e_l over the model's
//     pooled positions (derive.OutputSlots), ℓ1² output penalty when there are
//     several, one zero filter when none is active;
//   - linear-cnn-flatten (§7.2) and linear-circ (§7.3): the same conv layout, units
//     from the SVD of Z or from the Fourier coefficients ζ (cvxpy.GenericRecipe).
//
// A model the recipe cannot describe (not expected for a derived program) gets a
// recipe whose Unsupported says why: the script still solves and prints the optimum,
// then stops with that message instead of writing weights.json.
func recipeFor(p *prepared) *cvxpy.Recipe {
	if p.rule != nil && p.rule.Vector != nil {
		// vector outputs (§10): the script solves a relaxation; recovering a network
		// from it is cnnc's own business (the bracket of `cnnc solve`)
		return &cvxpy.Recipe{Model: p.model.Name, Beta: p.file.Train.Beta, Slots: 1,
			Unsupported: fmt.Sprintf("this script solves %s of the vector-output model %s, a lower bound on its training problem over these patterns; `cnnc solve` recovers a network and certifies its bracket", p.prog.Theorem, p.model.Name)}
	}
	r, err := recipe(p)
	if err != nil {
		return &cvxpy.Recipe{Model: p.model.Name, Beta: p.file.Train.Beta, Slots: 1,
			Unsupported: fmt.Sprintf("cnnc cannot describe the weight recovery of %s for this script: %v", p.model.Name, err)}
	}
	return r
}

func recipe(p *prepared) (*cvxpy.Recipe, error) {
	m := p.model
	loss := p.file.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	w := network.New(m, p.file.Train.Beta, loss)
	var layers []map[string]any
	b, err := json.Marshal(w.Layers)
	if err == nil {
		err = json.Unmarshal(b, &layers)
	}
	if err != nil {
		return nil, err
	}
	r := &cvxpy.Recipe{Model: m.Name, Beta: p.file.Train.Beta, Loss: loss, Layers: layers, Slots: 1,
		OutputPenalty: network.PenaltyL2, ZeroTol: derive.ZeroBlockTol}
	// The hidden layer is the first weight layer after the input; the output layer
	// is the last layer.
	var hidden *ir.Layer
	for _, l := range m.Layers[1:] {
		if l.Kind == ir.Linear || l.Kind == ir.Conv || l.Kind == ir.CircConv {
			hidden = l
			break
		}
	}
	if hidden == nil {
		return nil, fmt.Errorf("model %s has no hidden weight layer", m.Name)
	}
	r.Hidden, r.HiddenBias = hidden.Index, hidden.Bias
	if hidden.Width != ir.Auto && hidden.Width > 0 {
		r.MaxUnits = hidden.Width
	}
	r.Output = m.Layers[len(m.Layers)-1].Index
	if hidden.Kind == ir.Linear {
		r.HiddenShape = []int{hidden.In.Size()}
		for _, l := range m.Layers[1:] {
			if l.Kind == ir.Gated {
				r.Gated, r.GateLayer = true, l.Index
			}
		}
		return r, nil
	}
	in := m.Input()
	channels := 1
	if len(in) > 1 {
		channels = in[0]
	}
	r.HiddenShape = append([]int{channels}, hidden.Kernel...)
	r.EmptyUnit = true
	slots, err := derive.OutputSlots(p.in)
	if err != nil {
		return nil, err
	}
	r.Slots = slots
	if len(p.prog.Families) > 0 {
		if slots > 1 {
			r.OutputPenalty = network.PenaltyL1Sq // §5.2
		}
		return r, nil
	}
	if len(p.prog.Vars) != 1 {
		return nil, fmt.Errorf("rule %s: expected one generic variable, found %d", p.rule.Name, len(p.prog.Vars))
	}
	v := p.prog.Vars[0]
	g := &cvxpy.GenericRecipe{Rule: p.rule.Name, Kind: cvxpy.KindNuclear, Var: v.Name, Tol: derive.NuclearRankTol}
	if v.Name == "zeta" { // §7.3 Fourier form (derive's circFourier)
		g.Kind, g.Tol = cvxpy.KindFourier, derive.ZeroBlockTol
		if len(hidden.Kernel) != 1 {
			return nil, fmt.Errorf("rule %s: circular filter of %d dimensions", p.rule.Name, len(hidden.Kernel))
		}
		g.Padding = (hidden.Kernel[0] - 1) / 2 // PyTorch padding='same', circular
	}
	r.Generic = g
	return r, nil
}
