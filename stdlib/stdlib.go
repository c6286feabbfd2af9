// Package stdlib owns the standard-library architectures: small .cnn files, embedded
// in the binary, one (at least) per row of the compiler's rule table
// (the rule table of docs/math/12-template.md). Each file holds one `model` block whose name is the
// entry's name without the `std.` prefix, preceded by header comments:
//
//	# std.NAME: one-line description.
//	# theorem: the reformulation it maps to
//	# section: §N of the project's mathematics (docs/math/; Entry.Doc names the file)
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
	Section string // section of the project's mathematics, e.g. "§2"
	Doc     string // the file of docs/math that documents it, e.g. "docs/math/02-fc-relu.md"
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
				e.Doc = MathDoc(e.Section)
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

// mathDocs are the files of docs/math, one per top-level section.
var mathDocs = map[string]string{
	"1": "01-machinery", "2": "02-fc-relu", "3": "03-gated", "4": "04-cnn-gap",
	"5": "05-cnn-pool", "6": "06-maxpool", "7": "07-linear-cnn", "8": "08-circular3",
	"9": "09-three-layer", "10": "10-vector-output", "11": "11-fixed-output", "12": "12-template",
}

// MathDoc returns the docs file of a section such as "§7.3" or "§9b"
// ("docs/math/07-linear-cnn.md"), or "" for an unknown section.
func MathDoc(section string) string {
	s := strings.TrimPrefix(section, "§")
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if f, ok := mathDocs[s[:end]]; ok {
		return "docs/math/" + f + ".md"
	}
	return ""
}
