package main

import (
	"encoding/json"

	"cnnc/backend/cvxpy"
	"cnnc/compiler/derive"
	"cnnc/compiler/network"
	"cnnc/lang/ir"
)

// recipeFor tells the CVXPY script how to write weights.json for p's program: the
// same recovery as the rule's Recover (u = x/√‖x‖, α = ±√‖x‖, blocks below
// derive.ZeroBlockTol·max dropped), stated as data so the script needs no cnnc.
func recipeFor(p *prepared) *cvxpy.Recipe {
	m := p.model
	loss := p.file.Train.Loss
	if loss == "" {
		loss = ir.Squared
	}
	w := network.New(m, p.file.Train.Beta, loss)
	var layers []map[string]any
	b, _ := json.Marshal(w.Layers)
	json.Unmarshal(b, &layers)
	r := &cvxpy.Recipe{Model: m.Name, Beta: p.file.Train.Beta, Loss: loss, Layers: layers, Slots: 1,
		OutputPenalty: network.PenaltyL2, ZeroTol: derive.ZeroBlockTol}
	if len(p.prog.Families) == 0 {
		r.Generic = map[string]any{"rule": p.rule.Name}
		return r
	}
	// The hidden layer is the first layer with an auto or numeric width before the
	// activation; the output layer is the last layer.
	for _, l := range m.Layers[1:] {
		if l.Kind == ir.Linear || l.Kind == ir.Conv || l.Kind == ir.CircConv {
			r.Hidden = l.Index
			r.HiddenBias = l.Bias
			if l.Kind == ir.Linear {
				r.HiddenShape = []int{l.In.Size()}
			} else {
				r.HiddenShape = append([]int{l.In[0]}, l.Kernel...)
			}
			break
		}
	}
	for _, l := range m.Layers[1:] {
		if l.Kind == ir.Gated {
			r.Gated, r.GateLayer = true, l.Index
		}
	}
	r.Output = m.Layers[len(m.Layers)-1].Index
	if p.rule.Name == "cnn-pool" {
		r.Slots = len(p.prog.Families)
		r.OutputPenalty = network.PenaltyL1Sq
	}
	return r
}
