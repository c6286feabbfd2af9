package derive

// OutputSlots is the number of output weights per hidden unit in the recovered
// network: the pooled positions a of a matched conv model (1 for global pooling, the
// windows of avgpool/maxpool K, every conv output position without pooling), computed
// from the model's shapes alone exactly as the CNN recoveries do, and 1 for models
// without a convolution (the FC rules). Exporters use it to describe the recovery
// (cmd/cnnc's CVXPY recipe).
func OutputSlots(in *Input) (int, error) {
	if in == nil || in.Model == nil {
		return 0, errNoModel
	}
	a := parseArch(in.Model)
	if a.conv == nil {
		return 1, nil
	}
	n, ds := prepareShape(in, a)
	if ds.HasErrors() {
		return 0, ds
	}
	return n, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errNoModel = constErr("no model")

// NuclearRankTol is the §7.2 recovery's rank threshold: singular values
// σ_t ≤ NuclearRankTol·σ_max of Z are treated as zero.
const NuclearRankTol = nuclearRankTol
