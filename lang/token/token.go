// Package token owns source positions for .cnn files: byte offsets, lines and
// columns, and the ranges that diagnostics and IR provenance point at.
//
// It sits at the bottom of the front end (the analogue of go/token): lang/syntax
// produces positions, lang/diag renders them, and lang/ir keeps them as provenance.
package token

import "fmt"

// Pos is a position in a source file. Offset is the 0-based byte offset; Line and
// Col are 1-based, Col counting bytes. The zero Pos means "no position".
type Pos struct {
	Offset int `json:"offset"`
	Line   int `json:"line"`
	Col    int `json:"col"`
}

// IsValid reports whether p names a real position.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string {
	if !p.IsValid() {
		return "-"
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Col)
}

// Range is the half-open byte range [Start, End) of a construct in File.
type Range struct {
	File  string `json:"file"`
	Start Pos    `json:"start"`
	End   Pos    `json:"end"`
}

// IsValid reports whether r has a valid start.
func (r Range) IsValid() bool { return r.Start.IsValid() }

func (r Range) String() string {
	if r.File == "" {
		return r.Start.String()
	}
	return r.File + ":" + r.Start.String()
}

// File maps byte offsets of one source text to lines and columns.
type File struct {
	Name  string
	Src   []byte
	lines []int // offset of the first byte of each line
}

// NewFile indexes src's line starts.
func NewFile(name string, src []byte) *File {
	f := &File{Name: name, Src: src, lines: []int{0}}
	for i, b := range src {
		if b == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	return f
}

// Pos returns the position of byte offset off (clamped into the file).
func (f *File) Pos(off int) Pos {
	if off < 0 {
		off = 0
	}
	if off > len(f.Src) {
		off = len(f.Src)
	}
	lo, hi := 0, len(f.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if f.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return Pos{Offset: off, Line: lo + 1, Col: off - f.lines[lo] + 1}
}

// Range returns the range [start, end) of byte offsets in f.
func (f *File) Range(start, end int) Range {
	return Range{File: f.Name, Start: f.Pos(start), End: f.Pos(end)}
}

// Line returns the text of 1-based line n without its newline.
func (f *File) Line(n int) string {
	if n < 1 || n > len(f.lines) {
		return ""
	}
	start := f.lines[n-1]
	end := len(f.Src)
	if n < len(f.lines) {
		end = f.lines[n] - 1
	}
	if end > start && f.Src[end-1] == '\r' {
		end--
	}
	return string(f.Src[start:end])
}

// LineCount returns the number of lines in f.
func (f *File) LineCount() int { return len(f.lines) }
