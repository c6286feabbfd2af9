package cnnc

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// mdLink matches a Markdown link's target: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^()\s]+)\)`)

// sectionCite matches a section cited next to its file, "§7.3 (docs/math/07-linear-cnn.md)",
// "§4, docs/math/04-cnn-gap.md", "§6 (`06-maxpool.md`)", "| §2 | [`02-fc-relu.md`]": the
// section's number and the file's two-digit prefix, at most 20 characters apart.
var sectionCite = regexp.MustCompile(`§(\d+)[\d.b]*[^§\n]{0,20}?\b(\d\d)-[a-z0-9-]+\.md`)

// plannedDocs are the files docs/README.md lays out (relative to docs/): a link to one of
// them that is not written yet is logged, not an error (several helpers write them in
// parallel; once all have landed, every link must resolve).
func plannedDocs(t *testing.T) map[string]bool {
	b, err := os.ReadFile("docs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	planned := map[string]bool{}
	for _, m := range regexp.MustCompile("`((?:math/)?[0-9a-z-]+\\.md)`").FindAllStringSubmatch(string(b), -1) {
		planned[m[1]] = true
	}
	return planned
}

// headingSlugs returns the anchors GitHub gives the headings of a Markdown file:
// lower case, spaces to hyphens, every other character that is not a letter, digit,
// hyphen or underscore dropped.
func headingSlugs(text string) map[string]bool {
	slugs := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		slugs[b.String()] = true
	}
	return slugs
}

// TestDocsLinks: every relative link in docs/ points at a file that exists (or, while
// it is not written yet, at one docs/README.md plans), and every #anchor at a heading
// of its target.
func TestDocsLinks(t *testing.T) {
	planned := plannedDocs(t)
	checked := 0
	err := filepath.WalkDir("docs", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".md" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			dest := path
			if file != "" {
				dest = filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
			}
			text, err := os.ReadFile(dest)
			if err != nil {
				rel, _ := filepath.Rel("docs", dest)
				if planned[filepath.ToSlash(rel)] {
					t.Logf("%s: link to %s, which docs/README.md plans but is not written yet", path, target)
					continue
				}
				t.Errorf("%s: link to %s: no such file", path, target)
				continue
			}
			checked++
			if frag != "" && filepath.Ext(dest) == ".md" && !headingSlugs(string(text))[frag] {
				t.Errorf("%s: link to %s: %s has no heading with anchor #%s", path, target, dest, frag)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d links checked: is the test running at the module root?", checked)
	}
}

// TestSectionCitations: wherever a shipped file (Go source outside tests, .cnn, .py,
// Markdown) cites a section together with a docs file, the file is that section's
// (§N lives in NN-….md), and a cited docs/math file is one docs/README.md lays out.
func TestSectionCitations(t *testing.T) {
	planned := plannedDocs(t)
	mathFile := regexp.MustCompile(`docs/(math/\d\d-[a-z0-9-]+\.md)`)
	found := 0
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
		if strings.HasSuffix(name, "_test.go") {
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
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range sectionCite.FindAllStringSubmatch(line, -1) {
				found++
				if want := m[1]; strings.TrimLeft(m[2], "0") != want {
					t.Errorf("%s:%d: §%s cited with the file of §%s: %s", path, i+1, m[1], strings.TrimLeft(m[2], "0"), strings.TrimSpace(line))
				}
			}
			for _, m := range mathFile.FindAllStringSubmatch(line, -1) {
				if !planned[m[1]] {
					t.Errorf("%s:%d: docs/%s is not a file of docs/README.md's layout", path, i+1, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 20 {
		t.Fatalf("only %d section citations found: is the test running at the module root?", found)
	}
}
