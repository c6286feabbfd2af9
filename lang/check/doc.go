// Package check owns the meaning of .cnn files: it turns the AST of lang/syntax into
// the typed network IR of lang/ir, validating every block, statement, key and value
// against docs/language.md, inferring each layer's output shape, resolving
// `use std.NAME` references to the standard library (package stdlib), resolving data
// paths against the .cnn file's folder, and filling the defaults of the train block.
//
// Input: *syntax.File (or a path, for LoadFile). Output: *ir.File and a diag.List.
// Pipeline position: AST ──Check──▶ ir.File ──compiler/derive──▶ convex program.
// Checking never stops at the first problem: every independent error is reported,
// and an error in one layer stops shape inference for the rest of that model only
// (no cascades).
//
// Shape rules (docs/language.md "Layers"): with input length L, kernel K, stride S
// and padding P per spatial dimension, conv gives ⌊(L + 2P − K)/S⌋ + 1 and needs
// K ≤ L + 2P; a pooling window K with stride S (default S = K) gives
// ⌊(L − K)/S⌋ + 1 and needs K ≤ L; circconv keeps the spatial size; global pooling
// gives one value per channel; flatten and linear flatten row-major over (C, H, W).
// A width chosen by the program (`filters=auto`, `linear auto`) is ir.Auto (0) in
// Layer.Width and in the channel entry Out[0] of the shapes that follow.
//
// Parallel branches (`branches=auto|K` on linear, conv and circconv): the width (filters) is
// per branch, the output has K·width features (channels), auto when K is; consecutive
// branched layers (only relu or gated between them) form one run and must agree on K;
// the output layer has no branches (it sums them).
//
// Diagnostic codes:
//
//	C0100 file cannot be read
//	C0101 unknown block kind              C0201 unknown layer kind
//	C0102 bad block header                C0202 model does not start with input
//	C0103 duplicate model/data name       C0203 input after the first layer / twice
//	C0104 file has no model               C0204 bad input shape
//	C0105 more than one train block       C0205 layer needs a CxL or CxHxW input
//	C0106 train must name its model       C0206 kernel larger than the padded input
//	C0107 train names an unknown model    C0207 pooling window does not fit
//	C0110 unknown key                     C0208 kernel/stride rank ≠ input rank
//	C0111 duplicate key                   C0209 output layer is not `linear N`
//	C0112 wrong number of values          C0211 unknown standard-library model
//	C0113 value of the wrong type         C0212 misplaced `use`
//	C0114 value out of range              C0220 bad `branches=` (width auto, fixed=)
//	C0115 positional value after key=value C0221 branched layers disagree on K
//	C0116 statement given twice           C0222 output layer with branches
//
//	C0301 unknown data statement          C0401 unknown train statement
//	C0302 data block without a source     C0402 unknown loss
//	C0303 more than one source            C0403 beta not positive
//	C0304 data file not found             C0404 unknown patterns mode
//	C0305 images without labels (or v.v.) C0405 bad solver or setting
//	C0306 unknown synthetic generator     C0406 bad noise budget
//	                                      C0410 unknown regularizer
//	C0307 bad classes statement           W0101 data block that is never used
//	C0308 bad --data override
package check
