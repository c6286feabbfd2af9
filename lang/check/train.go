package check

import (
	"fmt"
	"math"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
	"github.com/cnnc-org/cnnc/lang/syntax"
)

// TrainStatements are the statements of the train block.
var TrainStatements = []string{"loss", "beta", "patterns", "solver", "noise", "regularizer"}

// Losses and pattern modes.
var (
	Losses       = []string{ir.Squared, ir.Logistic, ir.Hinge, ir.CrossEntropy}
	PatternModes = []string{"exact", "sample", "adaptive"}
	Regularizers = []string{ir.WeightDecay, ir.Path, ir.Group}
)

// Solvers and their settings, as the train block's `solver NAME key=value...`
// accepts them. A setting the solver would silently replace (tol ≤ 0, a
// fractional max_iters) is an error here (C0405), so a report never claims a
// tolerance the file did not ask for. A new solver or setting is added here.
var (
	SolverNames = []string{"native", "conic"}
	// SolverSettings maps each setting to its check; the value is already a
	// finite number.
	SolverSettings = map[string]func(v float64) string{
		"tol": func(v float64) string {
			if !(v > 0 && v < 1) {
				return "tol is the solver's relative tolerance: a number in (0, 1), e.g. `tol=1e-6`"
			}
			return ""
		},
		"max_iters": func(v float64) string {
			if v != math.Trunc(v) || v < 1 || v > 1<<31 {
				return "max_iters is the solver's iteration cap: a whole number ≥ 1, e.g. `max_iters=10000`"
			}
			return ""
		},
	}
)

// Defaults of the train block (docs/language.md "The train block").
const (
	DefaultBeta          = 1e-3
	DefaultSample        = 1000   // patterns sample N
	DefaultExactMax      = 100000 // patterns exact max=N
	DefaultAdaptiveStart = 1000   // patterns adaptive start=N (same as sample)
	DefaultAdaptiveMax   = 100000 // patterns adaptive max=M (same as exact)
	DefaultSolver        = "native"
)

func defaultTrain() ir.Train {
	return ir.Train{
		Loss:     ir.Squared,
		Beta:     DefaultBeta,
		Patterns: ir.Patterns{Mode: ir.Sample, N: DefaultSample, Seed: 0},
		Solver:   ir.Solver{Name: DefaultSolver, Options: map[string]float64{}},
	}
}

func (c *checker) train(b *syntax.Block) {
	t := &c.out.Train
	t.Range = b.Range
	a := c.args("the train block header", b.Args, []string{"model"})
	for _, v := range a.pos {
		c.errorf("C0102", v.Range, "A train block header is `train {` or `train model=NAME {`.", "unexpected %s in train block header", describe(v))
	}
	if v := a.get("model"); v != nil {
		if v.Kind != syntax.Ident || v.IsBool() {
			c.errorf("C0113", v.Range, "Write `train model=NAME {` with the name of a model block.", "model= must name a model, found %s", describe(v))
		} else {
			t.Model = v.Text
		}
	}
	seen := map[string]*syntax.Stmt{}
	for _, s := range b.Stmts {
		if s.Bad {
			continue
		}
		if !contains(TrainStatements, s.Keyword) {
			d := c.errorf("C0401", s.KeywordRange, "Train statements are loss, beta, regularizer, patterns, solver and noise (the model is chosen in the header: `train model=NAME {`).",
				"unknown train statement `%s`", s.Keyword)
			d.Suggest = suggest(s.Keyword, TrainStatements)
			continue
		}
		if prev := seen[s.Keyword]; prev != nil {
			d := c.errorf("C0116", s.KeywordRange, "Give this statement once per train block.", "`%s` given twice", s.Keyword)
			d.Related = append(d.Related, diag.Related{Message: "first given here", Range: prev.Range})
			continue
		}
		seen[s.Keyword] = s
		what := "`" + s.Keyword + "`"
		switch s.Keyword {
		case "loss":
			a := c.args(what, s.Args, nil)
			if !c.npos(s, a, 1, "Write `loss squared`, `loss logistic`, `loss hinge` or `loss cross_entropy`.") {
				continue
			}
			v := a.pos[0]
			if v.Kind != syntax.Ident || !contains(Losses, v.Text) {
				d := c.errorf("C0402", v.Range, "The losses are squared (½ Σ (f(x)−y)²), logistic, hinge, and cross_entropy (softmax, for vector outputs).", "unknown loss `%s`", v.Raw)
				if v.Kind == syntax.Ident {
					d.Suggest = suggest(v.Text, Losses)
				}
				continue
			}
			t.Loss = v.Text
			t.LossRange = s.Range
		case "beta":
			a := c.args(what, s.Args, nil)
			if !c.npos(s, a, 1, "Write `beta B` with B > 0, e.g. `beta 1e-3`.") {
				continue
			}
			f, ok := c.number(a.pos[0], "beta")
			if !ok {
				continue
			}
			if f <= 0 || math.IsNaN(f) {
				c.errorf("C0403", a.pos[0].Range,
					"beta is the weight-decay coefficient: the objective adds (beta/2)·Σ‖weights‖². The convex reformulation needs beta > 0 (with beta = 0 the optimum is not attained by a finite-width network); use a small positive value such as 1e-6.",
					"beta must be > 0, found %s", a.pos[0].Raw)
				continue
			}
			t.Beta = f
		case "regularizer":
			a := c.args(what, s.Args, nil)
			if !c.npos(s, a, 1, "Write `regularizer weight_decay` (the default), `regularizer path` or `regularizer group`.") {
				continue
			}
			v := a.pos[0]
			if v.Kind != syntax.Ident || !contains(Regularizers, v.Text) {
				d := c.errorf("C0410", v.Range, "The regularizers are weight_decay ((β/2)·Σ‖weights‖², the default), path (the ℓ2 path regulariser of parallel three-layer networks) and group (its group-ℓ1 variant).", "unknown regularizer `%s`", v.Raw)
				if v.Kind == syntax.Ident {
					d.Suggest = suggest(v.Text, Regularizers)
				}
				continue
			}
			t.Regularizer, t.RegRange = v.Text, s.Range
		case "patterns":
			c.patterns(s, t)
		case "noise":
			c.noise(s, t)
		case "solver":
			if len(s.Args) == 0 || s.Args[0].Key != "" || s.Args[0].Value.Kind != syntax.Ident || s.Args[0].Value.IsBool() {
				c.errorf("C0405", s.Range, "Write `solver NAME [key=value ...]`, e.g. `solver native tol=1e-6 max_iters=10000`.", "solver needs a name")
				continue
			}
			t.Solver.Name = s.Args[0].Value.Text
			t.Solver.Range = s.Range
			if !contains(SolverNames, t.Solver.Name) {
				d := c.errorf("C0405", s.Args[0].Range, fmt.Sprintf("The solvers are %s: native (the structured solver where it applies, else the conic one) and conic.", listOr(SolverNames)),
					"unknown solver `%s`", t.Solver.Name)
				d.Suggest = suggest(t.Solver.Name, SolverNames)
			}
			for _, arg := range s.Args[1:] {
				if arg.Key == "" {
					c.errorf("C0405", arg.Range, "Solver settings are key=value pairs, e.g. `tol=1e-6`.", "unexpected %s in solver", describe(arg.Value))
					continue
				}
				check, known := SolverSettings[arg.Key]
				if !known {
					d := c.errorf("C0405", arg.KeyRange, fmt.Sprintf("The solver settings are %s.", listOr(sortedKeys(SolverSettings))), "unknown solver setting `%s`", arg.Key)
					d.Suggest = suggest(arg.Key, sortedKeys(SolverSettings))
					continue
				}
				if _, dup := t.Solver.Options[arg.Key]; dup {
					c.errorf("C0111", arg.Range, "Each key may be given once; delete one of them.", "duplicate key `%s` in `solver`", arg.Key)
					continue
				}
				switch {
				case arg.Value.IsBool():
					c.errorf("C0405", arg.Value.Range, upper(check(-1))+".", "solver setting %s must be a number, found %s", arg.Key, describe(arg.Value))
				case arg.Value.Kind == syntax.Number:
					if f, ok := c.number(arg.Value, arg.Key); ok {
						if why := check(f); why != "" {
							c.errorf("C0405", arg.Value.Range, upper(why)+"; the solver would otherwise replace it by its default.", "bad solver setting %s=%s", arg.Key, arg.Value.Raw)
							continue
						}
						t.Solver.Options[arg.Key] = f
					}
				default:
					c.errorf("C0405", arg.Value.Range, "Solver settings are numbers or true/false, e.g. `tol=1e-6 max_iters=10000`.",
						"solver setting %s must be a number, found %s", arg.Key, describe(arg.Value))
				}
			}
		}
	}
}

func (c *checker) patterns(s *syntax.Stmt, t *ir.Train) {
	p := ir.Patterns{Range: s.Range}
	if len(s.Args) == 0 || s.Args[0].Key != "" || s.Args[0].Value.Kind != syntax.Ident {
		c.errorf("C0404", s.Range, "Write `patterns exact [max=N]`, `patterns sample N [seed=S]` or `patterns adaptive [start=N] [max=M] [seed=S]`.",
			"patterns needs a mode: exact, sample or adaptive")
		return
	}
	mode := s.Args[0].Value
	var keys []string
	switch mode.Text {
	case "exact":
		p.Mode, p.Max, keys = ir.Exact, DefaultExactMax, []string{"max"}
	case "sample":
		p.Mode, p.N, keys = ir.Sample, DefaultSample, []string{"seed"}
	case "adaptive":
		p.Mode, p.N, p.Max, keys = ir.Adaptive, DefaultAdaptiveStart, DefaultAdaptiveMax, []string{"start", "max", "seed"}
	default:
		d := c.errorf("C0404", mode.Range, "The pattern modes are exact, sample N and adaptive.", "unknown patterns mode `%s`", mode.Text)
		d.Suggest = suggest(mode.Text, PatternModes)
		return
	}
	a := c.args("`patterns "+mode.Text+"`", s.Args[1:], keys)
	ok := true
	switch {
	case p.Mode == ir.Sample && len(a.pos) == 1:
		p.N, ok = c.integer(a.pos[0], "number of sampled patterns", 1)
	case p.Mode == ir.Sample:
		c.errorf("C0112", s.Range, "Write `patterns sample N [seed=S]`, e.g. `patterns sample 1000 seed=0`.", "patterns sample needs the number of patterns")
		return
	case len(a.pos) > 0:
		c.errorf("C0112", a.pos[0].Range, fmt.Sprintf("`patterns %s` takes only key=value options (%v).", mode.Text, keys), "unexpected value in patterns %s", mode.Text)
		return
	}
	if v := a.get("max"); v != nil {
		n, good := c.integerIn(v, "max", 1, 1<<40)
		p.Max, ok = n, ok && good
	}
	if v := a.get("start"); v != nil {
		n, good := c.integerIn(v, "start", 1, maxDim) // as `patterns sample N`
		p.N, ok = n, ok && good
	}
	if v := a.get("seed"); v != nil {
		n, good := c.integerIn(v, "seed", 0, 1<<53)
		p.Seed, ok = int64(n), ok && good
	}
	if p.Mode == ir.Adaptive && ok && p.N > p.Max {
		c.errorf("C0114", s.Range, "Adaptive pattern generation starts with `start` patterns and stops at `max`; start must not exceed max.",
			"patterns adaptive start=%d exceeds max=%d", p.N, p.Max)
		ok = false
	}
	if ok {
		t.Patterns = p
	}
}

// noise checks `noise E` (the budget ε ≥ 0 of the fixed-output relaxation, §11) or
// `noise sigma=S` (ε = S·√n).
func (c *checker) noise(s *syntax.Stmt, t *ir.Train) {
	const help = "Write `noise E` (the noise budget ε ≥ 0 on ‖(f(x) − y)₊‖₂ of the fixed-output-weight relaxation; 0 is the noiseless LP) or `noise sigma=S` (ε = S·√n for n training samples)."
	a := c.args("`noise`", s.Args, []string{"sigma"})
	v := a.get("sigma")
	switch {
	case v != nil && len(a.pos) == 0:
		f, ok := c.number(v, "sigma")
		if !ok {
			return
		}
		if !(f >= 0) || math.IsInf(f, 0) {
			c.errorf("C0406", v.Range, help, "noise sigma must be a finite number ≥ 0, found %s", v.Raw)
			return
		}
		t.Noise = ir.Noise{Sigma: f, Range: s.Range}
	case v == nil && len(a.pos) == 1:
		f, ok := c.number(a.pos[0], "noise")
		if !ok {
			return
		}
		if !(f >= 0) || math.IsInf(f, 0) {
			c.errorf("C0406", a.pos[0].Range, help, "the noise budget must be a finite number ≥ 0, found %s", a.pos[0].Raw)
			return
		}
		t.Noise = ir.Noise{Budget: f, Range: s.Range}
	default:
		c.errorf("C0406", s.Range, help, "noise takes one budget E or sigma=S")
	}
}
