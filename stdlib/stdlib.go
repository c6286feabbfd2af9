// Package stdlib owns the standard-library architectures: small .cnn files, embedded
// in the binary, one (at least) per row of the compiler's rule table
// (spec/formulations.md Part A). Each file holds one `model` block whose name is the
// entry's name without the `std.` prefix, preceded by header comments:
//
//	# std.NAME: one-line description.
//	# theorem: the reformulation it maps to
//	# section: §N of formulations.md
//
// A .cnn file uses an entry with the statement `use std.NAME` inside a model block
// (lang/check splices the entry's layers after `input` in its place; see
// docs/language.md). Input: nothing. Output: Entry values. Pipeline position: a
// source of model text for lang/check, and the `cnnc stdlib` listing.
package stdlib

import (
	"embed"
	"path"
	"sort"
	"strings"
)

//go:embed arch/*.cnn
var files embed.FS

// Entry is one standard-library architecture.
type Entry struct {
	Name    string // "std.fc_relu"
	Model   string // the model block's name: "fc_relu"
	Summary string // one-line description
	Theorem string // the reformulation, e.g. "two-layer ReLU, Pilanci & Ergen 2020"
	Section string // formulations.md section, e.g. "§2"
	File    string // "std/fc_relu.cnn": the name diagnostics use for this source
	Source  []byte
}

var entries = load()

func load() []Entry {
	des, err := files.ReadDir("arch")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	var out []Entry
	for _, de := range des {
		src, err := files.ReadFile(path.Join("arch", de.Name()))
		if err != nil {
			panic(err)
		}
		base := strings.TrimSuffix(de.Name(), ".cnn")
		e := Entry{Name: "std." + base, Model: base, File: "std/" + de.Name(), Source: src}
		for _, ln := range strings.Split(string(src), "\n") {
			if !strings.HasPrefix(ln, "#") {
				break
			}
			ln = strings.TrimSpace(strings.TrimPrefix(ln, "#"))
			switch {
			case strings.HasPrefix(ln, "theorem:"):
				e.Theorem = strings.TrimSpace(strings.TrimPrefix(ln, "theorem:"))
			case strings.HasPrefix(ln, "section:"):
				e.Section = strings.TrimSpace(strings.TrimPrefix(ln, "section:"))
			case strings.HasPrefix(ln, e.Name+":"):
				e.Summary = strings.TrimSpace(strings.TrimPrefix(ln, e.Name+":"))
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// List returns every entry, sorted by name.
func List() []Entry {
	return append([]Entry(nil), entries...)
}

// Lookup returns the entry named name ("std.fc_relu"; the "std." prefix may be
// omitted).
func Lookup(name string) (Entry, bool) {
	if !strings.HasPrefix(name, "std.") {
		name = "std." + name
	}
	for _, e := range entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Names returns the entry names, for did-you-mean suggestions.
func Names() []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name
	}
	return out
}
