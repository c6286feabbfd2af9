// Package diag owns diagnostics: errors and warnings as data (code, severity,
// summary, detail, source range, related ranges, suggestion), a List that sorts and
// de-duplicates them, and their text and JSON renderings.
//
// Every phase of cnnc reports problems as diag values: lang/syntax (S… codes),
// lang/check (C…), lang/dataset and compiler (F… formulation), warnings (W…).
// Rendering follows HCL/Go: `file:line:col: error[C0203]: summary`, the source
// line with a caret underline, then the detail.
package diag

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cnnc-org/cnnc/lang/token"
)

// Severity of a diagnostic.
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalJSON writes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Related is a secondary location ("input shape defined here").
type Related struct {
	Message string      `json:"message"`
	Range   token.Range `json:"range"`
}

// Diagnostic is one problem found in the input.
type Diagnostic struct {
	Severity Severity    `json:"severity"`
	Code     string      `json:"code"`    // S… syntax, C… check, F… formulation/data, W… warning
	Summary  string      `json:"summary"` // terse, lowercase
	Detail   string      `json:"detail,omitempty"`
	Range    token.Range `json:"range"`
	Related  []Related   `json:"related,omitempty"`
	Suggest  string      `json:"suggestion,omitempty"` // did-you-mean replacement, if any
}

func (d *Diagnostic) Error() string {
	return fmt.Sprintf("%s: %s[%s]: %s", d.Range, d.Severity, d.Code, d.Summary)
}

// List is a list of diagnostics; it implements error.
type List []*Diagnostic

// Add appends a diagnostic.
func (l *List) Add(d *Diagnostic) { *l = append(*l, d) }

// Errorf appends an error diagnostic.
func (l *List) Errorf(code string, r token.Range, detail, format string, args ...any) *Diagnostic {
	d := &Diagnostic{Severity: Error, Code: code, Range: r, Summary: fmt.Sprintf(format, args...), Detail: detail}
	l.Add(d)
	return d
}

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Err returns l as an error if it has errors, else nil.
func (l List) Err() error {
	if l.HasErrors() {
		return l
	}
	return nil
}

func (l List) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", l[0].Error(), len(l)-1)
}

// Sort orders by file, offset, then code, and removes exact duplicates.
func (l *List) Sort() {
	s := *l
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.Range.File != b.Range.File {
			return a.Range.File < b.Range.File
		}
		if a.Range.Start.Offset != b.Range.Start.Offset {
			return a.Range.Start.Offset < b.Range.Start.Offset
		}
		return a.Code < b.Code
	})
	out := s[:0]
	for i, d := range s {
		if i > 0 {
			p := out[len(out)-1]
			if p.Code == d.Code && p.Range == d.Range && p.Summary == d.Summary {
				continue
			}
		}
		out = append(out, d)
	}
	*l = out
}

// Sources resolves file names to their text for rendering source lines.
type Sources map[string]*token.File

// Limits of the text rendering, so that no input floods a terminal: at most
// MaxPrinted diagnostics are printed (then one line says how many more there are),
// and an echoed source line shows at most MaxLineWidth bytes around the caret.
// The JSON rendering has no such limits.
const (
	MaxPrinted   = 50
	MaxLineWidth = 160
)

// WriteText renders diagnostics for people: header line, source line with a caret
// underline, then the indented detail. Errors are printed before warnings when the
// list is cut at MaxPrinted.
func WriteText(w io.Writer, l List, src Sources) {
	shown := l
	if len(l) > MaxPrinted {
		shown = make(List, 0, MaxPrinted)
		for _, sev := range []Severity{Error, Warning} {
			for _, d := range l {
				if d.Severity == sev && len(shown) < MaxPrinted {
					shown = append(shown, d)
				}
			}
		}
		shown.Sort()
	}
	for _, d := range shown {
		fmt.Fprintf(w, "%s: %s[%s]: %s\n", d.Range, d.Severity, d.Code, d.Summary)
		if f := src[d.Range.File]; f != nil && d.Range.IsValid() {
			line := strings.ReplaceAll(f.Line(d.Range.Start.Line), "\t", " ")
			col := d.Range.Start.Col - 1
			width := 1
			if d.Range.End.Line == d.Range.Start.Line && d.Range.End.Col > d.Range.Start.Col {
				width = d.Range.End.Col - d.Range.Start.Col
			}
			line, col, width = clip(line, col, width)
			fmt.Fprintf(w, "    %s\n", line)
			fmt.Fprintf(w, "    %s%s\n", strings.Repeat(" ", col), strings.Repeat("^", width))
		}
		if d.Detail != "" {
			for _, ln := range strings.Split(d.Detail, "\n") {
				fmt.Fprintf(w, "    %s\n", ln)
			}
		}
		if d.Suggest != "" {
			fmt.Fprintf(w, "    did you mean `%s`?\n", d.Suggest)
		}
		for _, r := range d.Related {
			fmt.Fprintf(w, "    %s: note: %s\n", r.Range, r.Message)
		}
	}
	if more := len(l) - len(shown); more > 0 {
		errs := 0
		for _, d := range l {
			if d.Severity == Error {
				errs++
			}
		}
		fmt.Fprintf(w, "... and %d more diagnostics not shown (%d errors and %d warnings in all); fix the first ones and run again, or ask for JSON output to see every one\n",
			more, errs, len(l)-errs)
	}
}

// clip cuts line to at most MaxLineWidth bytes around byte column col (0-based)
// and the underline width, marking cuts with "…"; it returns the clipped line and
// the caret's column and width in it. Cuts fall on UTF-8 boundaries.
func clip(line string, col, width int) (string, int, int) {
	if len(line) <= MaxLineWidth {
		return line, min(col, len(line)), max(1, width)
	}
	start := max(0, col-MaxLineWidth/2)
	for start > 0 && start < len(line) && !utf8.RuneStart(line[start]) {
		start--
	}
	end := min(len(line), start+MaxLineWidth)
	for end < len(line) && !utf8.RuneStart(line[end]) {
		end--
	}
	out := line[start:end]
	c := col - start
	if start > 0 {
		out = "…" + out
		c += len("…") - 2 // "…" is 3 bytes but one column wide
		c = max(c, 1)
	}
	if end < len(line) {
		out += "…"
	}
	c = min(max(c, 0), MaxLineWidth)
	width = max(1, min(width, MaxLineWidth-c+1))
	return out, c, width
}

// WriteJSON renders diagnostics as a JSON array (one object per diagnostic).
func WriteJSON(w io.Writer, l List) error {
	if l == nil {
		l = List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}
