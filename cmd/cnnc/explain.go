package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// explainOptions are the flags of `cnnc explain`.
type explainOptions struct {
	format string
	data   string
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &explainOptions{}
		cmd := &cobra.Command{
			Use:   "explain FILE",
			Short: "Explain a .cnn file: its layers and shapes, its data and training settings",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				fl := dataFlags{format: o.format, data: o.data}
				p, err := prepare(e, args[0], fl, false)
				if err != nil {
					return err
				}
				if err := explainNetwork(e.stdout, p.file); err != nil {
					return err
				}
				return explainProgram(e, e.stdout, p, args[0], fl)
			},
		}
		cmd.Flags().StringVar(&o.format, "format", formatText, "diagnostic format: text (stderr) or json (stdout)")
		cmd.Flags().StringVar(&o.data, "data", "", "data source replacing the data train block")
		return cmd
	})
}

// explainNetwork writes the checked file in words: each model as a table (layer
// index, kind, parameters, input shape → output shape), then each data block (its
// source and transforms; nothing is loaded) and the training settings with their
// defaults filled in. The convex program is appended by the caller.
func explainNetwork(w io.Writer, f *ir.File) error {
	for i, m := range f.Models {
		if i > 0 {
			fmt.Fprintln(w)
		}
		tag := ""
		if f.Trained == m {
			tag = " (trained)"
		}
		fmt.Fprintf(w, "model %s%s: %s\n", m.Name, tag, m.Signature())
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tlayer\tparameters\tinput\t\toutput")
		for _, l := range m.Layers {
			in := "-"
			if l.Kind != ir.Input {
				in = shapeWords(l.In)
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t→\t%s\n", l.Index, l.Kind, layerParams(l), in, shapeWords(l.Out))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(f.Data))
	for n := range f.Data {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := f.Data[n]
		fmt.Fprintf(w, "\ndata %s\n", d.Name)
		fmt.Fprintf(w, "  source       %s\n", sourceWords(d.Source))
		switch {
		case d.AllClasses:
			fmt.Fprintf(w, "  classes      all (one-hot targets)\n")
		case len(d.Classes) == 2:
			fmt.Fprintf(w, "  classes      %d → −1, %d → +1 (other rows dropped)\n", d.Classes[0], d.Classes[1])
		}
		if d.Limit > 0 {
			fmt.Fprintf(w, "  limit        first %d samples\n", d.Limit)
		}
		if d.HasScale {
			fmt.Fprintf(w, "  scale        features × %g\n", d.Scale)
		}
		if d.Standardize {
			fmt.Fprintf(w, "  standardize  zero mean, unit variance per feature (statistics from train)\n")
		}
	}
	t := f.Train
	fmt.Fprintf(w, "\ntrain\n")
	model := t.Model
	if model == "" {
		model = "(none selected)"
	}
	fmt.Fprintf(w, "  model     %s\n", model)
	fmt.Fprintf(w, "  loss      %s\n", t.Loss)
	switch t.Regularizer {
	case ir.Path:
		fmt.Fprintf(w, "  beta      %g (path regulariser β·Σ_k |w3_k|·sqrt(Σ_j ‖w1_kj‖²·‖w2_kj‖²))\n", t.Beta)
	case ir.Group:
		fmt.Fprintf(w, "  beta      %g (group regulariser β·Σ_k |w3_k|·Σ_j ‖w1_kj‖·‖w2_kj‖)\n", t.Beta)
	default:
		fmt.Fprintf(w, "  beta      %g (weight decay (β/2)·Σ‖weights‖²)\n", t.Beta)
	}
	fmt.Fprintf(w, "  patterns  %s\n", patternWords(t.Patterns))
	fmt.Fprintf(w, "  solver    %s\n", solverWords(t.Solver))
	return nil
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
