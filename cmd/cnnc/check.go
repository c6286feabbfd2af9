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
	noData bool
	quiet  bool
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &checkOptions{}
		cmd := &cobra.Command{
			Use:   "check FILE...",
			Short: "Parse and check .cnn files; print diagnostics, exit 1 on any error",
			Long: `Check .cnn files without solving: syntax and meaning of every block, then — for a
file without errors — load its data (shapes, row counts, label kinds, sizes against
the memory budget), match the trained model against the supported architectures, and
run that architecture's data checks (labels the loss can use, the size of the patch
matrix). Checks that could not run are named on stderr ("skipped ...").`,
			Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runCheck(e, o, args)
			},
		}
		cmd.Flags().StringVar(&o.format, "format", formatText, "diagnostic format: text (stderr) or json (a JSON array on stdout)")
		cmd.Flags().StringVar(&o.data, "data", "", "data source replacing the data train block (FILE.csv, X.npy,y.npy, IMAGES,LABELS, synthetic:NAME[,k=v])")
		cmd.Flags().BoolVar(&o.noData, "no-data", false, "do not load the data (skips the data and formulation data checks)")
		cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress on stderr")
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
		e.sig.setStage("checking " + path)
		f, diags, s := check.LoadFile(path, check.Options{DataOverride: o.data})
		all = append(all, diags...)
		for k, v := range s {
			srcs[k] = v
		}
		if f != nil && !diags.HasErrors() {
			more, skipped := deepCheck(e, o, f)
			all = append(all, more...)
			printSkipped(e, path, skipped)
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
