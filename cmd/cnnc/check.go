package main

import (
	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// checkOptions are the flags of `cnnc check`.
type checkOptions struct {
	format string
	data   string
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &checkOptions{}
		cmd := &cobra.Command{
			Use:   "check FILE...",
			Short: "Parse and check .cnn files; print diagnostics, exit 1 on any error",
			Args:  cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runCheck(e, o, args)
			},
		}
		cmd.Flags().StringVar(&o.format, "format", formatText, "diagnostic format: text (stderr) or json (a JSON array on stdout)")
		cmd.Flags().StringVar(&o.data, "data", "", "data source replacing the data train block (FILE.csv, X.npy,y.npy, IMAGES,LABELS, synthetic:NAME[,k=v])")
		return cmd
	})
}

func runCheck(e *env, o *checkOptions, files []string) error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	var all diag.List
	srcs := diag.Sources{}
	for _, path := range files {
		_, diags, s := check.LoadFile(path, check.Options{DataOverride: o.data})
		all = append(all, diags...)
		for k, v := range s {
			srcs[k] = v
		}
	}
	if err := printDiags(e, all, srcs, o.format); err != nil {
		return err
	}
	if all.HasErrors() {
		return withCode(exitError, nil)
	}
	return nil
}
