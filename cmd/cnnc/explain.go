package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/backend/convex"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// explainOptions are the flags of `cnnc explain`.
type explainOptions struct {
	dataFlags
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &explainOptions{}
		cmd := &cobra.Command{
			Use:   "explain FILE",
			Short: "Explain a .cnn file: its layers and shapes, its data and training settings, its convex program",
			Long: `Explain FILE: each model as a table of layers with their input → output shapes,
each data block (nothing is loaded for this part), the training settings with their
defaults filled in, and then — when the file has a model to train and training data —
which reformulation applies (with its section and docs/math file), the convex program
in mathematical notation, the regulariser it induces, and its sizes.

--json prints the same as one JSON document.`,
			Example: "  cnnc explain examples/quickstart.cnn\n  cnnc explain examples/quickstart.cnn --json",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runExplain(e, o, args[0])
			},
		}
		o.dataFlags.register(cmd)
		addJSON(cmd, e, "print the explanation as one JSON document")
		addDeprecatedFormat(cmd, e, "format")
		return cmd
	})
}

// explainDoc is explain's --json document; the text output renders the same.
type explainDoc struct {
	Models      []modelDoc  `json:"models"`
	Data        []dataDoc   `json:"data"`
	Train       trainDoc    `json:"train"`
	Program     *programDoc `json:"program"` // null when it cannot be derived without more input
	Note        string      `json:"note,omitempty"`
	Diagnostics diag.List   `json:"diagnostics"`
}

type modelDoc struct {
	Name      string     `json:"name"`
	Trained   bool       `json:"trained"`
	Signature string     `json:"signature"`
	Layers    []layerDoc `json:"layers"`
}

type layerDoc struct {
	Index      int    `json:"index"`
	Kind       string `json:"kind"`
	Parameters string `json:"parameters"`
	Input      string `json:"input"`
	Output     string `json:"output"`
}

type dataDoc struct {
	Name        string `json:"name"`
	Source      string `json:"source"`
	Classes     string `json:"classes,omitempty"`
	Limit       int    `json:"limit,omitempty"`
	Scale       string `json:"scale,omitempty"`
	Standardize bool   `json:"standardize"`
}

type trainDoc struct {
	Model    string  `json:"model"`
	Loss     string  `json:"loss"`
	Beta     float64 `json:"beta"`
	Patterns string  `json:"patterns"`
	Solver   string  `json:"solver"`
	// Noise is the fixed-output relaxation's noise budget statement in words (§11);
	// empty without one.
	Noise string `json:"noise,omitempty"`

	Regularizer string `json:"regularizer"` // weight_decay, path or group
}

type programDoc struct {
	Rule        string       `json:"rule"`
	Section     string       `json:"section"`
	Doc         string       `json:"doc"`
	Theorem     string       `json:"theorem"`
	Regularizer string       `json:"regularizer"`
	Sizes       convex.Sizes `json:"sizes"`
	Text        string       `json:"text"` // the program in mathematical notation
}

func runExplain(e *env, o *explainOptions, path string) error {
	p, err := prepare(e, path, o.dataFlags, false)
	if err != nil {
		return err
	}
	doc := explainFile(p.File)
	// A model without a convex program (say, an architecture no rule knows) is still
	// explained layer by layer; the diagnostics say why there is no program, and the
	// exit code is 1.
	perr := explainProgram(p, &doc)
	if perr != nil && doc.Note == "" {
		doc.Note = "no convex program: see the diagnostics"
	}
	if e.json {
		doc.Diagnostics = e.diagnostics()
		if err := e.writeJSON(doc); err != nil {
			return err
		}
		return perr
	}
	if err := writeExplain(e.stdout, &doc); err != nil {
		return err
	}
	return perr
}

// explainFile describes the checked file: each model's layers (index, kind,
// parameters, input shape → output shape), each data block (its source and
// transforms; nothing is loaded) and the training settings with their defaults
// filled in.
func explainFile(f *ir.File) explainDoc {
	var doc explainDoc
	for _, m := range f.Models {
		md := modelDoc{Name: m.Name, Trained: f.Trained == m, Signature: m.Signature()}
		for _, l := range m.Layers {
			in := "-"
			if l.Kind != ir.Input {
				in = shapeWords(l.In)
			}
			md.Layers = append(md.Layers, layerDoc{Index: l.Index, Kind: l.Kind.String(), Parameters: layerParams(l), Input: in, Output: shapeWords(l.Out)})
		}
		doc.Models = append(doc.Models, md)
	}
	names := make([]string, 0, len(f.Data))
	for n := range f.Data {
		names = append(names, n)
	}
	sort.Strings(names)
	doc.Data = []dataDoc{}
	for _, n := range names {
		d := f.Data[n]
		dd := dataDoc{Name: d.Name, Source: sourceWords(d.Source), Limit: d.Limit, Standardize: d.Standardize}
		switch {
		case d.AllClasses:
			dd.Classes = "all (one-hot targets)"
		case len(d.Classes) == 2:
			dd.Classes = fmt.Sprintf("%d → −1, %d → +1 (other rows dropped)", d.Classes[0], d.Classes[1])
		}
		if d.HasScale {
			dd.Scale = fmt.Sprintf("%g", d.Scale)
		}
		doc.Data = append(doc.Data, dd)
	}
	t := f.Train
	model := t.Model
	if model == "" {
		model = "(none selected)"
	}
	doc.Train = trainDoc{Model: model, Loss: t.Loss, Beta: t.Beta, Patterns: patternWords(t.Patterns), Solver: solverWords(t.Solver)}
	doc.Train.Regularizer = t.Regularizer
	if doc.Train.Regularizer == "" {
		doc.Train.Regularizer = ir.WeightDecay
	}
	switch z := t.Noise; {
	case z.Sigma > 0:
		doc.Train.Noise = fmt.Sprintf("sigma=%g (fixed-output relaxation: budget ε = %g·√n)", z.Sigma, z.Sigma)
	case z.Given():
		doc.Train.Noise = fmt.Sprintf("%g (fixed-output relaxation: budget ε on ‖(f(x) − y)₊‖₂)", z.Budget)
	}
	return doc
}

// regWords describes the train block's regulariser.
func regWords(reg string) string {
	switch reg {
	case ir.Path:
		return "path regulariser β·Σ_k |w3_k|·sqrt(Σ_j ‖w1_kj‖²·‖w2_kj‖²)"
	case ir.Group:
		return "group regulariser β·Σ_k |w3_k|·Σ_j ‖w1_kj‖·‖w2_kj‖"
	}
	return "weight decay (β/2)·Σ‖weights‖²"
}

// explainProgram adds the convex program: which theorem applies, the program in
// math notation, the implicit regulariser and the sizes. The patterns come from
// the training data, so without data it says how to give some instead.
func explainProgram(p *prepared, doc *explainDoc) error {
	if p.Model == nil {
		doc.Note = "no model is selected for training: name one with `train model=NAME { ... }`"
		return nil
	}
	if p.File.Data["train"] == nil {
		doc.Note = "the program depends on the training data: add a `data train` block or pass --data"
		return nil
	}
	rule, vp, err := p.VectorRule()
	if err := p.done(err); err != nil {
		return err
	}
	if vp != nil {
		// vector outputs: the program is described, not built (its exact form is
		// copositive; docs/math/10-vector-output.md)
		var b strings.Builder
		p.DescribeVector(&b, rule, vp)
		doc.Program = &programDoc{Rule: rule.Name, Section: rule.Section, Doc: rule.Doc, Theorem: vp.Theorem,
			Regularizer: vp.Regularizer, Sizes: convex.Sizes{Samples: vp.N, Patterns: vp.Patterns()}, Text: b.String()}
		return nil
	}
	if err := p.derive(); err != nil {
		return err
	}
	var b strings.Builder
	p.Program.Describe(&b)
	doc.Program = &programDoc{Rule: p.Rule.Name, Section: p.Rule.Section, Doc: p.Rule.Doc, Theorem: p.Rule.Theorem,
		Regularizer: p.Program.Regularizer, Sizes: p.Program.Sizes(), Text: b.String()}
	return nil
}

// writeExplain renders the explanation as text.
func writeExplain(w io.Writer, doc *explainDoc) error {
	for i, m := range doc.Models {
		if i > 0 {
			fmt.Fprintln(w)
		}
		tag := ""
		if m.Trained {
			tag = " (trained)"
		}
		fmt.Fprintf(w, "model %s%s: %s\n", m.Name, tag, m.Signature)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tlayer\tparameters\tinput\t\toutput")
		for _, l := range m.Layers {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t→\t%s\n", l.Index, l.Kind, l.Parameters, l.Input, l.Output)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, d := range doc.Data {
		fmt.Fprintf(w, "\ndata %s\n", d.Name)
		fmt.Fprintf(w, "  source       %s\n", d.Source)
		if d.Classes != "" {
			fmt.Fprintf(w, "  classes      %s\n", d.Classes)
		}
		if d.Limit > 0 {
			fmt.Fprintf(w, "  limit        first %d samples\n", d.Limit)
		}
		if d.Scale != "" {
			fmt.Fprintf(w, "  scale        features × %s\n", d.Scale)
		}
		if d.Standardize {
			fmt.Fprintf(w, "  standardize  zero mean, unit variance per feature (statistics from train)\n")
		}
	}
	t := doc.Train
	fmt.Fprintf(w, "\ntrain\n")
	fmt.Fprintf(w, "  model     %s\n", t.Model)
	fmt.Fprintf(w, "  loss      %s\n", t.Loss)
	fmt.Fprintf(w, "  beta      %g (%s)\n", t.Beta, regWords(t.Regularizer))
	fmt.Fprintf(w, "  patterns  %s\n", t.Patterns)
	fmt.Fprintf(w, "  solver    %s\n", t.Solver)
	if t.Noise != "" {
		fmt.Fprintf(w, "  noise     %s\n", t.Noise)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Convex program")
	fmt.Fprintln(w)
	if doc.Program == nil {
		fmt.Fprintf(w, "  (%s)\n", doc.Note)
		return nil
	}
	_, err := io.WriteString(w, doc.Program.Text)
	return err
}

func shapeWords(s ir.Shape) string {
	if s == nil {
		return "?"
	}
	parts := make([]string, len(s))
	for i, v := range s {
		if v == ir.Auto {
			parts[i] = "[auto]"
		} else {
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, "x")
}

func layerParams(l *ir.Layer) string {
	var p []string
	width := func(name string) {
		if l.Width == ir.Auto {
			p = append(p, name+"=auto")
		} else {
			p = append(p, fmt.Sprintf("%s=%d", name, l.Width))
		}
	}
	switch l.Kind {
	case ir.Conv:
		p = append(p, "kernel="+ir.Shape(l.Kernel).String(), "stride="+ir.Shape(l.Stride).String(), "padding="+ir.Shape(l.Padding).String())
		width("filters")
	case ir.CircConv:
		p = append(p, "kernel="+ir.Shape(l.Kernel).String())
		width("filters")
	case ir.AvgPool, ir.MaxPool:
		if l.Global {
			p = append(p, "global")
		} else {
			p = append(p, "window="+ir.Shape(l.Kernel).String(), "stride="+ir.Shape(l.Stride).String())
		}
	case ir.Linear:
		width("width")
		if l.Fixed != nil {
			p = append(p, fmt.Sprintf("fixed=%g", *l.Fixed))
		}
	}
	if l.Bias {
		p = append(p, "bias")
	}
	switch {
	case l.Branches == ir.AutoBranches:
		p = append(p, "branches=auto (widths per branch)")
	case l.Branches > 0:
		p = append(p, fmt.Sprintf("branches=%d (widths per branch)", l.Branches))
	}
	return strings.Join(p, " ")
}

func sourceWords(s ir.DataSource) string {
	switch s.Kind {
	case ir.CSV:
		h := ""
		if s.Header {
			h = ", header row"
		}
		return fmt.Sprintf("CSV %s (label %s%s)", s.Path, s.Label, h)
	case ir.NPY:
		return fmt.Sprintf("NumPy X=%s y=%s", s.XPath, s.YPath)
	case ir.IDX:
		return fmt.Sprintf("IDX images=%s labels=%s", s.XPath, s.YPath)
	case ir.Synthetic:
		var kv []string
		for _, k := range sortedNames(s.Params) {
			kv = append(kv, fmt.Sprintf("%s=%g", k, s.Params[k]))
		}
		return strings.TrimSpace("synthetic " + s.Generator + " " + strings.Join(kv, " "))
	}
	return "?"
}

func sortedNames(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func patternWords(p ir.Patterns) string {
	switch p.Mode {
	case ir.Exact:
		return fmt.Sprintf("exact (all activation patterns, at most %d)", p.Max)
	case ir.Adaptive:
		return fmt.Sprintf("adaptive (start %d sampled, add violated patterns up to %d, seed %d)", p.N, p.Max, p.Seed)
	}
	return fmt.Sprintf("sample %d (seed %d)", p.N, p.Seed)
}

func solverWords(s ir.Solver) string {
	out := s.Name
	for _, k := range sortedNames(s.Options) {
		out += fmt.Sprintf(" %s=%g", k, s.Options[k])
	}
	return out
}
