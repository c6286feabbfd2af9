package dataset

// Diagnostic codes of this package. Errors are F01xx, warnings W01xx. Each
// diagnostic's Range is the data statement (the source statement for file
// problems, the data block for transforms); its summary names the file and the
// place in it.
const (
	CodeRead        = "F0101" // the file cannot be opened or read (missing, a directory, permissions, I/O error)
	CodeEmpty       = "F0102" // the file is empty, or holds no samples
	CodeCSVCell     = "F0103" // a CSV cell is not a number, or the CSV is malformed
	CodeCSVRagged   = "F0104" // a CSV row has a different number of fields than the first
	CodeCSVLabel    = "F0105" // the CSV label column does not exist
	CodeNonFinite   = "F0106" // a NaN or ±Inf value in the features or targets
	CodeNPYHeader   = "F0107" // not an NPY file, or its header cannot be parsed
	CodeNPYDtype    = "F0108" // an NPY dtype this loader does not read
	CodeNPYOrder    = "F0109" // an NPY array in Fortran order
	CodeSize        = "F0110" // data size disagrees with the header (truncated, trailing bytes, too large)
	CodeIDXMagic    = "F0111" // not an IDX file (bad magic number or type code)
	CodeGzip        = "F0112" // a corrupt or truncated gzip stream
	CodeCount       = "F0113" // the number of labels differs from the number of samples
	CodeTargetShape = "F0114" // targets of an unusable shape (e.g. y with 3 dimensions)
	CodeShape       = "F0120" // sample size differs from the model's input shape
	CodeClassAbsent = "F0121" // a class named by `classes` has no sample (or a test label unknown to train)
	CodeNotClasses  = "F0122" // `classes` on targets that are not integer class labels
	CodeLimit       = "F0123" // `limit` negative (0 in ir.Data means no limit)
	CodeNoSamples   = "F0124" // no sample left after filtering (defensive: classes and limit as checked cannot empty a set)
	CodeScale       = "F0125" // `scale` is not a finite number
	CodeStats       = "F0126" // train statistics do not fit this data set (feature count)
	CodeGenerator   = "F0130" // unknown synthetic generator
	CodeGenParam    = "F0131" // bad or unknown synthetic parameter
	CodeTooLarge    = "F0209" // the data do not fit the memory budget (package budget; same code as every stage)
	CodeStopped     = "F0210" // reading was interrupted or hit the time limit

	CodeDegenerate  = "W0101" // all targets are equal: the training problem is degenerate
	CodeStandardize = "W0102" // train and test disagree about `standardize`
)
