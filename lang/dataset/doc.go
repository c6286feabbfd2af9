// Package dataset owns loading training data: CSV, NPY, IDX (MNIST layout, gzip
// optional) and the synthetic sets (`planted`, `spiral`), then the transforms of a
// data block (classes, limit, scale, standardize) and the reshape to the model's
// input shape.
//
// Pipeline position: ir.Data (from lang/check, paths already absolute) ──Load──▶
// *Dataset ──▶ compiler. Input: one checked data block and the model's input shape
// (LoadFor: the model itself, whose first convolution and fixed output weights the
// `planted` generator plants its hidden filter in; planted.go, §11 of
// docs/math/11-fixed-output.md; the hidden filter comes back in Dataset.Teacher).
// Output: a Dataset (X n × prod(shape) row-major (C, H, W), Y n × C) plus the Stats
// that carry train-set state (standardisation, one-hot class order) to the test set.
// Problems are lang/diag diagnostics (codes F01xx, warnings W01xx, listed in
// codes.go) whose Range points at the data statement and whose summary names the
// file and the place in it (line and field, byte offset, item index).
//
// # Order of operations
//
//  1. read the source (CSV, NPY, IDX or a generator) into raw samples and targets;
//  2. check the per-sample size against the model's input shape;
//  3. `classes A B`: keep rows whose label is A or B, target −1 for A, +1 for B;
//     `classes all`: keep every row, target the one-hot vector of its class, the
//     classes being every label of the file in ascending order (for a test set:
//     the train set's, from Stats); `classes A B C …` (three or more): keep rows
//     whose label is listed, target the one-hot vector over the listed classes in
//     the listed order;
//  4. `limit N`: keep the first N rows that survived step 3;
//  5. `scale F`: multiply every feature by F;
//  6. `standardize`: x_j ← (x_j − μ_j)/σ_j with μ_j, σ_j the mean and the population
//     standard deviation (divide by n) of feature j on the train set; a constant
//     feature (σ_j ≤ 1e-12·max(1, |μ_j|)) gets σ_j = 1, so it becomes 0, never NaN;
//  7. reshape: Shape becomes the model's input shape (row-major (C, H, W)); X is
//     unchanged, since the features are already in that order.
//
// Rows are selected before features are converted to float64, so loading the first
// 500 T-shirt/ankle-boot images of Fashion-MNIST converts 500 images, not 60000.
//
// # Bounded work on bad input
//
// No size read from a file is trusted: IDX and NPY headers are checked against the
// file size before anything is allocated, a gzip stream is read through a limit of
// the declared size + 1 bytes (and a declared size beyond what deflate can expand the
// file to is refused at once), and no source may produce more than MaxElements
// scalars. Bad input returns diagnostics; it never panics or hangs.
package dataset
