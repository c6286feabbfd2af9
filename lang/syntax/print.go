package syntax

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cnnc-org/cnnc/lang/diag"
)

// Indent is the indentation of statements inside a block.
const Indent = "    "

// Print writes f in canonical form:
//
//   - top-level blocks separated by exactly one blank line; blank lines inside a
//     block kept (several collapse to one), except directly after `{`;
//   - one statement per line, indented by four spaces, with the keywords of a block
//     padded to a common width (the longest keyword that has arguments, plus one);
//   - values printed as written (numbers keep their spelling), separated by one
//     space, lists as `[a, b]`;
//   - every comment kept: own-line comments above what follows them, end-of-line
//     comments aligned two spaces after the longest statement of their section
//     (a run of statements not broken by a blank line or an own-line comment).
//
// Print fails on a File that contains statements that did not parse.
func Print(w io.Writer, f *File) error {
	bw := bufio.NewWriter(w)
	pr := &printer{w: bw}
	for i, b := range f.Blocks {
		if b.Kind == "" {
			return fmt.Errorf("%s: block without a header cannot be printed", b.Open)
		}
		if i > 0 {
			pr.nl()
		}
		pr.comments(b.Lead, "")
		if len(b.Lead) > 0 && b.BlankBefore {
			pr.nl()
		}
		if err := pr.block(b); err != nil {
			return err
		}
	}
	for i, c := range f.Trailing {
		if c.BlankBefore && (i > 0 || len(f.Blocks) > 0) {
			pr.nl()
		}
		pr.line(c.Text)
	}
	if pr.err != nil {
		return pr.err
	}
	return bw.Flush()
}

type printer struct {
	w   *bufio.Writer
	err error
}

func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = p.w.WriteString(s + "\n")
	}
}

func (p *printer) nl() { p.line("") }

func (p *printer) comments(cs []*Comment, indent string) {
	for i, c := range cs {
		if c.BlankBefore && i > 0 {
			p.nl()
		}
		p.line(indent + c.Text)
	}
}

func withComment(s string, c *Comment, col int) string {
	if c == nil {
		return s
	}
	pad := col - len(s)
	if pad < 2 {
		pad = 2
	}
	return s + strings.Repeat(" ", pad) + c.Text
}

func argsText(args []*Arg) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	return strings.Join(parts, " ")
}

func (p *printer) block(b *Block) error {
	head := b.Kind
	if len(b.Args) > 0 {
		head += " " + argsText(b.Args)
	}
	p.line(withComment(head+" {", b.OpenComment, 0))

	width := 0
	for _, s := range b.Stmts {
		if s.Bad {
			return errors.New(s.Range.String() + ": statement with a syntax error cannot be printed")
		}
		if len(s.Args) > 0 && len(s.Keyword) > width {
			width = len(s.Keyword)
		}
	}
	texts := make([]string, len(b.Stmts))
	for i, s := range b.Stmts {
		t := Indent + s.Keyword
		if len(s.Args) > 0 {
			t += strings.Repeat(" ", width+1-len(s.Keyword)) + argsText(s.Args)
		}
		texts[i] = t
	}
	// Sections for comment alignment.
	col := make([]int, len(b.Stmts))
	for start := 0; start < len(b.Stmts); {
		end := start + 1
		for end < len(b.Stmts) && !b.Stmts[end].BlankBefore && len(b.Stmts[end].Lead) == 0 {
			end++
		}
		c := 0
		for i := start; i < end; i++ {
			if b.Stmts[i].LineComment != nil && len(texts[i])+2 > c {
				c = len(texts[i]) + 2
			}
		}
		for i := start; i < end; i++ {
			col[i] = c
		}
		start = end
	}
	for i, s := range b.Stmts {
		if i > 0 && (s.BlankBefore && len(s.Lead) == 0 || len(s.Lead) > 0 && s.Lead[0].BlankBefore) {
			p.nl()
		}
		for j, c := range s.Lead {
			if j > 0 && c.BlankBefore {
				p.nl()
			}
			p.line(Indent + c.Text)
		}
		if len(s.Lead) > 0 && s.BlankBefore {
			p.nl()
		}
		p.line(withComment(texts[i], s.LineComment, col[i]))
	}
	for i, c := range b.EndComments {
		if c.BlankBefore && (i > 0 || len(b.Stmts) > 0) {
			p.nl()
		}
		p.line(Indent + c.Text)
	}
	p.line(withComment("}", b.CloseComment, 0))
	return p.err
}

// Format parses src and prints it canonically. With syntax errors it returns nil
// and the diagnostics; the source is not reformatted.
func Format(filename string, src []byte) ([]byte, diag.List) {
	f, diags := Parse(filename, src)
	if diags.HasErrors() {
		return nil, diags
	}
	var sb strings.Builder
	if err := Print(&sb, f); err != nil {
		diags.Errorf("S0201", f.Range, "", "cannot format: %v", err)
		return nil, diags
	}
	return []byte(sb.String()), diags
}
