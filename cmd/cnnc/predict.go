package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc/compiler/network"
)

// predictOptions are the flags of `cnnc predict`.
type predictOptions struct {
	dataFlags
	weights string
	set     string
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &predictOptions{}
		cmd := &cobra.Command{
			Use:   "predict FILE --weights W [--data D]",
			Short: "Run a recovered network on data; print predictions, and loss/accuracy when labels exist",
			Long: `Run the network in weights.json on the file's data (the train set, the test set
with --set test, or any data given with --data) and print one line per sample:
index, prediction(s) and predicted class — the data's own class label (with
` + "`classes`" + `: the label whose one-hot column, or ±1 side, wins), else the column index.
A final comment line gives the loss on the language.md scale (summed, ½ for squared
loss) and the accuracy for class targets.`,
			Example: "  cnnc predict examples/quickstart.cnn --weights examples/quickstart.out/weights.json --set test",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runPredict(e, o, args[0])
			},
		}
		cmd.Flags().StringVar(&o.weights, "weights", "", "weights.json to run (required)")
		cmd.Flags().StringVar(&o.data, "data", "", "data to predict on (replaces the data train source; same forms as in check --data)")
		cmd.Flags().StringVar(&o.set, "set", "train", "which data block to use: train or test")
		cmd.Flags().StringVar(&o.format, "diagnostics", formatText, "diagnostic format: text (stderr) or json (stdout)")
		return cmd
	})
}

func runPredict(e *env, o *predictOptions, path string) error {
	if o.weights == "" {
		return usageErr("predict needs --weights W")
	}
	if o.set != "train" && o.set != "test" {
		return usageErr("unknown --set %q (want train or test)", o.set)
	}
	p, err := prepare(e, path, o.dataFlags, true)
	if err != nil {
		return err
	}
	ds := p.train
	if o.set == "test" {
		if p.test == nil {
			return withCode(exitError, fmt.Errorf("%s has no `data test` block", path))
		}
		ds = p.test
	}
	w, err := network.ReadFile(o.weights)
	if err != nil {
		return withCode(exitError, err)
	}
	if err := w.CheckModel(p.model); err != nil {
		return withCode(exitError, fmt.Errorf("%s does not fit model %s: %v", o.weights, p.model.Name, err))
	}
	yhat, class, err := network.Predict(p.model, w, ds.X)
	if err != nil {
		return withCode(exitError, err)
	}
	n, c := yhat.Dims()
	for i := 0; i < n; i++ {
		fmt.Fprintf(e.stdout, "%d", i)
		for k := 0; k < c; k++ {
			fmt.Fprintf(e.stdout, "\t%.10g", yhat.At(i, k))
		}
		fmt.Fprintf(e.stdout, "\t%s\n", classLabel(ds, c, class[i]))
	}
	loss, err := network.Loss(w.Loss, yhat, ds.Y)
	if err != nil {
		return withCode(exitError, err)
	}
	fmt.Fprintf(e.stdout, "# %s set: %d samples, %s loss %.10g", o.set, n, w.Loss, loss)
	if ds.Classification {
		if acc, err := network.Accuracy(yhat, ds.Y); err == nil {
			fmt.Fprintf(e.stdout, ", accuracy %.4f", acc)
		}
	}
	fmt.Fprintln(e.stdout)
	return nil
}
