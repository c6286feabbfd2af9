package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/lang/diag"
)

// addJSON registers --json on cmd: the one flag name, on every verb, for
// machine-readable output (exactly one JSON document on stdout).
func addJSON(cmd *cobra.Command, e *env, what string) {
	cmd.Flags().BoolVar(&e.json, "json", false, what)
}

// wantsJSON reports whether args ask for JSON output, so that even a usage error
// found before the flags are parsed is answered with a JSON document.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" || a == "--json=true" || a == "--json=1" {
			return true
		}
	}
	return false
}

// addDeprecatedFormat registers the old spelling of --json (name=json/text) as a
// hidden, deprecated flag that sets e.json.
func addDeprecatedFormat(cmd *cobra.Command, e *env, name string) {
	cmd.Flags().Var(&formatFlag{e: e, name: name}, name, "deprecated: use --json")
	cmd.Flags().MarkHidden(name)
}

// formatFlag is the value of a deprecated --format/--diagnostics flag.
type formatFlag struct {
	e    *env
	name string
	val  string
}

func (f *formatFlag) String() string { return f.val }
func (f *formatFlag) Type() string   { return "string" }
func (f *formatFlag) Set(v string) error {
	fmt.Fprintf(f.e.stderr, "cnnc: --%s is deprecated: use --json\n", f.name)
	switch v {
	case "json":
		f.e.json = true
	case "text":
		f.e.json = false
	default:
		return usageErr("unknown format %q (want text or json)", v)
	}
	f.val = v
	return nil
}

// report shows diagnostics: as text on stderr right away, or (--json) kept for
// the JSON document.
func (e *env) report(dl diag.List, srcs diag.Sources) {
	if len(dl) == 0 {
		return
	}
	if e.json {
		e.diags = append(e.diags, dl...)
		return
	}
	diag.WriteText(e.stderr, dl, srcs)
}

// diagnostics are the diagnostics gathered for the JSON document (an empty list,
// never null).
func (e *env) diagnostics() diag.List {
	if e.diags == nil {
		return diag.List{}
	}
	return e.diags
}

// writeJSON writes v as the one JSON document of this run.
func (e *env) writeJSON(v any) error {
	if e.wroteJSON {
		return nil
	}
	e.wroteJSON = true
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return withCode(exitError, err)
	}
	return nil
}

// errorDoc is the JSON document of a run that failed.
type errorDoc struct {
	Error       string    `json:"error"`
	ExitCode    int       `json:"exit_code"`
	Diagnostics diag.List `json:"diagnostics"`
}
