package litter_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sortnet/sortnet/examples/waste/litter"
)

func Example() {
	cfg := litter.Config{Seed: 1, Train: 1000, Val: 200, Test: 300, Pool: 400, Size: 64, LabelNoise: 0.03}
	if err := cfg.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("train per class:", litter.ClassCounts(litter.Train, cfg.Train))
	fmt.Println("pool per class: ", litter.ClassCounts(litter.Pool, cfg.Pool))

	s, err := litter.Crop(cfg, litter.Train, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Image.Bounds().Size(), litter.Classes[s.True])

	p, _ := litter.Crop(cfg, litter.Pool, 0)
	fmt.Println("pool label:", p.Label, "hidden truth:", litter.Classes[p.True])
	// Output:
	// train per class: [42 7 109 457 132 23 76 154]
	// pool per class:  [0 0 24 200 48 16 24 88]
	// (64,64) unknown
	// pool label: -1 hidden truth: metals_and_plastic
}

func ExampleScene() {
	cfg := litter.Config{Seed: 1, SceneTrain: 10}
	s, err := litter.Scene(cfg, litter.Train, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Image.Bounds().Size())
	for _, o := range s.Objects {
		fmt.Printf("%s %.0f\n", litter.Classes[o.True], o.Box)
	}
	// Output:
	// (512,384)
	// metals_and_plastic {177 198 260 299}
	// metals_and_plastic {190 22 216 65}
	// non_recyclable {300 125 374 184}
	// unknown {269 267 320 335}
}

func ExampleWriteImageFolder() {
	dir := filepath.Join(os.TempDir(), "litter-example")
	defer os.RemoveAll(dir)
	cfg := litter.Config{Seed: 1, Train: 40, Val: 10, Test: 10, Pool: 10, Size: 32}
	if err := litter.WriteImageFolder(context.Background(), dir, cfg, nil); err != nil {
		fmt.Println(err)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	classes, _ := os.ReadDir(filepath.Join(dir, "train"))
	fmt.Println(len(classes), "class folders in train")
	// Output:
	// MANIFEST.json
	// labels.csv
	// pool
	// pool_truth.csv
	// test
	// train
	// val
	// 8 class folders in train
}
