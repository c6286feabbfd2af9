package cnnc

import (
	"encoding/json"
	"fmt"
	"github.com/cnnc-org/cnnc/lang/budget"
	"github.com/cnnc-org/cnnc/lang/diag"
	"io"

	"github.com/cnnc-org/cnnc/backend/cbf"
	"github.com/cnnc-org/cnnc/backend/conic"
	"github.com/cnnc-org/cnnc/backend/cvxpy"
	"github.com/cnnc-org/cnnc/backend/scs"
	"github.com/cnnc-org/cnnc/compiler/canon"
	"github.com/cnnc-org/cnnc/compiler/derive"
	"github.com/cnnc-org/cnnc/compiler/network"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// Export formats (docs/exports.md).
const (
	FormatSCS   = "scs"   // SCS binary data file
	FormatCBF   = "cbf"   // Conic Benchmark Format v3
	FormatJSON  = "json"  // the conic form as one JSON object (cnnc-conic/1)
	FormatCVXPY = "cvxpy" // a CVXPY script and its .npz data (ExportCVXPY)
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Eps is written into an SCS file's settings as eps_abs and eps_rel (default 1e-6).
	Eps float64
	// SCSLayout is the SCS settings layout: "legacy" (13 fields, the default, read
	// by every SCS 3.2.x) or "dev" (16 fields).
	SCSLayout string
	// SCSInt32 writes 4-byte integers instead of 8-byte ones.
	SCSInt32 bool
	// AllRows writes every cone row of every pattern; by default the rows the other
	// rows of their pattern imply are left out (canon.Options.Irredundant: the same
	// program, far smaller).
	AllRows bool
}

// Conic canonicalises the derived convex program (derived first if needed) into
// the conic form the SCS and JSON exports write: the squared loss as the quadratic
// objective ½‖r‖² (canon.Options.QuadraticLoss) and only the cone rows that the
// other rows of their pattern do not imply (canon.Options.Irredundant). It is
// ConicFor(FormatSCS, ExportOptions{}).
func (p *Problem) Conic() (*conic.Problem, error) {
	return p.ConicFor(FormatSCS, ExportOptions{})
}

// ConicFor is the conic form that Export writes in format with opts: as Conic, but
// FormatCBF keeps the squared loss as a second-order cone (CBF has no quadratic
// objective) and opts.AllRows keeps every cone row. The size is checked against the
// memory budget (Options.MaxMemory) before anything is built.
func (p *Problem) ConicFor(format string, opts ExportOptions) (*conic.Problem, error) {
	if _, _, err := p.Derive(); err != nil {
		return nil, err
	}
	co := canon.Options{MaxMemory: p.Opts.MaxMemory, Progress: p.Opts.Progress,
		QuadraticLoss: format != FormatCBF, Irredundant: !opts.AllRows}
	cp, _, err := canon.CanonicalizeWith(p.Program, co)
	if tl := budget.AsTooLarge(err); tl != nil {
		// a positioned diagnostic: the pattern count and the samples set the size
		r := p.Train.Patterns.Range
		if !r.IsValid() && p.Model != nil {
			r = p.Model.Range
		}
		var dl diag.List
		dl.Errorf(budget.CodeTooLarge, r, tl.Detail(), "%v", tl)
		return nil, p.report(dl)
	}
	if err != nil {
		return nil, fmt.Errorf("canonicalising %s: %v", p.Path, err)
	}
	return cp, nil
}

// Export writes the convex program in format (FormatSCS, FormatCBF or FormatJSON)
// to w and returns the conic problem it wrote (ConicFor, then WriteConic). The
// objective of every export equals the objective of docs/language.md (the file
// records any scale or offset). For FormatCVXPY use ExportCVXPY.
func (p *Problem) Export(w io.Writer, format string, opts ExportOptions) (*conic.Problem, error) {
	if err := checkFormat(format, opts); err != nil {
		return nil, err
	}
	cp, err := p.ConicFor(format, opts)
	if err != nil {
		return nil, err
	}
	if err := WriteConic(w, cp, format, opts); err != nil {
		return nil, err
	}
	return cp, nil
}

func checkFormat(format string, opts ExportOptions) error {
	switch format {
	case FormatSCS, FormatCBF, FormatJSON:
	case FormatCVXPY:
		return fmt.Errorf("export: the cvxpy format writes two files; use ExportCVXPY")
	default:
		return fmt.Errorf("export: unknown format %q (want scs, cbf, cvxpy or json)", format)
	}
	if opts.SCSLayout != "" && opts.SCSLayout != "legacy" && opts.SCSLayout != "dev" {
		return fmt.Errorf("export: unknown SCS layout %q (want legacy or dev)", opts.SCSLayout)
	}
	return nil
}

// WriteConic writes the conic problem cp (from ConicFor) in format to w: an SCS
// binary data file (with cp's P, if any, as SCS's quadratic objective), a CBF file
// (a P becomes a rotated second-order cone) or the JSON conic form cnnc-conic/1.
func WriteConic(w io.Writer, cp *conic.Problem, format string, opts ExportOptions) error {
	if err := checkFormat(format, opts); err != nil {
		return err
	}
	switch format {
	case FormatJSON:
		return conic.WriteJSON(w, cp)
	case FormatCBF:
		return cbf.Write(w, cp)
	}
	eps := opts.Eps
	if eps <= 0 {
		eps = 1e-6
	}
	f := scs.NewFile(cp, eps)
	if opts.SCSLayout == "dev" {
		f.Layout = scs.Dev16
		f.Version = scs.DevVersion
	}
	if opts.SCSInt32 {
		f.IntSize = 4
	}
	return scs.Write(w, f)
}

// ExportCVXPY writes a readable CVXPY script to script and its data (an .npz
// archive) to data; npzName is the data file's name as the script loads it (the
// script's folder). Running the script solves the program with the solver named
// on its command line and writes weights.json with the same recovery as cnnc's.
func (p *Problem) ExportCVXPY(script, data io.Writer, npzName string) error {
	if _, _, err := p.Derive(); err != nil {
		return err
	}
	if err := cvxpy.Write(script, data, npzName, p.Program, p.recipeFor()); err != nil {
		return fmt.Errorf("cvxpy export: %v", err)
	}
	return nil
}

// recipeFor tells the CVXPY script how to write weights.json for p's program: the
// same recovery as the rule's Recover, stated as data so the script needs no cnnc.
//
//   - fc-relu, fc-gated: hidden layer = the first linear layer, units
//     u = x/√‖x‖ (bias last), α = ±√‖x‖, blocks ≤ ZeroBlockTol·max dropped, width 0
//     when none is active, gates from the pattern generators;
//   - cnn-gap, cnn-pool, cnn-maxpool, linear-cnn-gap: hidden layer = the conv,
//     filters [C, kernel…] (bias last), w = ±√‖x‖·e_l over the model's pooled
//     positions (derive.OutputSlots), ℓ1² output penalty when there are several,
//     one zero filter when none is active;
//   - linear-cnn-flatten and linear-circ: the same conv layout, units from the SVD
//     of Z or from the Fourier coefficients ζ (cvxpy.GenericRecipe);
//   - fixed-out: the conv layer's one filter is the program's w, unpenalised; the
//     output layer keeps its fixed weights.
//   - circ3 (§8), three-relu and three-relu-cnn (§9b): one branch per block in
//     balanced form (cvxpy.ThreeRecipe).
//
// A model the recipe cannot describe (not expected for a derived program) gets a
// recipe whose Unsupported says why: the script still solves and prints the optimum,
// then stops with that message instead of writing weights.json.
func (p *Problem) recipeFor() *cvxpy.Recipe {
	if p.Rule != nil && p.Rule.Vector != nil {
		// vector outputs (§10): the script solves a relaxation; recovering a network
		// from it is `cnnc solve`'s business (it brackets the training problem)
		return &cvxpy.Recipe{Model: p.Model.Name, Beta: p.Train.Beta, Slots: 1,
			Unsupported: fmt.Sprintf("this script solves %s of the vector-output model %s, a lower bound on its training problem over these patterns; `cnnc solve` recovers a network and certifies its bracket", p.Program.Theorem, p.Model.Name)}
	}
	r, err := p.recipe()
	if err != nil {
		return &cvxpy.Recipe{Model: p.Model.Name, Beta: p.Train.Beta, Slots: 1,
			Unsupported: fmt.Sprintf("cnnc cannot describe the weight recovery of %s for this script: %v", p.Model.Name, err)}
	}
	return r
}

func (p *Problem) recipe() (*cvxpy.Recipe, error) {
	m := p.Model
	loss := p.Loss()
	w := network.New(m, p.Train.Beta, loss)
	var layers []map[string]any
	b, err := json.Marshal(w.Layers)
	if err == nil {
		err = json.Unmarshal(b, &layers)
	}
	if err != nil {
		return nil, err
	}
	r := &cvxpy.Recipe{Model: m.Name, Beta: p.Train.Beta, Loss: loss, Layers: layers, Slots: 1,
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
	if t, err := p.threeRecipe(); t != nil || err != nil {
		r.Three = t
		return r, err
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
	if p.Program.Anchored != nil { // fixed-out: one filter, fixed outputs (backend/cvxpy's anchored script)
		r.MaxUnits = 1
		return r, nil
	}
	r.EmptyUnit = true
	slots, err := derive.OutputSlots(p.Input())
	if err != nil {
		return nil, err
	}
	r.Slots = slots
	if len(p.Program.Families) > 0 {
		if slots > 1 {
			r.OutputPenalty = network.PenaltyL1Sq // §5.2
		}
		return r, nil
	}
	if len(p.Program.Vars) != 1 {
		return nil, fmt.Errorf("rule %s: expected one generic variable, found %d", p.Rule.Name, len(p.Program.Vars))
	}
	v := p.Program.Vars[0]
	g := &cvxpy.GenericRecipe{Rule: p.Rule.Name, Kind: cvxpy.KindNuclear, Var: v.Name, Tol: derive.NuclearRankTol}
	if v.Name == "zeta" { // §7.3 Fourier form (derive's circFourier)
		g.Kind, g.Tol = cvxpy.KindFourier, derive.ZeroBlockTol
		if len(hidden.Kernel) != 1 {
			return nil, fmt.Errorf("rule %s: circular filter of %d dimensions", p.Rule.Name, len(hidden.Kernel))
		}
		g.Padding = (hidden.Kernel[0] - 1) / 2 // PyTorch padding='same', circular
	}
	r.Generic = g
	return r, nil
}

// threeRecipe describes the three-layer recoveries (nil, nil for other rules).
func (p *Problem) threeRecipe() (*cvxpy.ThreeRecipe, error) {
	name := p.Rule.Name
	if name != "circ3" && name != "three-relu" && name != "three-relu-cnn" {
		return nil, nil
	}
	m := p.Model
	ls := m.Layers
	first := ls[1]
	var second *ir.Layer
	for _, l := range ls[2:] {
		if l.Branches != 0 {
			second = l
			break
		}
	}
	if second == nil {
		return nil, fmt.Errorf("rule %s: no second branched layer", name)
	}
	t := &cvxpy.ThreeRecipe{Regularizer: p.Train.Regularizer, First: first.Index, Second: second.Index,
		Output: ls[len(ls)-1].Index, FirstBias: first.Bias, Tol: derive.ZeroBlockTol, SecondCols: 1}
	if first.Branches > 0 {
		t.MaxBranches = first.Branches
	}
	if len(p.Program.Families) == 0 {
		return nil, fmt.Errorf("rule %s: the program has no families", name)
	}
	if name == "circ3" {
		d := p.Program.Families[0].H
		t.Kind, t.M1, t.H, t.SecondCols, t.Padding = cvxpy.KindCirc3, 1, d, d, (d-1)/2
		t.FirstShape = []int{1, d}
		return t, nil
	}
	t.Kind, t.M1 = cvxpy.KindPairs, first.Width
	t.Signs = map[string][]float64{}
	for fi, f := range p.Program.Families {
		signs, _ := f.Meta["signs"].([]float64)
		h, _ := f.Meta["h"].(int)
		if len(signs) != t.M1 || h == 0 {
			return nil, fmt.Errorf("rule %s: family %s lacks its signs or unit size", name, f.Name)
		}
		t.Signs[cvxpy.FamilyKey(fi)], t.H = signs, h
	}
	hw := t.H
	if first.Bias {
		hw--
	}
	t.FirstShape = []int{hw}
	if first.Kind == ir.Conv {
		C := 1
		if in := m.Input(); len(in) > 1 {
			C = in[0]
		}
		t.FirstShape = append([]int{C}, first.Kernel...)
	}
	return t, nil
}
