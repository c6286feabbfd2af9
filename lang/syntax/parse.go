package syntax

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/cnnc-org/cnnc/lang/diag"
	"github.com/cnnc-org/cnnc/lang/token"
)

var (
	symbols   = lexDef.Symbols()
	tComment  = symbols["Comment"]
	tString   = symbols["String"]
	tBadStr   = symbols["BadString"]
	tShape    = symbols["Shape"]
	tNumber   = symbols["Number"]
	tIdent    = symbols["Ident"]
	tPunct    = symbols["Punct"]
	tNL       = symbols["NL"]
	tWS       = symbols["WS"]
	tBad      = symbols["Bad"]
	errNoRule = errors.New("no lexer rule matched")
)

// parser holds the state of one Parse call.
type parser struct {
	tf    *token.File
	diags diag.List
	toks  []lexer.Token // significant tokens: no whitespace, no comments
	cmts  []lexer.Token
	bad   map[int]bool // offsets of tokens that already produced a lexical error
	// stopped: MaxSyntaxErrors was reached and S0207 reported.
	stopped bool
}

// Limits of the parser, so that no input makes it hang or flood the terminal:
// lists nest at most MaxListDepth deep (a deeper one is S0206, and its line is
// skipped), and after MaxSyntaxErrors syntax errors the rest of the file is not
// parsed (S0207). The number of lines, blocks and statements is not limited.
const (
	MaxListDepth    = 64
	MaxSyntaxErrors = 100
)

func init() {
	// participle caps every repetition (statements of a block, lines of a file) at
	// 10⁶ by default, which rejected valid files of more than a million lines.
	participle.MaxIterations = math.MaxInt32
}

// utf8BOM is the byte order mark some editors write at the start of UTF-8 files.
const utf8BOM = "\xef\xbb\xbf"

// Parse parses one .cnn file. It always returns a File (possibly partial) and the
// syntax diagnostics, sorted by position. A UTF-8 byte order mark at the start is
// skipped (positions still count its three bytes).
func Parse(filename string, src []byte) (*File, diag.List) {
	return parse(filename, src, false)
}

// parse is Parse; forceRecover skips the whole-file grammar (for tests that check
// that recovery parses valid files exactly as the grammar does).
func parse(filename string, src []byte, forceRecover bool) (*File, diag.List) {
	p := &parser{tf: token.NewFile(filename, src), bad: map[int]bool{}}
	lexSrc := src
	if strings.HasPrefix(string(src[:min(len(src), 3)]), utf8BOM) {
		lexSrc = append([]byte("   "), src[3:]...) // same offsets, lexed as white space
	}
	p.lex(lexSrc)
	p.depthLimit()
	f := &File{Name: filename, Range: p.tf.Range(0, len(src))}
	ok := false
	if len(p.diags) == 0 && !forceRecover {
		pf, err := fileParser.ParseFromLexer(p.peeker(p.toks))
		if err == nil {
			for _, pb := range pf.Blocks {
				f.Blocks = append(f.Blocks, p.block(pb.Kind, pb.Args, pb.Stmts, &pb.Open, &pb.Close))
			}
			ok = true
		}
	}
	if !ok {
		f.Blocks = p.recover()
	}
	f.Incomplete = p.diags.HasErrors()
	p.attachComments(f)
	normalize(f)
	p.diags.Sort()
	return f, p.diags
}

// depthLimit reports lists nested deeper than MaxListDepth (S0206) and marks the
// offending bracket bad, so that recovery skips its line instead of handing a
// pathological nesting to the grammar.
func (p *parser) depthLimit() {
	depth := 0
	for _, t := range p.toks {
		switch {
		case t.Type == tNL:
			depth = 0
		case isPunct(t, "["):
			depth++
			if depth == MaxListDepth+1 {
				p.bad[t.Pos.Offset] = true
				p.diags.Errorf("S0206", p.rng(t), fmt.Sprintf("Lists nest at most %d deep; a value this deep is almost certainly a mistake.", MaxListDepth),
					"lists nested more than %d deep", MaxListDepth)
			}
		case isPunct(t, "]"):
			depth = max(0, depth-1)
		}
	}
}

// tooMany reports whether recovery must stop: MaxSyntaxErrors reached (S0207 is
// added once, at the token where it stops).
func (p *parser) tooMany(at lexer.Token) bool {
	if len(p.diags) < MaxSyntaxErrors {
		return false
	}
	if !p.stopped {
		p.stopped = true
		p.diags.Errorf("S0207", p.rng(at), fmt.Sprintf("cnnc stops parsing after %d syntax errors; fix the first ones and run again.", MaxSyntaxErrors),
			"too many syntax errors; the rest of the file is not parsed")
	}
	return true
}

// lex tokenises src, keeping comments aside and reporting lexical errors.
func (p *parser) lex(src []byte) {
	lx, err := lexDef.LexString(p.tf.Name, string(src))
	if err != nil { // cannot happen with the catch-all rule; report it anyway
		p.diags.Errorf("S0101", p.tf.Range(0, 0), "", "cannot tokenise file: %v", err)
		return
	}
	// One token at a time (not lexer.ConsumeAll), keeping only the significant
	// ones: a file of a million lines holds millions of white-space tokens.
	p.toks = make([]lexer.Token, 0, len(src)/8+16)
	for {
		t, err := lx.Next()
		if err != nil {
			p.diags.Errorf("S0101", p.tf.Range(0, 0), "", "cannot tokenise file: %v", err)
			return
		}
		if t.EOF() {
			break
		}
		switch t.Type {
		case tWS:
			continue
		case tComment:
			p.cmts = append(p.cmts, t)
			continue
		case tBad:
			p.bad[t.Pos.Offset] = true
			if !utf8.ValidString(t.Value) {
				p.diags.Errorf("S0101", p.rng(t), "A .cnn file is UTF-8 text and names are ASCII letters, digits, `_` and `.`; this byte is not UTF-8 (the file may be in another encoding): save the file as UTF-8, or delete the byte.",
					"invalid byte 0x%02x (not UTF-8)", t.Value[0])
				break
			}
			p.diags.Errorf("S0101", p.rng(t), "A .cnn file holds identifiers, numbers, shapes (3x3), strings, `=`, `,`, brackets, braces and `#` comments; delete or quote this character.",
				"invalid character %s", quoteChar(t.Value))
		case tBadStr:
			p.bad[t.Pos.Offset] = true
			p.diags.Errorf("S0102", p.rng(t), "Strings end with `\"` on the same line; add the closing quote (write `\\\"` for a quote inside the string).",
				"unterminated string")
		case tString:
			if off, ok := badEscape(t.Value); ok {
				p.bad[t.Pos.Offset] = true
				start := t.Pos.Offset + off
				p.diags.Errorf("S0103", p.tf.Range(start, start+2), "Only `\\\"` and `\\\\` are escapes in .cnn strings; write `\\\\` for a backslash.",
					"invalid escape %s in string", strconv.Quote(t.Value[off:off+2]))
			}
		}
		p.toks = append(p.toks, t)
	}
}

func quoteChar(s string) string {
	if len(s) == 1 && (s[0] < 0x20 || s[0] >= 0x7f) {
		return fmt.Sprintf("byte 0x%02x", s[0])
	}
	return strconv.Quote(s)
}

// badEscape returns the byte offset of the first escape other than \" and \\.
func badEscape(raw string) (int, bool) {
	for i := 1; i < len(raw)-1; i++ {
		if raw[i] == '\\' {
			if raw[i+1] != '"' && raw[i+1] != '\\' {
				return i, true
			}
			i++
		}
	}
	return 0, false
}

// unquote decodes a String token (assumed valid).
func unquote(raw string) string {
	if len(raw) < 2 {
		return ""
	}
	var b strings.Builder
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

type sliceLexer struct {
	toks []lexer.Token
	i    int
	eof  lexer.Token
}

func (l *sliceLexer) Next() (lexer.Token, error) {
	if l.i < len(l.toks) {
		l.i++
		return l.toks[l.i-1], nil
	}
	return l.eof, nil
}

// peeker feeds toks (followed by EOF at the end of the last token) to participle.
func (p *parser) peeker(toks []lexer.Token) *lexer.PeekingLexer {
	eof := lexer.Token{Type: lexer.EOF, Pos: lexer.Position{Filename: p.tf.Name, Offset: len(p.tf.Src)}}
	if n := len(toks); n > 0 {
		last := toks[n-1]
		eof.Pos.Offset = last.Pos.Offset + len(last.Value)
	}
	pl, _ := lexer.Upgrade(&sliceLexer{toks: toks, eof: eof})
	return pl
}

func (p *parser) rng(t lexer.Token) token.Range {
	return p.tf.Range(t.Pos.Offset, t.Pos.Offset+len(t.Value))
}

func (p *parser) span(toks []lexer.Token) token.Range {
	if len(toks) == 0 {
		return token.Range{}
	}
	first, last := toks[0], toks[len(toks)-1]
	return p.tf.Range(first.Pos.Offset, last.Pos.Offset+len(last.Value))
}

// ---- conversion from the participle structs to the AST ----

func (p *parser) block(kind pIdent, args []*pArg, stmts []*pStmt, open *pPunct, closeB *pClose) *Block {
	b := &Block{Kind: kind.V, KindRange: p.span(kind.Tokens)}
	for _, a := range args {
		b.Args = append(b.Args, p.arg(a))
	}
	for _, s := range stmts {
		b.Stmts = append(b.Stmts, p.stmt(s))
	}
	if open != nil {
		b.Open = p.span(open.Tokens)
	}
	end := b.Open
	if closeB != nil {
		b.Close = p.span(closeB.Tokens)
		end = b.Close
	}
	if n := len(b.Stmts); !b.Close.IsValid() && n > 0 {
		end = b.Stmts[n-1].Range
	}
	b.Range = token.Range{File: p.tf.Name, Start: b.KindRange.Start, End: end.End}
	return b
}

func (p *parser) stmt(s *pStmt) *Stmt {
	st := &Stmt{Keyword: s.Keyword.V, KeywordRange: p.span(s.Keyword.Tokens), Range: p.span(s.Tokens)}
	for _, a := range s.Args {
		st.Args = append(st.Args, p.arg(a))
	}
	return st
}

func (p *parser) arg(a *pArg) *Arg {
	r := p.span(a.Tokens)
	switch {
	case a.Name != nil && a.Eq != nil:
		return &Arg{Key: *a.Name, KeyRange: p.rng(a.Tokens[0]), Value: p.value(a.Eq), Range: r}
	case a.Name != nil:
		return &Arg{Value: &Value{Kind: Ident, Raw: *a.Name, Text: *a.Name, Range: r}, Range: r}
	}
	return &Arg{Value: p.value(a.Val), Range: r}
}

func (p *parser) value(v *pValue) *Value {
	out := &Value{Range: p.span(v.Tokens)}
	switch {
	case v.Shape != nil:
		out.Kind, out.Raw, out.Text = Shape, *v.Shape, *v.Shape
		for _, part := range strings.Split(*v.Shape, "x") {
			n, err := strconv.Atoi(part)
			if err != nil {
				out.Dims = nil
				break
			}
			out.Dims = append(out.Dims, n)
		}
	case v.Number != nil:
		out.Kind, out.Raw, out.Text = Number, *v.Number, *v.Number
	case v.String != nil:
		out.Kind, out.Raw, out.Text = String, *v.String, unquote(*v.String)
	case v.Ident != nil:
		out.Kind, out.Raw, out.Text = Ident, *v.Ident, *v.Ident
	case v.List != nil:
		out.Kind = List
		for _, it := range v.List.Items {
			out.Items = append(out.Items, p.value(it))
		}
		out.Raw = out.String()
		out.Text = out.Raw
	}
	return out
}

// ---- recovery ----

func isPunct(t lexer.Token, s string) bool { return t.Type == tPunct && t.Value == s }

// recover parses the token stream unit by unit (see the package comment).
func (p *parser) recover() []*Block {
	var blocks []*Block
	var cur *Block  // open block
	orphan := false // lines after a header that lacked `{`: its body, not reported
	toks := p.toks
	i := 0
	closeCur := func(missing bool) {
		if missing {
			p.diags.Errorf("S0203", cur.Open, fmt.Sprintf("The `%s` block opened here has no matching `}`; add `}` on its own line after its last statement.", cur.Kind),
				"unclosed `%s` block", cur.Kind)
		}
		blocks = append(blocks, cur)
		cur = nil
	}
	for i < len(toks) {
		if p.tooMany(toks[i]) {
			if cur != nil {
				blocks = append(blocks, cur)
				cur = nil
			}
			break
		}
		// Collect one unit: tokens up to NL, "{" or "}".
		j := i
		for j < len(toks) && toks[j].Type != tNL && !isPunct(toks[j], "{") && !isPunct(toks[j], "}") {
			j++
		}
		unit := toks[i:j]
		var term *lexer.Token
		if j < len(toks) {
			term = &toks[j]
		}
		next := j + 1
		switch {
		case term != nil && isPunct(*term, "{"):
			if cur != nil {
				// A new header inside a block: the previous block lacks its `}`.
				closeCur(true)
			}
			cur = p.recoverHeader(unit, *term)
			orphan = false
		case cur != nil:
			if len(unit) > 0 {
				cur.Stmts = append(cur.Stmts, p.recoverStmt(unit))
			}
			if term != nil && isPunct(*term, "}") {
				cur.Close = p.rng(*term)
				cur.Range.End = cur.Close.End
				closeCur(false)
			} else if len(unit) > 0 {
				cur.Range.End = cur.Stmts[len(cur.Stmts)-1].Range.End
			}
		case orphan && (len(unit) == 0 || unit[0].Type != tIdent || !knownBlock(unit[0].Value)):
			if term != nil && isPunct(*term, "}") {
				orphan = false
			}
		default: // top level, not a header
			if len(unit) > 0 && !p.anyBad(unit) {
				if unit[0].Type == tIdent && knownBlock(unit[0].Value) {
					orphan = true
					end := p.span(unit).End
					p.diags.Errorf("S0202", token.Range{File: p.tf.Name, Start: end, End: end},
						"A block header is followed by `{` on the same line, e.g. `model net {`.",
						"expected `{` after `%s` block header", unit[0].Value)
				} else {
					p.diags.Errorf("S0205", p.span(unit),
						"Statements belong inside a `model`, `data` or `train` block; move this line into one.",
						"statement outside a block")
				}
			}
			if term != nil && isPunct(*term, "}") {
				p.diags.Errorf("S0204", p.rng(*term), "This `}` closes no block; delete it or add the block header it belongs to.",
					"unexpected `}`")
			}
		}
		i = next
	}
	if cur != nil {
		closeCur(true)
	}
	if len(p.diags) == 0 && !p.stopped {
		// The full grammar failed but no unit did: report the participle error.
		if _, err := fileParser.ParseFromLexer(p.peeker(p.toks)); err != nil {
			p.syntaxErr(err, "")
		}
	}
	return blocks
}

func knownBlock(s string) bool { return s == "model" || s == "data" || s == "train" }

func (p *parser) anyBad(unit []lexer.Token) bool {
	for _, t := range unit {
		if p.bad[t.Pos.Offset] {
			return true
		}
	}
	return false
}

func (p *parser) recoverHeader(unit []lexer.Token, open lexer.Token) *Block {
	openR := p.rng(open)
	var ph *pHeader
	var err error
	if len(unit) == 0 {
		p.diags.Errorf("S0201", openR, "A block starts with its kind and name, e.g. `model net {`.", "block without a header")
	} else if !p.anyBad(unit) {
		ph, err = headerParser.ParseFromLexer(p.peeker(unit))
		if err != nil {
			p.syntaxErr(err, "A block header is `KIND [NAME] [key=value ...] {`, e.g. `model net {` or `train model=net {`.")
			ph = nil
		}
	}
	if ph == nil {
		b := &Block{Open: openR, Range: openR, BadHeader: len(unit) > 0}
		if len(unit) > 0 && unit[0].Type == tIdent {
			b.Kind, b.KindRange = unit[0].Value, p.rng(unit[0])
			b.Range = p.tf.Range(unit[0].Pos.Offset, openR.End.Offset)
		}
		return b
	}
	b := p.block(ph.Kind, ph.Args, nil, &pPunct{V: "{", Tokens: []lexer.Token{open}}, nil)
	return b
}

func (p *parser) recoverStmt(unit []lexer.Token) *Stmt {
	if !p.anyBad(unit) {
		ps, err := stmtParser.ParseFromLexer(p.peeker(unit))
		if err == nil {
			return p.stmt(ps)
		}
		p.stmtErr(unit, err)
	}
	st := &Stmt{Bad: true, Range: p.span(unit)}
	if unit[0].Type == tIdent {
		st.Keyword, st.KeywordRange = unit[0].Value, p.rng(unit[0])
	}
	return st
}

// stmtErr reports a statement that did not parse, naming the usual causes.
func (p *parser) stmtErr(unit []lexer.Token, err error) {
	const generic = "A statement is `keyword value* key=value*` on one line, e.g. `conv 3x3 stride=2`."
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) && ute.Unexpected.EOF() {
		last := unit[len(unit)-1]
		end := last.Pos.Offset + len(last.Value)
		depth := 0
		for _, t := range unit {
			if isPunct(t, "[") {
				depth++
			} else if isPunct(t, "]") {
				depth--
			}
		}
		switch {
		case isPunct(last, "="):
			p.diags.Errorf("S0201", p.rng(last), "Write the value right after `=`, without spaces, e.g. `stride=2`.", "missing value after `=`")
			return
		case depth > 0:
			p.diags.Errorf("S0201", p.tf.Range(end, end), "Lists are written on one line as `[a, b, c]`; add the closing `]`.", "unclosed list")
			return
		}
	}
	p.syntaxErr(err, generic)
}

// syntaxErr turns a participle error into an S0201 diagnostic at its token.
func (p *parser) syntaxErr(err error, detail string) {
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		t := ute.Unexpected
		r := p.rng(t)
		what := describe(t)
		if ute.Expect != "" {
			detail = strings.TrimSpace(detail + " Expected " + ute.Expect + ".")
		}
		p.diags.Errorf("S0201", r, detail, "unexpected %s", what)
		return
	}
	var pe participle.Error
	if errors.As(err, &pe) {
		off := pe.Position().Offset
		p.diags.Errorf("S0201", p.tf.Range(off, off), detail, "%s", strings.ToLower(pe.Message()))
		return
	}
	p.diags.Errorf("S0201", p.tf.Range(0, 0), detail, "%v", err)
}

func describe(t lexer.Token) string {
	switch t.Type {
	case lexer.EOF:
		return "end of statement"
	case tNL:
		return "end of line"
	case tString:
		return "string " + t.Value
	case tNumber:
		return "number " + t.Value
	case tShape:
		return "shape " + t.Value
	case tIdent:
		return "identifier `" + t.Value + "`"
	}
	return "`" + t.Value + "`"
}

// ---- comments and blank lines ----

type anchor struct {
	off, line int
	kind      int // 0 open (block header), 1 statement, 2 close brace
	b         *Block
	s         *Stmt
}

func (p *parser) attachComments(f *File) {
	var as []anchor
	for _, b := range f.Blocks {
		if b.KindRange.IsValid() {
			as = append(as, anchor{b.KindRange.Start.Offset, b.Open.Start.Line, 0, b, nil})
		} else {
			as = append(as, anchor{b.Open.Start.Offset, b.Open.Start.Line, 0, b, nil})
		}
		for _, s := range b.Stmts {
			as = append(as, anchor{s.Range.Start.Offset, s.Range.End.Line, 1, b, s})
		}
		if b.Close.IsValid() {
			as = append(as, anchor{b.Close.Start.Offset, b.Close.Start.Line, 2, b, nil})
		}
	}
	k := 0 // first anchor with off > comment offset
	for _, t := range p.cmts {
		c := &Comment{Text: strings.TrimRight(t.Value, " \t\r\f\v"), Range: p.rng(t)}
		for k < len(as) && as[k].off < t.Pos.Offset {
			k++
		}
		line := c.Range.Start.Line
		if k > 0 && as[k-1].line == line {
			a := as[k-1]
			switch a.kind {
			case 0:
				a.b.OpenComment = c
			case 1:
				a.s.LineComment = c
			case 2:
				a.b.CloseComment = c
			}
			continue
		}
		c.BlankBefore = p.blankLine(line - 1)
		if k == len(as) {
			f.Trailing = append(f.Trailing, c)
			continue
		}
		a := as[k]
		switch a.kind {
		case 0:
			a.b.Lead = append(a.b.Lead, c)
		case 1:
			a.s.Lead = append(a.s.Lead, c)
		case 2:
			a.b.EndComments = append(a.b.EndComments, c)
		}
	}
	for _, b := range f.Blocks {
		if b.KindRange.IsValid() {
			b.BlankBefore = p.blankLine(b.KindRange.Start.Line - 1)
		}
		for _, s := range b.Stmts {
			if s.Range.IsValid() {
				s.BlankBefore = p.blankLine(s.Range.Start.Line - 1)
			}
		}
	}
}

func (p *parser) blankLine(n int) bool {
	return n >= 1 && n <= p.tf.LineCount() && strings.TrimSpace(p.tf.Line(n)) == ""
}

// normalize clears blank-line flags the printer does not honour, so that
// Parse(Print(Parse(src))) equals Parse(src): the first line inside a block, and the
// first line of each top-level block group (the printer always separates blocks
// with one blank line).
func normalize(f *File) {
	for _, b := range f.Blocks {
		if len(b.Lead) > 0 {
			b.Lead[0].BlankBefore = false
		} else {
			b.BlankBefore = false
		}
		first := true
		for _, s := range b.Stmts {
			if len(s.Lead) > 0 {
				if first {
					s.Lead[0].BlankBefore = false
				}
			} else if first {
				s.BlankBefore = false
			}
			first = false
		}
		if first && len(b.EndComments) > 0 {
			b.EndComments[0].BlankBefore = false
		}
	}
	if len(f.Blocks) == 0 && len(f.Trailing) > 0 {
		f.Trailing[0].BlankBefore = false
	}
}
