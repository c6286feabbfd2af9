package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/stdlib"
)

// stdlibOptions are the flags of `cnnc stdlib`.
type stdlibOptions struct {
	show string
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &stdlibOptions{}
		cmd := &cobra.Command{
			Use:   "stdlib",
			Short: "List the standard-library architectures and the theorem each maps to",
			Long: `List the standard-library architectures (use one in a model block with
` + "`use std.NAME`" + `), each with the reformulation it maps to and its section of the
project's mathematics (docs/math/). --show NAME prints an entry's source.`,
			Example: "  cnnc stdlib\n  cnnc stdlib --show std.cnn_gap",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runStdlib(e, o)
			},
		}
		cmd.Flags().StringVar(&o.show, "show", "", "print the source of one entry (e.g. std.cnn_gap)")
		addJSON(cmd, e, "print the list (or the entry) as one JSON document")
		return cmd
	})
}

type stdlibEntry struct {
	Name    string `json:"name"`
	Section string `json:"section"`
	Doc     string `json:"doc"`
	Theorem string `json:"theorem"`
	Source  string `json:"source,omitempty"`
}

type stdlibDoc struct {
	Entries []stdlibEntry `json:"entries"`
}

func runStdlib(e *env, o *stdlibOptions) error {
	if o.show != "" {
		ent, ok := stdlib.Lookup(o.show)
		if !ok {
			return usageErr("no standard-library entry %q (run 'cnnc stdlib' for the list)", o.show)
		}
		if e.json {
			return e.writeJSON(stdlibDoc{Entries: []stdlibEntry{{Name: ent.Name, Section: ent.Section, Doc: ent.Doc, Theorem: ent.Theorem, Source: string(ent.Source)}}})
		}
		_, err := e.stdout.Write(ent.Source)
		return err
	}
	if e.json {
		doc := stdlibDoc{Entries: []stdlibEntry{}}
		for _, ent := range stdlib.List() {
			doc.Entries = append(doc.Entries, stdlibEntry{Name: ent.Name, Section: ent.Section, Doc: ent.Doc, Theorem: ent.Theorem})
		}
		return e.writeJSON(doc)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSECTION\tDOC\tTHEOREM")
	for _, ent := range stdlib.List() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ent.Name, ent.Section, ent.Doc, ent.Theorem)
	}
	return tw.Flush()
}
