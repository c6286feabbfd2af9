package syntax

import (
	"fmt"
	"strings"

	"github.com/cnnc-org/cnnc/lang/token"
)

// File is a parsed .cnn file: top-level blocks in source order.
type File struct {
	Name     string
	Blocks   []*Block
	Trailing []*Comment // comments after the last block
	Range    token.Range
	// Incomplete is true when syntax errors dropped parts of the file, so the
	// checker should not report what is missing.
	Incomplete bool
}

// Comment is one `#` comment; Text includes the `#` and excludes the newline.
type Comment struct {
	Text  string
	Range token.Range
	// BlankBefore records a blank line in the source just before this comment.
	BlankBefore bool
}

// Block is a top-level block `KIND arg* { stmt* }`, e.g. `model net { … }`.
type Block struct {
	Kind      string // model, data, train (any identifier is accepted here)
	KindRange token.Range
	Args      []*Arg // header values: `net` in `model net`, `model=net` in `train model=net`
	Stmts     []*Stmt

	Lead         []*Comment // comment lines just before the block
	OpenComment  *Comment   // comment on the line of `{`
	EndComments  []*Comment // comment lines after the last statement, before `}`
	CloseComment *Comment   // comment on the line of `}`
	BlankBefore  bool       // a blank line separates the block from what precedes it

	Open, Close token.Range // the braces; Close is invalid when the block is unclosed
	Range       token.Range // from the kind to the closing brace

	// BadHeader is true when the header had a syntax error (already reported), so
	// Args may be incomplete: the checker does not also report a missing name.
	BadHeader bool
}

// Name returns the block's first positional identifier (the name in `model net`)
// and its argument, or "" and nil.
func (b *Block) Name() (string, *Arg) {
	for _, a := range b.Args {
		if a.Key == "" {
			if a.Value.Kind == Ident {
				return a.Value.Text, a
			}
			return "", a
		}
	}
	return "", nil
}

// Stmt is one statement `keyword arg*` inside a block.
type Stmt struct {
	Keyword      string
	KeywordRange token.Range
	Args         []*Arg

	Lead        []*Comment // comment lines just before the statement
	LineComment *Comment   // comment at the end of the statement's line
	BlankBefore bool       // a blank line separates it from the previous line

	// Bad marks a statement that did not parse; Keyword is its first identifier
	// if it had one, and Args is empty. The syntax error has been reported.
	Bad   bool
	Range token.Range
}

// Arg is a positional value (Key == "") or a `key=value` pair.
type Arg struct {
	Key      string
	KeyRange token.Range
	Value    *Value
	Range    token.Range
}

// ValueKind classifies a value.
type ValueKind int

const (
	Number ValueKind = iota
	Shape
	String
	Ident // includes true and false; see Value.Bool
	List
)

func (k ValueKind) String() string {
	switch k {
	case Number:
		return "number"
	case Shape:
		return "shape"
	case String:
		return "string"
	case Ident:
		return "identifier"
	case List:
		return "list"
	}
	return fmt.Sprintf("ValueKind(%d)", int(k))
}

// Value is a number, shape, string, identifier or bracketed list.
//
// Raw is the source spelling (printed back unchanged). Text is the meaning: the
// unescaped contents for strings, the identifier, or Raw for numbers and shapes.
// Dims holds a shape's integers (nil if one does not fit an int).
type Value struct {
	Kind  ValueKind
	Raw   string
	Text  string
	Dims  []int
	Items []*Value
	Range token.Range
}

// IsBool reports whether v is `true` or `false`.
func (v *Value) IsBool() bool { return v.Kind == Ident && (v.Text == "true" || v.Text == "false") }

// String renders the value as source text.
func (v *Value) String() string {
	if v.Kind != List {
		return v.Raw
	}
	parts := make([]string, len(v.Items))
	for i, it := range v.Items {
		parts[i] = it.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// String renders the argument as source text.
func (a *Arg) String() string {
	if a.Key == "" {
		return a.Value.String()
	}
	return a.Key + "=" + a.Value.String()
}
