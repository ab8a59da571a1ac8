package litter_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/examples/waste/litter"
)

func TestClassesSortedLikeImageFolder(t *testing.T) {
	if !slices.IsSorted(litter.Classes) || len(litter.Classes) != litter.NumClasses {
		t.Fatalf("Classes %v: must be the %d class names in sorted order", litter.Classes, litter.NumClasses)
	}
	if litter.Classes[litter.MetalsAndPlastic] != "metals_and_plastic" || litter.Classes[litter.Unknown] != "unknown" {
		t.Fatalf("class constants do not match Classes")
	}
	sum := 0
	for _, n := range litter.DetectWasteCounts {
		sum += n
	}
	if sum != 16880 {
		t.Fatalf("DetectWasteCounts sum to %d, want 16880", sum)
	}
}

func TestClassCounts(t *testing.T) {
	for _, split := range litter.Splits {
		for _, n := range []int{0, 1, 5, 8, 9, 50, 100, 999, 16880, 100000} {
			c := litter.ClassCounts(split, n)
			sum := 0
			for _, k := range c {
				sum += k
			}
			if sum != n {
				t.Fatalf("%v n=%d: counts %v sum to %d", split, n, c, sum)
			}
			if split == litter.Pool && (c[litter.Bio] != 0 || c[litter.Background] != 0) {
				t.Fatalf("pool n=%d: counts %v include bio or background", n, c)
			}
			nonzero := 0
			for _, w := range weightsOf(split) {
				if w > 0 {
					nonzero++
				}
			}
			for k, w := range weightsOf(split) {
				if w > 0 && n >= nonzero && c[k] == 0 {
					t.Fatalf("%v n=%d: class %s has no sample: %v", split, n, litter.Classes[k], c)
				}
				if want := float64(n) * w; n >= 1000 && math.Abs(float64(c[k])-want) > 1 {
					t.Fatalf("%v n=%d: class %s has %d, proportion says %.1f", split, n, litter.Classes[k], c[k], want)
				}
			}
		}
	}
	// the full-size training split is the detect-waste split itself
	if got := litter.ClassCounts(litter.Train, 16880); !slices.Equal(got, litter.DetectWasteCounts) {
		t.Fatalf("ClassCounts(Train, 16880) = %v, want %v", got, litter.DetectWasteCounts)
	}
}

func weightsOf(s litter.Split) []float64 {
	if s == litter.Pool {
		return litter.PoolWeights
	}
	w := make([]float64, litter.NumClasses)
	for c, n := range litter.DetectWasteCounts {
		w[c] = float64(n) / 16880
	}
	return w
}

func TestLabels(t *testing.T) {
	for _, n := range []int{1, 2, 7, 8, 63, 64, 65, 1000, 16880} {
		cfg := litter.Config{Seed: 3, Train: n, Val: n, Test: n, Pool: n, LabelNoise: 0.1}
		for _, split := range litter.Splits {
			given, truth, err := litter.Labels(cfg, split)
			if err != nil {
				t.Fatal(err)
			}
			hist := make([]int, litter.NumClasses)
			for _, c := range truth {
				hist[c]++
			}
			if want := litter.ClassCounts(split, n); !slices.Equal(hist, want) {
				t.Fatalf("%v n=%d: true labels per class %v, want %v", split, n, hist, want)
			}
			for i := range given {
				switch {
				case split == litter.Pool && given[i] != litter.Unlabeled:
					t.Fatalf("pool sample %d has given label %d", i, given[i])
				case split == litter.Test && given[i] != truth[i]:
					t.Fatalf("test sample %d: given %d, true %d: test labels must be clean", i, given[i], truth[i])
				}
			}
		}
	}
	// label noise: about the configured share, never changing the truth
	cfg := litter.Config{Seed: 5, Train: 20000, LabelNoise: 0.2}
	given, truth, _ := litter.Labels(cfg, litter.Train)
	_, truth0, _ := litter.Labels(litter.Config{Seed: 5, Train: 20000}, litter.Train)
	if !slices.Equal(truth, truth0) {
		t.Fatal("LabelNoise changed the true labels")
	}
	wrong := 0
	for i := range given {
		if given[i] != truth[i] {
			wrong++
		}
	}
	if r := float64(wrong) / float64(len(given)); math.Abs(r-0.2) > 0.015 {
		t.Fatalf("label noise rate %.3f, want 0.2", r)
	}
}

func TestCropDeterministic(t *testing.T) {
	cfg := litter.Config{Seed: 42, Train: 40, Pool: 10, Size: 48, LabelNoise: 0.1}
	a, err := litter.Crop(cfg, litter.Train, 17)
	if err != nil {
		t.Fatal(err)
	}
	// other samples drawn in between change nothing
	for i := 0; i < 5; i++ {
		litter.Crop(cfg, litter.Train, i)
	}
	b, _ := litter.Crop(cfg, litter.Train, 17)
	if !bytes.Equal(a.Image.Pix, b.Image.Pix) || a.Label != b.Label || a.True != b.True {
		t.Fatal("the same crop drawn twice differs")
	}
	if a.Image.Bounds().Dx() != 48 || a.Image.Bounds().Dy() != 48 {
		t.Fatalf("crop is %v, want 48×48", a.Image.Bounds())
	}
	// label noise never changes an image
	clean := cfg
	clean.LabelNoise = 0
	c, _ := litter.Crop(clean, litter.Train, 17)
	if !bytes.Equal(a.Image.Pix, c.Image.Pix) {
		t.Fatal("LabelNoise changed the image")
	}
	other := cfg
	other.Seed = 43
	d, _ := litter.Crop(other, litter.Train, 17)
	if bytes.Equal(a.Image.Pix, d.Image.Pix) {
		t.Fatal("another seed drew the same image")
	}
	e, _ := litter.Crop(cfg, litter.Train, 18)
	if bytes.Equal(a.Image.Pix, e.Image.Pix) {
		t.Fatal("two samples are the same image")
	}
}

// drawAll generates crops (or scenes) 0..n-1 with the given number of
// goroutines and returns their pixels.
func drawAll(t *testing.T, n, workers int, f func(i int) []byte) [][]byte {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				out[i] = f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()
	return out
}

func TestParallelIdentical(t *testing.T) {
	cfg := litter.Config{Seed: 9, Train: 24, SceneTrain: 3, Size: 40, SceneW: 160, SceneH: 120}
	crop := func(i int) []byte {
		s, err := litter.Crop(cfg, litter.Train, i)
		if err != nil {
			t.Error(err)
			return nil
		}
		return s.Image.Pix
	}
	one, four := drawAll(t, 24, 1, crop), drawAll(t, 24, 4, crop)
	for i := range one {
		if !bytes.Equal(one[i], four[i]) {
			t.Fatalf("crop %d differs between 1 and 4 goroutines", i)
		}
	}
	scene := func(i int) []byte {
		s, err := litter.Scene(cfg, litter.Train, i)
		if err != nil {
			t.Error(err)
			return nil
		}
		return s.Image.Pix
	}
	one, four = drawAll(t, 3, 1, scene), drawAll(t, 3, 4, scene)
	for i := range one {
		if !bytes.Equal(one[i], four[i]) {
			t.Fatalf("scene %d differs between 1 and 4 goroutines", i)
		}
	}
}

func TestPool(t *testing.T) {
	cfg := litter.Config{Seed: 2, Pool: 400, Size: 32}
	_, truth, err := litter.Labels(cfg, litter.Pool)
	if err != nil {
		t.Fatal(err)
	}
	hist := make([]int, litter.NumClasses)
	for _, c := range truth {
		hist[c]++
	}
	if hist[litter.Bio] != 0 || hist[litter.Background] != 0 {
		t.Fatalf("pool classes %v include bio or background", hist)
	}
	if hist[litter.MetalsAndPlastic] < hist[litter.Unknown] || hist[litter.Unknown] < hist[litter.NonRecyclable] {
		t.Fatalf("pool classes %v: metals_and_plastic then unknown must lead", hist)
	}
	for _, i := range []int{0, 1, 2, 399} {
		s, err := litter.Crop(cfg, litter.Pool, i)
		if err != nil {
			t.Fatal(err)
		}
		if s.Label != litter.Unlabeled || s.True != truth[i] {
			t.Fatalf("pool crop %d: label %d true %d, want %d and %d", i, s.Label, s.True, litter.Unlabeled, truth[i])
		}
	}
}

func TestSceneObjects(t *testing.T) {
	cfg := litter.Config{Seed: 4, SceneTrain: 6, ScenePool: 4, SceneW: 256, SceneH: 192, MaxObjects: 5}
	total := 0
	for _, split := range []litter.Split{litter.Train, litter.Pool} {
		for i := 0; i < cfg.SceneCount(split); i++ {
			s, err := litter.Scene(cfg, split, i)
			if err != nil {
				t.Fatal(err)
			}
			if s.Image.Bounds().Dx() != 256 || s.Image.Bounds().Dy() != 192 {
				t.Fatalf("scene is %v", s.Image.Bounds())
			}
			if len(s.Objects) < 1 || len(s.Objects) > 5 {
				t.Fatalf("%v scene %d has %d objects, want 1 to 5", split, i, len(s.Objects))
			}
			for _, o := range s.Objects {
				b := o.Box
				if b.X1 < 0 || b.Y1 < 0 || b.X2 > 256 || b.Y2 > 192 || b.X2-b.X1 < 2 || b.Y2-b.Y1 < 2 {
					t.Fatalf("%v scene %d: box %+v outside the scene or degenerate", split, i, b)
				}
				if o.True < 1 || o.True >= litter.NumClasses {
					t.Fatalf("object class %d: must be a litter class 1..7", o.True)
				}
				if split == litter.Pool && (o.Label != litter.Unlabeled || o.True == litter.Bio) {
					t.Fatalf("pool object: label %d true %d", o.Label, o.True)
				}
				total++
			}
		}
	}
	if total < 10 {
		t.Fatalf("only %d objects in 10 scenes", total)
	}
}

// TestCropCutFromScene checks that a crop is a window of its source scene
// around an annotated object (or clear of them, for background), and that
// drawing the window at the crop size gives a picture like the crop.
func TestCropCutFromScene(t *testing.T) {
	cfg := litter.Config{Seed: 6, Train: 60, Size: 64}
	for i := 0; i < 60; i += 3 {
		s, err := litter.Crop(cfg, litter.Train, i)
		if err != nil {
			t.Fatal(err)
		}
		src, view, err := litter.CropSource(cfg, litter.Train, i)
		if err != nil {
			t.Fatal(err)
		}
		if w, h := view.X2-view.X1, view.Y2-view.Y1; math.Abs(w-h) > 1e-3 || w < 10 {
			t.Fatalf("crop %d: window %+v is not a square", i, view)
		}
		inter := func(b data.Box) float64 {
			w := math.Min(b.X2, view.X2) - math.Max(b.X1, view.X1)
			h := math.Min(b.Y2, view.Y2) - math.Max(b.Y1, view.Y1)
			return math.Max(0, w) * math.Max(0, h)
		}
		if s.True == litter.Background {
			for _, o := range src.Objects {
				if inter(o.Box) > 0.05*(view.X2-view.X1)*(view.Y2-view.Y1) {
					t.Fatalf("background crop %d overlaps object %+v", i, o)
				}
			}
			continue
		}
		found := false
		for _, o := range src.Objects {
			b := o.Box
			if o.True == s.True && inter(b) >= 0.4*(b.X2-b.X1)*(b.Y2-b.Y1) {
				found = true
			}
		}
		if !found {
			t.Fatalf("crop %d of class %s: no %s object inside its window %+v: %+v", i, litter.Classes[s.True], litter.Classes[s.True], view, src.Objects)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := litter.DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	if err := (litter.Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*litter.Config)
		want string
	}{
		{"negative train", func(c *litter.Config) { c.Train = -1 }, "Train -1"},
		{"negative pool scenes", func(c *litter.Config) { c.ScenePool = -3 }, "ScenePool -3"},
		{"tiny crops", func(c *litter.Config) { c.Size = 8 }, "Size 8"},
		{"huge crops", func(c *litter.Config) { c.Size = 5000 }, "Size 5000"},
		{"narrow scene", func(c *litter.Config) { c.SceneW = 10 }, "SceneW×SceneH 10×384"},
		{"no objects", func(c *litter.Config) { c.MaxObjects = -1 }, "MaxObjects -1"},
		{"label noise", func(c *litter.Config) { c.LabelNoise = 0.7 }, "LabelNoise 0.7"},
		{"NaN label noise", func(c *litter.Config) { c.LabelNoise = math.NaN() }, "LabelNoise NaN"},
		{"quality", func(c *litter.Config) { c.Quality = 101 }, "Quality 101"},
		{"workers", func(c *litter.Config) { c.Workers = -2 }, "Workers -2"},
	} {
		c := ok
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error naming %q", tc.name, err, tc.want)
		}
		if _, err := litter.Crop(c, litter.Train, 0); err == nil {
			t.Errorf("%s: Crop accepted an invalid config", tc.name)
		}
	}
	cfg := litter.Config{Train: 3}
	if _, err := litter.Crop(cfg, litter.Train, 3); err == nil || !strings.Contains(err.Error(), "has 3") {
		t.Errorf("Crop past the end: %v", err)
	}
	if _, err := litter.Crop(cfg, litter.Val, 0); err == nil {
		t.Errorf("Crop of an empty split: no error")
	}
	if _, err := litter.Scene(cfg, litter.Train, 0); err == nil {
		t.Errorf("Scene with no scenes configured: no error")
	}
	if _, err := litter.Crop(cfg, litter.Split(9), 0); err == nil {
		t.Errorf("Crop of split 9: no error")
	}
}

func readCSV(t *testing.T, path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestWriteImageFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crops")
	cfg := litter.Config{Seed: 1, Train: 30, Val: 9, Test: 10, Pool: 12, Size: 32, LabelNoise: 0.1, Workers: 3}
	var calls, last int
	err := litter.WriteImageFolder(context.Background(), dir, cfg, func(done, total int) {
		calls++
		if total != 61 || done < last {
			t.Errorf("progress(%d, %d) after %d", done, total, last)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != 61 || calls < 2 {
		t.Fatalf("progress reached %d in %d calls", last, calls)
	}
	for _, split := range []litter.Split{litter.Train, litter.Val, litter.Test} {
		given, _, _ := litter.Labels(cfg, split)
		for c, name := range litter.Classes {
			entries, err := os.ReadDir(filepath.Join(dir, split.String(), name))
			if err != nil {
				t.Fatalf("class folder missing: %v", err)
			}
			want := 0
			for _, g := range given {
				if g == c {
					want++
				}
			}
			if len(entries) != want {
				t.Fatalf("%s/%s holds %d files, want %d", split, name, len(entries), want)
			}
		}
	}
	// the pool's truth file lists every pool image with its true class
	_, truth, _ := litter.Labels(cfg, litter.Pool)
	rows := readCSV(t, filepath.Join(dir, "pool_truth.csv"))
	if len(rows) != 13 || rows[0][0] != "file" || rows[0][1] != "true_class" {
		t.Fatalf("pool_truth.csv: %d rows, header %v", len(rows), rows[0])
	}
	for i, r := range rows[1:] {
		if r[1] != litter.Classes[truth[i]] {
			t.Fatalf("pool_truth.csv row %d: %v, want class %s", i, r, litter.Classes[truth[i]])
		}
		f, err := os.Open(filepath.Join(dir, r[0]))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	labels := readCSV(t, filepath.Join(dir, "labels.csv"))
	if len(labels) != 1+30+9+10 {
		t.Fatalf("labels.csv has %d rows", len(labels))
	}
	for _, r := range labels[1:] {
		if !strings.HasPrefix(r[0], r[1]+"/"+r[2]+"/") {
			t.Fatalf("labels.csv row %v: the file is not in its label's folder", r)
		}
	}
	m, err := litter.ReadManifest(dir)
	if err != nil || m.Kind != "crops" || len(m.Counts["pool"]) != litter.NumClasses {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	// a written file is the crop: the camera's own JPEG file (decoding to
	// the very same pixels) or the crop compressed at cfg.Quality
	exact := 0
	for i := 0; i < 10; i++ {
		s, _ := litter.Crop(cfg, litter.Test, i)
		f, err := os.Open(filepath.Join(dir, "test", litter.Classes[s.Label], fmt.Sprintf("test_%06d.jpg", i)))
		if err != nil {
			t.Fatal(err)
		}
		dec, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		img := image.NewRGBA(dec.Bounds())
		draw.Draw(img, img.Bounds(), dec, image.Point{}, draw.Src)
		var diff float64
		for k := range img.Pix {
			diff += math.Abs(float64(img.Pix[k])-float64(s.Image.Pix[k])) / float64(len(img.Pix)) * 4 / 3
		}
		if bytes.Equal(img.Pix, s.Image.Pix) {
			exact++
		}
		if diff > 12 { // JPEG smooths away much of the sensor noise
			t.Fatalf("test crop %d: the file differs from Crop by %.1f levels on average", i, diff)
		}
	}
	if exact == 0 {
		t.Fatal("no written file decodes to its crop exactly")
	}

	// the same config again: cached, nothing rewritten
	marker := filepath.Join(dir, "marker")
	os.WriteFile(marker, nil, 0o644)
	if err := litter.WriteImageFolder(context.Background(), dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the cached data set was regenerated")
	}
	// Workers does not change the data set
	cfg.Workers = 1
	if err := litter.WriteImageFolder(context.Background(), dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("changing Workers regenerated the data set")
	}
	// another config replaces it
	cfg.Seed = 2
	if err := litter.WriteImageFolder(context.Background(), dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a changed config did not regenerate the data set")
	}
	if _, err := os.Stat(dir + ".partial"); err == nil {
		t.Fatal("a .partial folder was left behind")
	}
}

func TestWriteImageFolderInterrupted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "crops")
	cfg := litter.Config{Seed: 1, Train: 200, Size: 32, Workers: 2}
	ctx, cancel := context.WithCancel(context.Background())
	err := litter.WriteImageFolder(ctx, dir, cfg, func(done, total int) {
		if done == 5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted write returned %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("an interrupted write left a data set folder")
	}
	if _, err := os.Stat(dir + ".partial"); err == nil {
		t.Fatal("an interrupted write left its .partial folder")
	}
}

func TestWriteRefusesForeignFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("precious"), 0o644)
	cfg := litter.Config{Train: 2, Size: 16}
	err := litter.WriteImageFolder(context.Background(), dir, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "not a litter data set") {
		t.Fatalf("writing over a foreign folder: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "thesis.tex")); string(b) != "precious" {
		t.Fatal("the foreign folder was touched")
	}
	if err := litter.WriteImageFolder(context.Background(), filepath.Join(dir, "x"), litter.Config{Size: 8}, nil); err == nil {
		t.Fatal("an invalid config was written")
	}
}

func TestWriteScenes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scenes")
	cfg := litter.Config{Seed: 3, SceneTrain: 4, SceneVal: 2, SceneTest: 2, ScenePool: 3, SceneW: 192, SceneH: 128, LabelNoise: 0.2}
	if err := litter.WriteScenes(context.Background(), dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file   string
		images int
		cats   int
	}{
		{"train.json", 4, 7}, {"train_truth.json", 4, 7}, {"train_litter.json", 4, 1}, {"train_truth_litter.json", 4, 1},
		{"val.json", 2, 7}, {"val_truth.json", 2, 7}, {"val_litter.json", 2, 1},
		{"test.json", 2, 7}, {"test_litter.json", 2, 1},
		{"pool_truth.json", 3, 7}, {"pool_truth_litter.json", 3, 1},
	} {
		c, stats, err := data.ReadCOCO(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(c.Images) != tc.images || len(c.Categories) != tc.cats {
			t.Fatalf("%s: %d images, %d categories; want %d, %d", tc.file, len(c.Images), len(c.Categories), tc.images, tc.cats)
		}
		if stats.Degenerate != 0 || stats.Clipped != 0 || stats.Annotations != len(c.Annotations) {
			t.Fatalf("%s: validation had to tidy the file: %+v", tc.file, stats)
		}
		if len(c.Annotations) == 0 {
			t.Fatalf("%s: no annotations", tc.file)
		}
		for _, im := range c.Images {
			if _, err := os.Stat(filepath.Join(dir, im.FileName)); err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
		}
		if tc.cats == 7 {
			for k, cat := range c.Categories {
				if cat.ID != k+1 || cat.Name != litter.Classes[k+1] {
					t.Fatalf("%s: category %d is %+v", tc.file, k, cat)
				}
			}
		}
	}
	// the boxes in the file are those of Scene
	c, _, _ := data.ReadCOCO(filepath.Join(dir, "pool_truth.json"))
	s, _ := litter.Scene(cfg, litter.Pool, 0)
	var got []data.COCOAnnotation
	for _, a := range c.Annotations {
		if a.ImageID == 1 {
			got = append(got, a)
		}
	}
	if len(got) != len(s.Objects) {
		t.Fatalf("pool scene 0: %d annotations, %d objects", len(got), len(s.Objects))
	}
	for k, a := range got {
		o := s.Objects[k]
		if a.CategoryID != o.True || a.BBox != [4]float64{o.Box.X1, o.Box.Y1, o.Box.X2 - o.Box.X1, o.Box.Y2 - o.Box.Y1} || a.IsCrowd != 0 {
			t.Fatalf("annotation %+v, object %+v", a, o)
		}
	}
	if m, err := litter.ReadManifest(dir); err != nil || m.Kind != "scenes" {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	// a crops data set in the folder is not mistaken for the scenes
	if err := litter.WriteImageFolder(context.Background(), dir, litter.Config{Train: 2, Size: 16}, nil); err != nil {
		t.Fatal(err)
	}
	if m, _ := litter.ReadManifest(dir); m.Kind != "crops" {
		t.Fatalf("manifest kind %q after writing crops", m.Kind)
	}
}

func TestContactSheet(t *testing.T) {
	var buf bytes.Buffer
	cfg := litter.Config{Seed: 1, Size: 32, SceneW: 128, SceneH: 96}
	if err := litter.ContactSheet(&buf, cfg, 3); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 3*32 || b.Dy() < 9*32+96 {
		t.Fatalf("contact sheet is only %v", b)
	}
	if err := litter.ContactSheet(&buf, cfg, 0); err == nil {
		t.Fatal("perClass 0 accepted")
	}
}

// TestWritePreview writes a contact sheet to the file named by
// LITTER_PREVIEW (and skips without it):
//
//	LITTER_PREVIEW=/tmp/litter.png LITTER_SIZE=128 go test -run TestWritePreview ./examples/waste/litter
func TestWritePreview(t *testing.T) {
	out := os.Getenv("LITTER_PREVIEW")
	if out == "" {
		t.Skip("set LITTER_PREVIEW=/path/to/sheet.png to write a preview")
	}
	cfg := litter.DefaultConfig()
	if s := os.Getenv("LITTER_SIZE"); s != "" {
		fmt.Sscan(s, &cfg.Size)
	}
	if s := os.Getenv("LITTER_SEED"); s != "" {
		fmt.Sscan(s, &cfg.Seed)
	}
	var buf bytes.Buffer
	if err := litter.ContactSheet(&buf, cfg, 8); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWriteSpeed times writing 2,000 crops of 128 pixels (skipped in -short
// mode and unless LITTER_SPEED is set; it is a measurement, not a check).
func TestWriteSpeed(t *testing.T) {
	if os.Getenv("LITTER_SPEED") == "" {
		t.Skip("set LITTER_SPEED=1 to time writing 2,000 crops")
	}
	dir := filepath.Join(t.TempDir(), "crops")
	cfg := litter.Config{Seed: 1, Train: 1400, Val: 200, Test: 400, Size: 128}
	start := time.Now()
	if err := litter.WriteImageFolder(context.Background(), dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("2,000 crops of 128 px written in %v on %d cores", time.Since(start).Round(time.Millisecond), runtime.GOMAXPROCS(0))
}

// Label noise on a scene's objects swaps one litter class for another; it
// never labels an object background, which is no COCO category.
func TestSceneLabelNoiseKeepsLitter(t *testing.T) {
	cfg := litter.Config{Seed: 9, SceneTrain: 12, SceneW: 128, SceneH: 96, MaxObjects: 6, LabelNoise: 0.5}
	wrong := 0
	for i := range cfg.SceneCount(litter.Train) {
		s, err := litter.Scene(cfg, litter.Train, i)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range s.Objects {
			if o.Label == litter.Background {
				t.Fatalf("scene %d: object of class %d labelled background", i, o.True)
			}
			if o.Label != o.True {
				wrong++
			}
		}
	}
	if wrong == 0 {
		t.Fatal("label noise 0.5 changed no label")
	}
}
