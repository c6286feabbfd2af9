package syntax

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// lexDef is the lexer of docs/language.md "Lexical structure". Order matters: a
// shape (3x3) is tried before a number, and the catch-all rules (BadString, Bad)
// make lexing total so that the parser, not the lexer, reports problems.
var lexDef = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `#[^\n]*`},
	{Name: "String", Pattern: `"(\\[^\n]|[^"\\\n])*"`},
	{Name: "BadString", Pattern: `"[^\n]*`},
	{Name: "Shape", Pattern: `[0-9]+(x[0-9]+)+`},
	{Name: "Number", Pattern: `[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?`},
	{Name: "Ident", Pattern: `[A-Za-z_][A-Za-z0-9_.]*`},
	{Name: "Punct", Pattern: `[{}\[\],=]`},
	{Name: "NL", Pattern: `\n`},
	{Name: "WS", Pattern: `[ \t\r\f\v]+`},
	{Name: "Bad", Pattern: `(?s).`},
})

// Grammar. These participle structs are internal; parse.go converts them to the
// public AST. In EBNF:
//
//	File   = { NL | Block } .
//	Block  = Ident { Arg } "{" { NL | Stmt } "}" .
//	Header = Ident { Arg } .                       (recovery unit)
//	Stmt   = Ident { Arg } .
//	Arg    = Ident [ "=" Value ] | Value .
//	Value  = Shape | Number | String | Ident | List .
//	List   = "[" [ Value { "," Value } [ "," ] ] "]" .
type pFile struct {
	Blocks []*pBlock `parser:"( NL | @@ )*"`
}

type pBlock struct {
	Kind   pIdent   `parser:"@@"`
	Args   []*pArg  `parser:"@@*"`
	Open   pPunct   `parser:"@@"`
	Stmts  []*pStmt `parser:"( NL | @@ )*"`
	Close  pClose   `parser:"@@"`
	Tokens []lexer.Token
}

type pHeader struct {
	Kind pIdent  `parser:"@@"`
	Args []*pArg `parser:"@@*"`
}

type pIdent struct {
	V      string `parser:"@Ident"`
	Tokens []lexer.Token
}

type pPunct struct {
	V      string `parser:"@\"{\""`
	Tokens []lexer.Token
}

type pClose struct {
	V      string `parser:"@\"}\""`
	Tokens []lexer.Token
}

type pStmt struct {
	Keyword pIdent  `parser:"@@"`
	Args    []*pArg `parser:"@@*"`
	Tokens  []lexer.Token
}

type pArg struct {
	Name   *string `parser:"(  @Ident"`
	Eq     *pValue `parser:"   ( \"=\" @@ )?"`
	Val    *pValue `parser:"| @@ )"`
	Tokens []lexer.Token
}

type pValue struct {
	Shape  *string `parser:"  @Shape"`
	Number *string `parser:"| @Number"`
	String *string `parser:"| @String"`
	Ident  *string `parser:"| @Ident"`
	List   *pList  `parser:"| @@"`
	Tokens []lexer.Token
}

type pList struct {
	Items  []*pValue `parser:"\"[\" ( @@ ( \",\" @@ )* \",\"? )? \"]\""`
	Tokens []lexer.Token
}

var (
	fileParser   = participle.MustBuild[pFile](participle.Lexer(lexDef))
	headerParser = participle.MustBuild[pHeader](participle.Lexer(lexDef))
	stmtParser   = participle.MustBuild[pStmt](participle.Lexer(lexDef))
)
