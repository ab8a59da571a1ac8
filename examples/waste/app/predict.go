package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("predict", "classify image files or folders with a checkpoint", cmdPredict)
}

// Prediction is one image's result.
type Prediction struct {
	File        string             `json:"file"`
	Class       string             `json:"class"`
	Probability float64            `json:"probability"`
	All         map[string]float64 `json:"probabilities"`
	Error       string             `json:"error,omitempty"`
}

func cmdPredict(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "predict", "predict [flags] image-or-folder...")
	ckpt := fs.String("checkpoint", "runs/train/best.safetensors", "checkpoint to classify with")
	asJSON := fs.Bool("json", false, "print JSON (one array) instead of text lines")
	top := fs.Int("top", 3, "classes to print per image in text mode")
	batch := fs.Int("batch", 16, "images per batch")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("predict: name image files or folders (see waste predict -h)")
	}
	if *batch < 1 || *top < 1 {
		return fmt.Errorf("predict: -batch and -top must be positive")
	}
	m, spec, err := loadModel(*ckpt, nil)
	if err != nil {
		return err
	}
	var files []string
	for _, a := range fs.Args() {
		st, err := os.Stat(a)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		f, err := data.NewUnlabeledFolder(a, data.FolderOptions{})
		if err != nil {
			return err
		}
		files = append(files, f.Files...)
	}
	preds := predictFiles(ctx, m, spec, files, *batch)
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(preds)
	}
	for _, p := range preds {
		if p.Error != "" {
			fmt.Fprintf(env.Stdout, "%s\terror: %s\n", p.File, p.Error)
			continue
		}
		type cp struct {
			c string
			p float64
		}
		var all []cp
		for c, v := range p.All {
			all = append(all, cp{c, v})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].p > all[j].p || all[i].p == all[j].p && all[i].c < all[j].c })
		fmt.Fprintf(env.Stdout, "%s", filepath.Clean(p.File))
		for _, x := range all[:min(*top, len(all))] {
			fmt.Fprintf(env.Stdout, "\t%s %.3f", x.c, x.p)
		}
		fmt.Fprintln(env.Stdout)
	}
	return nil
}

// predictFiles classifies files in batches; unreadable files get an Error
// instead of stopping the others.
func predictFiles(ctx context.Context, m layers.Layer, spec ModelSpec, files []string, batch int) []Prediction {
	out := predictImages(ctx, m, spec, len(files), batch, func(i int) (*augment.Image, error) { return augment.DecodeFile(files[i]) })
	for i := range out {
		out[i].File = files[i]
	}
	return out
}

// predictImages classifies n images, batch at a time, through the
// model's evaluation pipeline; load(i) gives image i. An image that cannot
// be loaded or preprocessed gets an Error instead of stopping the others.
func predictImages(ctx context.Context, m layers.Layer, spec ModelSpec, n, batch int, load func(i int) (*augment.Image, error)) []Prediction {
	task := &train.Classifier{Model: m, Classes: spec.Classes}
	p := Recipe{Model: spec}.evalPipeline()
	out := make([]Prediction, n)
	for lo := 0; lo < n && ctx.Err() == nil; lo += batch {
		var imgs []*augment.Image
		var idx []int
		for i := lo; i < min(lo+batch, n); i++ {
			img, err := load(i)
			if err == nil {
				var s augment.Sample
				s, err = p.Run(rand.New(rand.NewPCG(0, 0)), augment.Sample{Image: img}, nil) // no random step in eval
				img = s.Image
			}
			if err != nil {
				out[i].Error = err.Error()
				continue
			}
			imgs, idx = append(imgs, img), append(idx, i)
		}
		if len(imgs) == 0 {
			continue
		}
		x, err := augment.ToTensor(imgs, p.Normalize)
		if err != nil {
			for _, i := range idx {
				out[i].Error = err.Error()
			}
			continue
		}
		probs := task.Predict(x)
		k := len(spec.Classes)
		for j, i := range idx {
			row := probs.Data()[j*k : (j+1)*k]
			best := train.Argmax(row)
			out[i].Class, out[i].Probability = spec.Classes[best], float64(row[best])
			out[i].All = map[string]float64{}
			for c, v := range row {
				out[i].All[spec.Classes[c]] = float64(v)
			}
		}
		nn.Recycle(probs)
	}
	return out
}
