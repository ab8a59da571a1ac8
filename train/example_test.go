package train_test

import (
	"encoding/json"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/optim"
	"github.com/sortnet/sortnet/train"
)

func ExampleConfusionMatrix() {
	classes := []string{"bio", "glass", "paper"}
	cm := train.NewConfusionMatrix(classes)
	// One batch of logits [N, K] and its labels...
	logits := nn.FromData([]float32{
		2, 0, 0, // bio
		0, 3, 1, // glass
		0, 1, 2, // paper
		1, 2, 0, // glass, but truly bio
		0, 0, 1, // paper
	}, 5, 3)
	cm.AddLogits(logits, []int{0, 1, 2, 0, 2})
	// ...or single (true, predicted) pairs.
	cm.Add(1, 2)

	fmt.Printf("accuracy %.3f, balanced %.3f, macro-F1 %.3f\n", cm.Accuracy(), cm.BalancedAccuracy(), cm.MacroF1())
	fmt.Print(cm.Report(2))
	// Output:
	// accuracy 0.667, balanced 0.667, macro-F1 0.656
	//                    precision    recall  f1-score   support
	//
	//               bio       1.00      0.50      0.67         2
	//             glass       0.50      0.50      0.50         2
	//             paper       0.67      1.00      0.80         2
	//
	//          accuracy                           0.67         6
	//         macro avg       0.72      0.67      0.66         6
	//      weighted avg       0.72      0.67      0.66         6
	// balanced accuracy                           0.67         6
}

func ExampleSaveCheckpoint() {
	dir, err := os.MkdirTemp("", "ckpt")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "last.safetensors")

	// The run: a model, its optimizer and the random source of its data.
	newRun := func(seed uint64) (train.State, *rand.PCG) {
		data := rand.NewPCG(seed, 1)
		model := layers.NewSequential(layers.NewLinear(4, 3, rand.New(rand.NewPCG(seed, 2))))
		opt, err := optim.NewAdam(layers.Params(model), optim.AdamConfig{LR: 1e-3})
		if err != nil {
			log.Fatal(err)
		}
		return train.State{Model: model, Optimizer: opt, RNGs: map[string]train.RNG{"data": data}}, data
	}

	s, data := newRun(1)
	data.Uint64() // ... training ...
	meta := train.Meta{Epoch: 3, Step: 300, BestMetric: 0.82, Metric: train.BalancedAccuracy.String(),
		Config: json.RawMessage(`{"variant":"b0","lr":0.001}`)}
	if err := train.SaveCheckpoint(path, s, meta); err != nil {
		log.Fatal(err)
	}
	next := data.Uint64()

	// Later, in a new process: build the same run and load it.
	s2, data2 := newRun(42)
	got, err := train.LoadCheckpoint(path, s2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("epoch %d, step %d, best %s %.2f, config %s\n", got.Epoch, got.Step, got.Metric, got.BestMetric, got.Config)
	fmt.Println("data stream continues:", data2.Uint64() == next)
	// Output:
	// epoch 3, step 300, best balanced_accuracy 0.82, config {"variant":"b0","lr":0.001}
	// data stream continues: true
}

func ExampleMetricsLog() {
	dir, err := os.MkdirTemp("", "log")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "metrics.jsonl")

	l, err := train.OpenMetricsLog(path)
	if err != nil {
		log.Fatal(err)
	}
	for epoch := 1; epoch <= 2; epoch++ {
		err := l.Write(train.Record{Kind: "epoch", Epoch: epoch, Step: 100 * epoch,
			Values: map[string]float64{"loss": 1 / float64(epoch), "val_acc": 0.5 + 0.1*float64(epoch)}})
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}
	recs, err := train.ReadMetricsLog(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Printf("%s %d: loss %.2f, val_acc %.2f\n", r.Kind, r.Epoch, r.Values["loss"], r.Values["val_acc"])
	}
	// Output:
	// epoch 1: loss 1.00, val_acc 0.60
	// epoch 2: loss 0.50, val_acc 0.70
}

func ExampleProgress() {
	// Lines mode, as when the output is a file or a pipe.
	p := train.NewProgress(train.ProgressConfig{Out: os.Stdout, Mode: train.ProgressLines})
	task := p.Start("epoch 1/20", 64)
	for range 4 {
		task.Add(16, 0.5, 12) // batch size, mean loss, correct
	}
	s := task.Done() // writes the epoch's summary line
	fmt.Printf("mean loss %.2f, accuracy %.2f\n", s.Loss, s.Accuracy)
}

func ExamplePlotConfusion() {
	cm, err := train.ConfusionFromLabels([]string{"bio", "glass", "paper"},
		[]int{0, 0, 1, 1, 2, 2, 2}, []int{0, 1, 1, 1, 2, 2, 0})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "plots")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := train.PlotConfusion(filepath.Join(dir, "confusion.png"), cm, train.PlotOptions{Normalize: true}); err != nil {
		log.Fatal(err)
	}
	if err := train.PlotPerClass(filepath.Join(dir, "per_class.png"), cm, train.PlotOptions{}); err != nil {
		log.Fatal(err)
	}
	hist := []train.EpochMetrics{{Epoch: 1, TrainLoss: 1.2, TrainAcc: 0.5, ValLoss: 1.1, ValAcc: 0.55}}
	if err := train.PlotHistory(filepath.Join(dir, "history.png"), hist, train.PlotOptions{}); err != nil {
		log.Fatal(err)
	}
}
