package main

import (
	"github.com/cnnc-org/cnnc/lang/check"
	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/ir"
)

// Diagnostic output formats of --format.
const (
	formatText = "text"
	formatJSON = "json"
)

// loadChecked reads, parses and checks the .cnn file at path and prints its
// diagnostics: as text to stderr, or (format "json") as a JSON array to stdout.
// Warnings alone are printed and do not fail. On any error it returns
// withCode(exitError, nil) after printing; the IR is still returned for callers
// that want to show what did check.
func loadChecked(e *env, path string, opts check.Options, format string) (*ir.File, diag.Sources, error) {
	f, diags, srcs := check.LoadFile(path, opts)
	if err := printDiags(e, diags, srcs, format); err != nil {
		return f, srcs, err
	}
	if diags.HasErrors() {
		return f, srcs, withCode(exitError, nil)
	}
	return f, srcs, nil
}

// printDiags renders diagnostics in the chosen format. JSON is always written (an
// empty array when there is nothing to say) so tools can parse stdout.
func printDiags(e *env, diags diag.List, srcs diag.Sources, format string) error {
	switch format {
	case formatJSON:
		return diag.WriteJSON(e.stdout, diags)
	case formatText, "":
		diag.WriteText(e.stderr, diags, srcs)
		return nil
	}
	return usageErr("unknown --format %q (want text or json)", format)
}

// checkFormat validates a --format flag before any work is done.
func checkFormat(format string) error {
	if format != formatText && format != formatJSON {
		return usageErr("unknown --format %q (want text or json)", format)
	}
	return nil
}
