package cnnc

import (
	"os"
	"strings"
	"testing"
)

// TestLanguageDocExamples: every ```cnn block of docs/language.md is a complete file
// that checks without diagnostics, with paths relative to the repository's top folder
// (as the page says), and that derives its convex program from its data.
func TestLanguageDocExamples(t *testing.T) {
	b, err := os.ReadFile("docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```cnn\n")[1:]
	if len(blocks) < 3 {
		t.Fatalf("docs/language.md has %d ```cnn blocks, want at least 3", len(blocks))
	}
	for i, blk := range blocks {
		src := blk[:strings.Index(blk, "```")]
		p, err := Parse("docs-example.cnn", []byte(src), Options{Dir: "."})
		if err != nil {
			t.Errorf("docs/language.md example %d: %v\n%s", i+1, err, src)
			continue
		}
		if len(p.Diagnostics) > 0 {
			t.Errorf("docs/language.md example %d: %v", i+1, p.Diagnostics)
		}
		if _, _, err := p.Derive(); err != nil {
			t.Errorf("docs/language.md example %d: derive: %v", i+1, err)
		}
	}
}
