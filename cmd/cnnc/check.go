package main

import (
	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// checkOptions are the flags of `cnnc check`.
type checkOptions struct {
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
			Long: `Parse and check each FILE and print every problem found (diagnostics on stderr:
position, severity and code, summary, the source line, what to do). For a file
without errors, check also runs every check that needs no solve: it loads the data
(shapes, row counts, label kinds, sizes against the memory budget), matches the
trained model against the supported architectures and runs that architecture's
data checks (labels the loss can use, the size of the patch matrix); checks that
could not run are named on stderr ("skipped ..."). Exit 1 when any file has an
error. --json prints one JSON document: {"files", "errors", "warnings",
"diagnostics"}. The diagnostic codes are listed in docs/language.md.`,
			Example: "  cnnc check examples/quickstart.cnn\n  cnnc check --json examples/*.cnn",
			Args:    cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runCheck(e, o, args)
			},
		}
		addJSON(cmd, e, "print the diagnostics as one JSON document on stdout")
		addDeprecatedFormat(cmd, e, "format")
		cmd.Flags().StringVar(&o.data, "data", "", "data source replacing the data train block (FILE.csv[,header=true][,label=COLUMN], X.npy,y.npy, IMAGES,LABELS, synthetic:NAME[,k=v])")
		cmd.Flags().BoolVar(&o.noData, "no-data", false, "do not load the data (skips the data and formulation data checks, and says so)")
		cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress on stderr")
		return cmd
	})
}

// checkDoc is check's --json document.
type checkDoc struct {
	Files       []string  `json:"files"`
	Errors      int       `json:"errors"`
	Warnings    int       `json:"warnings"`
	Skipped     []string  `json:"skipped,omitempty"` // "FILE: the checks that could not run"
	Diagnostics diag.List `json:"diagnostics"`
}

func runCheck(e *env, o *checkOptions, files []string) error {
	var all diag.List
	var skippedAll []string
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
			for _, sk := range skipped {
				skippedAll = append(skippedAll, path+": "+sk)
			}
		}
	}
	e.report(all, srcs)
	if e.json {
		doc := checkDoc{Files: files, Skipped: skippedAll, Diagnostics: e.diagnostics()}
		for _, d := range all {
			if d.Severity == diag.Error {
				doc.Errors++
			} else {
				doc.Warnings++
			}
		}
		if err := e.writeJSON(doc); err != nil {
			return err
		}
	}
	if all.HasErrors() {
		return withCode(exitError, nil)
	}
	return nil
}
