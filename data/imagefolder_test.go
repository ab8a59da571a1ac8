package data

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/augment"
)

// writePNG writes a w×h image filled with a colour derived from v.
func writePNG(t *testing.T, path string, w, h int, v uint8) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{v, uint8(x * 7), uint8(y * 5), 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// folder makes root/{glass,paper}/… with a hidden file, a text file and a
// nested image.
func folder(t *testing.T) string {
	root := t.TempDir()
	writePNG(t, filepath.Join(root, "paper", "b.png"), 40, 30, 200)
	writePNG(t, filepath.Join(root, "paper", "a.PNG"), 40, 30, 210)
	writePNG(t, filepath.Join(root, "glass", "x.png"), 36, 50, 10)
	writePNG(t, filepath.Join(root, "glass", "sub", "y.png"), 20, 20, 20)
	writePNG(t, filepath.Join(root, "glass", ".hidden.png"), 20, 20, 20)
	writePNG(t, filepath.Join(root, ".git", "z.png"), 20, 20, 20)
	os.WriteFile(filepath.Join(root, "glass", "notes.txt"), []byte("not an image"), 0o644)
	return root
}

func TestImageFolderRules(t *testing.T) {
	root := folder(t)
	f, err := NewImageFolder(root, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Classes(), []string{"glass", "paper"}) {
		t.Fatalf("classes %v", f.Classes())
	}
	var rel []string
	for _, p := range f.Files {
		r, _ := filepath.Rel(root, p)
		rel = append(rel, r)
	}
	want := []string{"glass/sub/y.png", "glass/x.png", "paper/a.PNG", "paper/b.png"}
	if !reflect.DeepEqual(rel, want) || !reflect.DeepEqual(f.Labels(), []int{0, 0, 1, 1}) {
		t.Fatalf("files %v labels %v, want %v [0 0 1 1]", rel, f.Labels(), want)
	}
	ex, err := f.Example(1, augment.SampleRNG(1, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ex.Image.Shape(), []int{50, 36, 3}) || ex.Image.At(0, 0, 0) != float32(10)/255 {
		t.Fatalf("image %v", ex.Image)
	}
}

func TestImageFolderErrors(t *testing.T) {
	root := folder(t)
	if _, err := NewImageFolder(root, FolderOptions{Classes: []string{"glass", "metal"}}); err == nil || !strings.Contains(err.Error(), "expected [glass metal]") {
		t.Fatalf("class mismatch: %v", err)
	}
	os.MkdirAll(filepath.Join(root, "bio"), 0o755)
	if _, err := NewImageFolder(root, FolderOptions{}); err == nil || !strings.Contains(err.Error(), "[bio]") {
		t.Fatalf("empty class: %v", err)
	}
	if _, err := NewImageFolder(root, FolderOptions{AllowEmpty: true}); err != nil {
		t.Fatalf("AllowEmpty: %v", err)
	}
	if _, err := NewImageFolder(filepath.Join(root, "missing"), FolderOptions{}); err == nil {
		t.Fatal("missing folder accepted")
	}
	if _, err := NewImageFolder(filepath.Join(root, "glass", "sub"), FolderOptions{}); err == nil || !strings.Contains(err.Error(), "no class folders") {
		t.Fatalf("no class folders: %v", err)
	}
}

func TestImageFolderCorruptFile(t *testing.T) {
	root := folder(t)
	bad := filepath.Join(root, "paper", "c.png")
	os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\ntruncated"), 0o644)
	f, err := NewImageFolder(root, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Example(4, augment.SampleRNG(1, 0, 4)); err == nil || !strings.Contains(err.Error(), "c.png") {
		t.Fatalf("corrupt image: %v", err)
	}
	l, _ := NewLoader(f.WithPipeline(augment.DetectWasteEval(16)), LoaderConfig{Batch: 5, Sampler: Sequential{}})
	for _, err := range l.Epoch(context.Background(), 0) {
		if err == nil || !strings.Contains(err.Error(), "c.png") {
			t.Fatalf("loader error %v does not name the file", err)
		}
		break
	}
	badFiles, err := f.Check(context.Background(), 2, false)
	if err != nil || len(badFiles) != 1 || f.Len() != 5 {
		t.Fatalf("Check without drop: %v, %v, %d files", badFiles, err, f.Len())
	}
	badFiles, err = f.Check(context.Background(), 2, true)
	if err != nil || len(badFiles) != 1 || f.Len() != 4 || f.Labels()[3] != 1 {
		t.Fatalf("Check with drop: %v, %v, %d files", badFiles, err, f.Len())
	}
}

func TestImageFolderPipelineDeterministicAndCached(t *testing.T) {
	root := folder(t)
	f, err := NewImageFolder(root, FolderOptions{Pipeline: augment.DetectWasteTrain(16), Cache: true, CacheMaxSide: 40})
	if err != nil {
		t.Fatal(err)
	}
	var ref []*Batch
	for _, workers := range []int{1, 4} {
		l, _ := NewLoader(f, LoaderConfig{Batch: 2, Workers: workers, Seed: 9})
		got := collect(t, l, 1)
		if ref == nil {
			ref = got
			continue
		}
		for i := range got {
			if !reflect.DeepEqual(got[i].X.Data(), ref[i].X.Data()) {
				t.Fatalf("%d workers: batch %d differs", workers, i)
			}
		}
	}
	if !reflect.DeepEqual(ref[0].X.Shape(), []int{2, 16, 16, 3}) {
		t.Fatalf("batch shape %v", ref[0].X.Shape())
	}
	if len(f.cache.m) != 4 {
		t.Fatalf("cache holds %d images, want 4", len(f.cache.m))
	}
	if img := f.cache.m[f.Files[1]]; max(img.H, img.W) != 40 {
		t.Fatalf("cached image %dx%d not shrunk to 40", img.W, img.H)
	}
}

func TestUnlabeledFolder(t *testing.T) {
	root := folder(t)
	f, err := NewUnlabeledFolder(root, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 4 || f.Labels()[0] != Unlabeled {
		t.Fatalf("%d images, labels %v", f.Len(), f.Labels())
	}
	if _, err := NewUnlabeledFolder(t.TempDir(), FolderOptions{}); err == nil {
		t.Fatal("empty pool accepted")
	}
}

func TestCutCrops(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "img", "a.png"), 100, 80, 128)
	c, _, err := DecodeCOCO(strings.NewReader(`{
	 "images": [{"id": 4, "file_name": "a.png", "width": 100, "height": 80}],
	 "categories": [{"id": 1, "name": "glass"}, {"id": 2, "name": "paper"}],
	 "annotations": [
	  {"id": 1, "image_id": 4, "category_id": 1, "bbox": [10, 10, 20, 10]},
	  {"id": 2, "image_id": 4, "category_id": 2, "bbox": [90, 70, 10, 10], "score": 0.9},
	  {"id": 3, "image_id": 4, "category_id": 2, "bbox": [40, 40, 5, 5], "score": 0.1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "crops")
	st, err := CutCrops(context.Background(), c, filepath.Join(dir, "img"), out, CropOptions{Zoom: 1.5, Size: 24, MinScore: 0.05}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Written != 3 || st.PerClass["paper"] != 2 {
		t.Fatalf("stats %+v", st)
	}
	f, err := NewImageFolder(out, FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := f.Image(0)
	if err != nil || img.H != 24 || img.W != 24 {
		t.Fatalf("crop %v, %v", img, err)
	}
	// The crop near the corner is partly outside: filled, not mirrored.
	corner, _ := augment.DecodeFile(filepath.Join(out, "paper", "4_2.jpg"))
	if v := corner.At(23, 23, 1); v < 90 || v > 140 {
		t.Fatalf("outside pixel %d, want the fill (~116)", v)
	}
	st, _ = CutCrops(context.Background(), c, filepath.Join(dir, "img"), t.TempDir(), CropOptions{MinScore: 0.5}, nil)
	if st.Skipped != 1 || st.Written != 2 {
		t.Fatalf("MinScore: %+v", st)
	}
	if _, err := CutCrops(context.Background(), c, filepath.Join(dir, "missing"), t.TempDir(), CropOptions{}, nil); err == nil || !strings.Contains(err.Error(), "a.png") {
		t.Fatalf("missing image: %v", err)
	}
}

func TestDetectionDataset(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 128, 96, 50)
	c, _, err := DecodeCOCO(strings.NewReader(`{
	 "images": [{"id": 1, "file_name": "a.png", "width": 128, "height": 96}],
	 "categories": [{"id": 5, "name": "litter"}, {"id": 2, "name": "bio"}],
	 "annotations": [
	  {"id": 1, "image_id": 1, "category_id": 5, "bbox": [10, 20, 30, 40]},
	  {"id": 2, "image_id": 1, "category_id": 2, "bbox": [60, 10, 20, 20], "iscrowd": 1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDetection(c, dir, augment.EffDetEval(64))
	ex, err := d.Example(0, augment.SampleRNG(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ex.Image.Shape(), []int{64, 64, 3}) || len(ex.Boxes) != 1 || ex.BoxLabels[0] != 1 {
		t.Fatalf("image %v boxes %v labels %v (crowd must be left out; litter is class 1)", ex.Image.Shape(), ex.Boxes, ex.BoxLabels)
	}
	inv, err := ex.Geom.Invert()
	if err != nil {
		t.Fatal(err)
	}
	back := inv.MapBox(ex.Boxes[0])
	if want := (Box{X1: 10, Y1: 20, X2: 40, Y2: 60}); math.Abs(back.X1-want.X1)+math.Abs(back.Y2-want.Y2) > 0.5 {
		t.Fatalf("box mapped back to %v, want %v", back, want)
	}
	l, _ := NewLoader(d, LoaderConfig{Batch: 1, Sampler: Sequential{}})
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil || len(b.Boxes[0]) != 1 || len(b.Geoms) != 1 {
			t.Fatalf("batch %+v, %v", b, err)
		}
	}
	c.Images[0].Width = 100
	if _, err := d.Example(0, augment.SampleRNG(1, 0, 0)); err == nil || !strings.Contains(err.Error(), "COCO file says") {
		t.Fatalf("size mismatch: %v", err)
	}
}
