package cnnc

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outside matches a reference to something a clone of the repository does not
// have: the specification folder the project was written from, its data, or its
// documents by name. The repository documents itself under docs/ (docs/README.md).
var outside = regexp.MustCompile(`\.\./shared|shared/data|\bspec/|formulations\.md|formats\.md|(^|[^/\w.-])(cli|language)\.md`)

// TestStandsAlone fails when a shipped file — Go source outside tests, a .cnn
// file, a helper script, or any Markdown file — refers outside the repository.
// Inside docs/, `cli.md` and `language.md` are sibling files and may be named
// bare. Test files (which may read conformance data beside the repository and
// skip without it), testdata folders and the top-level README.md (the lead's,
// checked when it is rewritten) are not scanned.
func TestStandsAlone(t *testing.T) {
	scanned := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, "_test.go") || path == "README.md" {
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".cnn", ".py", ".md":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		inDocs := strings.HasPrefix(filepath.ToSlash(path), "docs/")
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range outside.FindAllStringSubmatchIndex(line, -1) {
				ref := strings.TrimLeft(line[m[0]:m[1]], " (`'\"")
				if inDocs && (ref == "cli.md" || ref == "language.md") {
					continue
				}
				t.Errorf("%s:%d refers outside the repository (%q): %s", path, i+1, ref, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 50 {
		t.Fatalf("scanned only %d files: is the test running at the module root?", scanned)
	}
}
