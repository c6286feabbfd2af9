package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cnnc-org/cnnc"
	"github.com/cnnc-org/cnnc/lang/dataset"
	"github.com/cnnc-org/cnnc/lang/diag"
)

// predictOptions are the flags of `cnnc predict`.
type predictOptions struct {
	weights string
	set     string
	data    string
	csv     bool
}

func init() {
	register(func(e *env) *cobra.Command {
		o := &predictOptions{}
		cmd := &cobra.Command{
			Use:   "predict FILE --weights W [--set train|test | --data D] [--json | --csv]",
			Short: "Run a recovered network on data; print predictions, and loss/accuracy when labels exist",
			Long: `Run the network in weights.json on data and print one line per sample: its index,
the predicted label (classification: the user's class labels) and the network's
output(s). Regression models print the output values only.

The data are the file's training set (default), its test set (--set test), or new
data (--data D). New data are preprocessed as the training data were, from what
weights.json records (scale, the training set's standardisation statistics, the
class mapping): D takes the forms of the data block's sources,
  FILE.csv[,header=true][,label=last|first|none|COLUMN]   (label=none: no targets)
  X.npy[,y.npy]   IMAGES[,LABELS]   synthetic:NAME[,key=value...]
each optionally followed by ,limit=N. Without targets only predictions are printed.
With targets a final comment line gives the loss on the objective's scale (summed,
½ for the squared loss) and, for classes, the accuracy.

--csv prints a CSV table (summary on stderr); --json one JSON document.`,
			Example: "  cnnc predict examples/quickstart.cnn --weights examples/quickstart.out/weights.json --set test\n" +
				"  cnnc predict examples/quickstart.cnn --weights examples/quickstart.out/weights.json --data new.csv,label=none --csv",
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runPredict(e, o, args[0])
			},
		}
		cmd.Flags().StringVar(&o.weights, "weights", "", "weights.json to run (required)")
		cmd.Flags().StringVar(&o.data, "data", "", "new data to predict on, preprocessed as the training data were (forms above)")
		cmd.Flags().StringVar(&o.set, "set", "train", "which data block to use without --data: train or test")
		cmd.Flags().BoolVar(&o.csv, "csv", false, "print a CSV table (index, label, outputs) instead of text")
		addJSON(cmd, e, "print one JSON document (predictions, loss, accuracy, diagnostics)")
		addDeprecatedFormat(cmd, e, "diagnostics")
		return cmd
	})
}

// predictDoc is predict's --json document.
type predictDoc struct {
	Model       string       `json:"model"`
	Data        string       `json:"data"` // "train", "test" or the --data source
	Source      string       `json:"source"`
	Task        string       `json:"task"`
	Samples     int          `json:"samples"`
	Outputs     int          `json:"outputs"`
	Predictions []prediction `json:"predictions"`
	Loss        *float64     `json:"loss"`
	Accuracy    *float64     `json:"accuracy"`
	Diagnostics diag.List    `json:"diagnostics"`
}

type prediction struct {
	Index  int       `json:"index"`
	Label  *float64  `json:"label,omitempty"`
	Output []float64 `json:"output"`
}

func runPredict(e *env, o *predictOptions, path string) error {
	if o.weights == "" {
		return usageErr("predict needs --weights W")
	}
	if o.set != "train" && o.set != "test" {
		return usageErr("unknown --set %q (want train or test)", o.set)
	}
	if o.csv && e.json {
		return usageErr("--csv and --json exclude each other")
	}
	p, err := prepare(e, path, dataFlags{}, false)
	if err != nil {
		return err
	}
	w, err := p.ReadWeights(o.weights)
	if err != nil {
		return withCode(exitError, err)
	}
	var ds *dataset.Dataset
	name := o.set
	switch {
	case o.data != "":
		name = o.data
		ds, err = p.LoadNew(o.data, w)
		if err := p.done(err); err != nil {
			return err
		}
	default:
		if err := p.loadData(); err != nil {
			return err
		}
		ds = p.Data
		if o.set == "test" {
			if p.Test == nil {
				return withCode(exitError, fmt.Errorf("%s has no `data test` block", path))
			}
			ds = p.Test
		}
	}
	pr, err := cnnc.Predict(p.Model, w, ds)
	if err != nil {
		return withCode(exitError, err)
	}
	n, c := pr.Outputs.Dims()
	where := name + " set"
	if o.data != "" {
		where = "--data " + o.data
	}
	summary := fmt.Sprintf("%s: %d samples", where, n)
	if pr.Loss != nil {
		summary += fmt.Sprintf(", %s loss %.10g", w.Loss, *pr.Loss)
	}
	if pr.Accuracy != nil {
		summary += fmt.Sprintf(", accuracy %.4f", *pr.Accuracy)
	}
	switch {
	case e.json:
		doc := predictDoc{Model: p.Model.Name, Data: name, Source: ds.Source, Task: pr.Task, Samples: n, Outputs: c,
			Predictions: make([]prediction, n), Loss: pr.Loss, Accuracy: pr.Accuracy, Diagnostics: e.diagnostics()}
		for i := range doc.Predictions {
			q := prediction{Index: i, Output: append([]float64(nil), pr.Outputs.RawRowView(i)...)}
			if pr.Labels != nil {
				q.Label = &pr.Labels[i]
			}
			doc.Predictions[i] = q
		}
		return e.writeJSON(doc)
	case o.csv:
		if err := writePredictionsCSV(e.stdout, pr); err != nil {
			return withCode(exitError, err)
		}
		fmt.Fprintf(e.stderr, "# %s\n", summary)
	default:
		fmt.Fprintf(e.stdout, "# %s\n", columnNames(pr, "\t"))
		for i := 0; i < n; i++ {
			fmt.Fprintf(e.stdout, "%d", i)
			if pr.Labels != nil {
				fmt.Fprintf(e.stdout, "\t%s", fmtLabel(pr.Labels[i]))
			}
			for k := 0; k < c; k++ {
				fmt.Fprintf(e.stdout, "\t%.10g", pr.Outputs.At(i, k))
			}
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintf(e.stdout, "# %s\n", summary)
	}
	return nil
}

// columnNames are the column titles: index, label (classification), outputs.
func columnNames(pr *cnnc.Predictions, sep string) string {
	_, c := pr.Outputs.Dims()
	s := "index"
	if pr.Labels != nil {
		s += sep + "label"
	}
	if c == 1 {
		return s + sep + "output"
	}
	for k := 0; k < c; k++ {
		s += sep + "output_" + strconv.Itoa(k)
	}
	return s
}

func fmtLabel(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func writePredictionsCSV(out io.Writer, pr *cnnc.Predictions) error {
	w := csv.NewWriter(out)
	n, c := pr.Outputs.Dims()
	head := []string{"index"}
	if pr.Labels != nil {
		head = append(head, "label")
	}
	if c == 1 {
		head = append(head, "output")
	} else {
		for k := 0; k < c; k++ {
			head = append(head, "output_"+strconv.Itoa(k))
		}
	}
	w.Write(head)
	for i := 0; i < n; i++ {
		row := []string{strconv.Itoa(i)}
		if pr.Labels != nil {
			row = append(row, fmtLabel(pr.Labels[i]))
		}
		for k := 0; k < c; k++ {
			row = append(row, strconv.FormatFloat(pr.Outputs.At(i, k), 'g', -1, 64))
		}
		w.Write(row)
	}
	w.Flush()
	return w.Error()
}
