package network

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/cnnc-org/cnnc/lang/ir"
)

// Objective evaluates the non-convex training objective of w on (X, Y) on the
// docs/language.md scale (see the package doc): obj = loss + penalty with the loss summed
// over samples and outputs (½ for squared loss) and penalty = (β/2)·Σ_T P(T).
// Y is n × out, ±1 targets for hinge and logistic. m may be nil (see Forward).
func Objective(m *ir.Model, w *Weights, X, Y *mat.Dense) (obj, loss, penalty float64, err error) {
	obj, loss, penalty, _, err = ObjectivePrediction(m, w, X, Y)
	return obj, loss, penalty, err
}

// ObjectivePrediction is Objective that also returns the predictions ŷ = Forward(X)
// it evaluated the loss at (for a caller that needs both: one forward pass).
func ObjectivePrediction(m *ir.Model, w *Weights, X, Y *mat.Dense) (obj, loss, penalty float64, yhat *mat.Dense, err error) {
	if w == nil || X == nil || Y == nil {
		return 0, 0, 0, nil, fmt.Errorf("objective: nil weights or data")
	}
	if m != nil {
		if err := w.CheckModel(m); err != nil {
			return 0, 0, 0, nil, err
		}
	}
	p, err := w.compile()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	yhat, err = p.forward(X)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	if loss, err = Loss(w.Loss, yhat, Y); err != nil {
		return 0, 0, 0, nil, err
	}
	for _, t := range p.penalties {
		penalty += penaltyValue(t.kind, t.shape, t.data, t.groups)
	}
	penalty *= w.Beta / 2
	if p.reg != nil {
		penalty += w.Beta * p.reg.value() // the network-level regulariser (branches.go)
	}
	return loss + penalty, loss, penalty, yhat, nil
}

// Loss is the summed loss of predictions yhat against targets Y (both n × out):
// squared ½Σ(ŷ−y)², hinge Σ max(0, 1−y·ŷ), logistic Σ log(1+e^{−y·ŷ}) computed as
// max(−z,0) + log1p(e^{−|z|}), z = y·ŷ (no overflow), cross_entropy (softmax over each
// row) Σ_i Σ_k −y_ik log softmax(ŷ_i)_k = Σ_i (Σ_k y_ik)·logΣ_k e^{ŷ_ik} − Σ_k y_ik ŷ_ik,
// the log-sum-exp shifted by the row maximum. "" means squared.
func Loss(kind string, yhat, Y *mat.Dense) (float64, error) {
	n, c := yhat.Dims()
	if r, k := Y.Dims(); r != n || k != c {
		return 0, fmt.Errorf("loss: predictions are %d×%d, targets %d×%d", n, c, r, k)
	}
	if kind == ir.CrossEntropy {
		s := 0.0
		for i := 0; i < n; i++ {
			pr, yr := yhat.RawRowView(i), Y.RawRowView(i)
			m := math.Inf(-1)
			for _, v := range pr {
				m = math.Max(m, v)
			}
			e, ys := 0.0, 0.0
			for k, v := range pr {
				e += math.Exp(v - m)
				ys += yr[k]
				s -= yr[k] * v
			}
			s += ys * (m + math.Log(e))
		}
		return s, nil
	}
	var f func(p, y float64) float64
	switch kind {
	case "", ir.Squared:
		f = func(p, y float64) float64 { return 0.5 * (p - y) * (p - y) }
	case ir.Hinge:
		f = func(p, y float64) float64 { return math.Max(0, 1-y*p) }
	case ir.Logistic:
		f = func(p, y float64) float64 {
			z := y * p
			return math.Max(-z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
		}
	default:
		return 0, fmt.Errorf("unknown loss %q (want squared, hinge, logistic or cross_entropy)", kind)
	}
	s := 0.0
	for i := 0; i < n; i++ {
		pr, yr := yhat.RawRowView(i), Y.RawRowView(i)
		for k := range pr {
			s += f(pr[k], yr[k])
		}
	}
	return s, nil
}

// penaltyValue is P(T) of the package doc: l2 Σ T², l1sq Σ_g (Σ|T[a,g,r]|)² with T
// viewed as [shape[0], groups, rest], none 0.
func penaltyValue(kind string, shape []int, data []float64, groups int) float64 {
	switch kind {
	case PenaltyL2:
		s := 0.0
		for _, v := range data {
			s += v * v
		}
		return s
	case PenaltyL1Sq:
		if len(shape) < 2 || groups <= 0 || shape[1]%groups != 0 {
			return math.NaN()
		}
		rest := len(data) / (shape[0] * shape[1]) * (shape[1] / groups) // numbers per (row, group)
		s := 0.0
		for g := 0; g < groups; g++ {
			a1 := 0.0
			for a := 0; a < shape[0]; a++ {
				blk := data[(a*groups+g)*rest : (a*groups+g+1)*rest]
				for _, v := range blk {
					a1 += math.Abs(v)
				}
			}
			s += a1 * a1
		}
		return s
	}
	return 0
}

// Predict runs the network (Forward) and also returns the predicted class of each
// sample: for one output, +1 when ŷ > 0 and −1 otherwise; for several outputs, the
// index of the largest (first on ties).
func Predict(m *ir.Model, w *Weights, X *mat.Dense) (yhat *mat.Dense, class []int, err error) {
	yhat, err = Forward(m, w, X)
	if err != nil {
		return nil, nil, err
	}
	n, _ := yhat.Dims()
	class = make([]int, n)
	for i := range class {
		class[i] = classOf(yhat.RawRowView(i))
	}
	return yhat, class, nil
}

func classOf(row []float64) int {
	if len(row) == 1 {
		if row[0] > 0 {
			return 1
		}
		return -1
	}
	best := 0
	for k, v := range row {
		if v > row[best] {
			best = k
		}
	}
	return best
}

// Accuracy is the fraction of samples whose predicted class (as in Predict) equals
// the target's: the sign for a single ±1 column, the argmax for one-hot rows.
func Accuracy(yhat, Y *mat.Dense) (float64, error) {
	n, c := yhat.Dims()
	if r, k := Y.Dims(); r != n || k != c {
		return 0, fmt.Errorf("accuracy: predictions are %d×%d, targets %d×%d", n, c, r, k)
	}
	hit := 0
	for i := 0; i < n; i++ {
		if classOf(yhat.RawRowView(i)) == classOf(Y.RawRowView(i)) {
			hit++
		}
	}
	return float64(hit) / float64(n), nil
}

// Confusion is the confusion matrix of predictions against one-hot (or ±1) targets:
// M[a][b] counts the samples of true class a predicted as class b, classes indexed as
// in Predict (argmax column; for one ±1 column index 0 is −1 and 1 is +1).
func Confusion(yhat, Y *mat.Dense) ([][]int, error) {
	n, c := yhat.Dims()
	if r, k := Y.Dims(); r != n || k != c {
		return nil, fmt.Errorf("confusion: predictions are %d×%d, targets %d×%d", n, c, r, k)
	}
	size := c
	idx := func(row []float64) int { return classOf(row) }
	if c == 1 {
		size = 2
		idx = func(row []float64) int {
			if classOf(row) > 0 {
				return 1
			}
			return 0
		}
	}
	M := make([][]int, size)
	for a := range M {
		M[a] = make([]int, size)
	}
	for i := 0; i < n; i++ {
		M[idx(Y.RawRowView(i))][idx(yhat.RawRowView(i))]++
	}
	return M, nil
}
