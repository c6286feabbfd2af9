// Package syntax owns the concrete syntax of .cnn files: the lexer, the participle
// grammar, the AST with a source range on every node (start and end), the
// comment-preserving canonical printer, and syntax diagnostics (S… codes).
//
// Input: a file name and its bytes. Output: *File (the AST) and a diag.List.
// Pipeline position: .cnn source ──Parse──▶ AST ──lang/check.Check──▶ ir.File.
//
// The grammar is deliberately permissive (docs/language.md, "Statements"): a block
// is `KIND value* (key=value)* { … }` and a statement is
// `keyword value* (key=value)*` with any keyword and any key, so that the checker,
// not the parser, rejects unknown names with precise did-you-mean diagnostics.
//
// Error recovery: the whole file is first parsed with the participle grammar of
// File. If that fails, the token stream is cut into units (block headers and
// one statement per line, delimited by newlines and braces) and each unit is parsed
// with the participle grammar of that unit alone, so every independent syntax
// error is reported in one run and the rest of the file still yields an AST.
//
// Syntax diagnostic codes:
//
//	S0101 invalid character          S0201 unexpected token in a statement or header
//	S0102 unterminated string        S0202 block header without `{`
//	S0103 invalid escape in string   S0203 block without closing `}`
//	                                 S0204 `}` without an open block
//	                                 S0205 statement outside a block
//	                                 S0206 lists nested too deep (MaxListDepth)
//	                                 S0207 too many syntax errors (MaxSyntaxErrors)
//
// Limits: lists nest at most MaxListDepth deep, parsing stops after
// MaxSyntaxErrors errors, and a UTF-8 byte order mark at the start is skipped; the
// number of lines is not limited.
package syntax
