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
` + "`use std.NAME`" + `), each with the reformulation it maps to and its section of
spec/formulations.md. --show NAME prints an entry's source.`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runStdlib(e, o)
			},
		}
		cmd.Flags().StringVar(&o.show, "show", "", "print the source of one entry (e.g. std.cnn_gap)")
		return cmd
	})
}

func runStdlib(e *env, o *stdlibOptions) error {
	if o.show != "" {
		ent, ok := stdlib.Lookup(o.show)
		if !ok {
			return usageErr("no standard-library entry %q (run 'cnnc stdlib' for the list)", o.show)
		}
		_, err := e.stdout.Write(ent.Source)
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSECTION\tTHEOREM")
	for _, ent := range stdlib.List() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ent.Name, ent.Section, ent.Theorem)
	}
	return tw.Flush()
}
