package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/syntax"
	"github.com/cnnc-org/cnnc/lang/token"
)

// fmtOptions are the flags of `cnnc fmt`.
type fmtOptions struct {
	write bool
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &fmtOptions{}
		cmd := &cobra.Command{
			Use:   "fmt [-w] FILE...",
			Short: "Print .cnn files in canonical form (-w: rewrite them in place)",
			Long: `Print each FILE in canonical layout (aligned keywords, comments kept); the
output is a fixed point (formatting it again changes nothing). -w rewrites the
files in place, atomically, instead. --json prints one JSON document: for each file
its name, whether formatting changes it, and (without -w) the formatted text.`,
			Example: "  cnnc fmt examples/quickstart.cnn\n  cnnc fmt -w examples/*.cnn",
			Args:    cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runFmt(e, o, args)
			},
		}
		cmd.Flags().BoolVarP(&o.write, "write", "w", false, "rewrite each file in place (atomically) instead of printing it")
		addJSON(cmd, e, "print the result as one JSON document")
		return cmd
	})
}

// fmtDoc is fmt's --json document.
type fmtDoc struct {
	Files       []fmtFile `json:"files"`
	Diagnostics diag.List `json:"diagnostics"`
}

type fmtFile struct {
	File      string `json:"file"`
	Error     string `json:"error,omitempty"`
	Changed   bool   `json:"changed"`             // formatting changes the file
	Written   bool   `json:"written,omitempty"`   // -w rewrote it
	Formatted string `json:"formatted,omitempty"` // the canonical text (without -w)
}

func runFmt(e *env, o *fmtOptions, files []string) error {
	failed := false
	doc := fmtDoc{Files: []fmtFile{}}
	for _, path := range files {
		ff := fmtFile{File: path}
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(e.stderr, "cnnc: %v\n", err)
			ff.Error, failed = err.Error(), true
			doc.Files = append(doc.Files, ff)
			continue
		}
		out, diags := syntax.Format(path, src)
		e.report(diags, diag.Sources{path: token.NewFile(path, src)})
		if diags.HasErrors() {
			ff.Error, failed = diags.Error(), true
			doc.Files = append(doc.Files, ff)
			continue
		}
		ff.Changed = !bytes.Equal(out, src)
		switch {
		case !o.write && e.json:
			ff.Formatted = string(out)
		case !o.write:
			if _, err := e.stdout.Write(out); err != nil {
				return err
			}
		case ff.Changed:
			// fmt -w rewrites the file itself: through a symbolic link, its target;
			// never a device or FIFO (validateOutFile).
			target := path
			if t, err := filepath.EvalSymlinks(path); err == nil {
				target = t
			}
			err := validateOutFile(target)
			if err == nil {
				err = writeAtomic(target, out)
			}
			if err != nil {
				fmt.Fprintf(e.stderr, "cnnc: %v\n", err)
				ff.Error, failed = err.Error(), true
			} else {
				ff.Written = true
			}
		}
		doc.Files = append(doc.Files, ff)
	}
	if e.json {
		doc.Diagnostics = e.diagnostics()
		if err := e.writeJSON(doc); err != nil {
			return err
		}
	}
	if failed {
		return withCode(exitError, nil)
	}
	return nil
}

// writeAtomic replaces path with data: a temporary file in the same folder, synced,
// given path's permissions, then renamed over path.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(name, mode)
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
	}
	return werr
}
