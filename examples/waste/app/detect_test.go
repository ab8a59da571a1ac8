package app

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/train"
)

// tinyDet are the flags of a detector small enough for tests.
var tinyDet = []string{"-width", "0.1", "-depth", "0.1", "-fpn-channels", "16", "-fpn-cells", "1", "-head-repeats", "1",
	"-size", "128", "-batch", "4", "-threads", "2", "-workers", "2"}

// The smoke test of the detector half: detect-train → detect-eval →
// detect → crops → sort on a tiny synthetic set, then the errors that
// name what to fix.
func TestDetectSmoke(t *testing.T) {
	dir := t.TempDir()
	scenes := filepath.Join(dir, "scenes")
	detOut := filepath.Join(dir, "det")
	out := mustRun(t, append([]string{"detect-train", "-synth", scenes, "-scenes", "12", "-epochs", "1", "-out", detOut}, tinyDet...)...)
	for _, want := range []string{"1 class(es) litter", "Average Precision", "| litter | 1 |"} {
		if !strings.Contains(out, want) {
			t.Fatalf("detect-train output lacks %q:\n%s", want, out)
		}
	}
	best := filepath.Join(detOut, "best.safetensors")
	for _, f := range []string{best, filepath.Join(detOut, "test", "metrics.json"), filepath.Join(detOut, "test", "pr_curves.png")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}

	evalOut := filepath.Join(dir, "eval")
	out = mustRun(t, "detect-eval", "-checkpoint", best, "-synth", scenes, "-split", "val", "-out", evalOut)
	if !strings.Contains(out, "val: 2 images") || !strings.Contains(out, "maxDets=100 ] =") {
		t.Fatalf("detect-eval output:\n%s", out)
	}
	var metrics struct {
		Scores  map[string]float64 `json:"scores"`
		Classes []struct {
			Name string `json:"name"`
		} `json:"classes"`
	}
	readJSON(t, filepath.Join(evalOut, "metrics.json"), &metrics)
	if _, ok := metrics.Scores["ap50"]; !ok || len(metrics.Classes) != 1 || metrics.Classes[0].Name != "litter" {
		t.Fatalf("metrics.json: %+v", metrics)
	}

	// detect: an untrained detector scores near the 0.01 prior, so keep
	// everything.
	predOut := filepath.Join(dir, "pred")
	out = mustRun(t, "detect", "-checkpoint", best, "-score", "0", "-coco", "-out", predOut, filepath.Join(scenes, "test"))
	if !strings.Contains(out, "objects in 3 images") {
		t.Fatalf("detect output:\n%s", out)
	}
	var dets []ImageDetections
	readJSON(t, filepath.Join(predOut, "detections.json"), &dets)
	if len(dets) != 3 || len(dets[0].Objects) == 0 || dets[0].Width != 512 || dets[0].Height != 384 {
		t.Fatalf("detections.json: %d images, first %+v", len(dets), dets[0])
	}
	for _, d := range dets {
		for _, o := range d.Objects {
			if o.Box[0] < 0 || o.Box[1] < 0 || o.Box[2] > 512 || o.Box[3] > 384 || !(o.Box[2] > o.Box[0]) || o.Class != "litter" || o.CategoryID != 1 {
				t.Fatalf("detection %+v outside the 512×384 image or of the wrong class", o)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(predOut, "images", "000000.png")); err != nil {
		t.Fatal(err)
	}
	var results []data.COCOAnnotation
	readJSON(t, filepath.Join(predOut, "results.json"), &results)
	if len(results) == 0 || results[0].ImageID != 1 || results[0].Score <= 0 {
		t.Fatalf("results.json: %+v", results[:min(1, len(results))])
	}
	// With -json the images and ids are a COCO file's.
	out = mustRun(t, "detect", "-checkpoint", best, "-score", "0.5", "-draw=false", "-out", filepath.Join(dir, "pred2"), "-json", filepath.Join(scenes, "val.json"))
	if !strings.Contains(out, "in 2 images") {
		t.Fatalf("detect -json output:\n%s", out)
	}

	// crops: from detections, from ground truth, from COCO results.
	out = mustRun(t, "crops", "-detections", filepath.Join(predOut, "detections.json"), "-min-score", "0", "-size", "32", "-out", filepath.Join(dir, "crops-det"))
	if !strings.Contains(out, "wrote") || strings.Contains(out, "wrote 0 crops") {
		t.Fatalf("crops -detections output:\n%s", out)
	}
	gtCrops := filepath.Join(dir, "crops-gt")
	out = mustRun(t, "crops", "-coco", filepath.Join(scenes, "test.json"), "-out", gtCrops)
	f, err := data.NewImageFolder(gtCrops, data.FolderOptions{AllowEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() == 0 || len(f.Classes()) != 7 || !strings.Contains(out, "wrote") {
		t.Fatalf("ground-truth crops: %d in classes %v\n%s", f.Len(), f.Classes(), out)
	}
	out = mustRun(t, "crops", "-coco", filepath.Join(scenes, "test_litter.json"), "-results", filepath.Join(predOut, "results.json"), "-min-score", "0.001", "-out", filepath.Join(dir, "crops-res"))
	if !strings.Contains(out, "litter") {
		t.Fatalf("crops -results output:\n%s", out)
	}

	// sort needs a classifier: a tiny one on tiny synthetic crops.
	synth := filepath.Join(dir, "synth")
	mustRun(t, "synth", "-out", synth, "-train", "64", "-val", "16", "-test", "16", "-pool", "8", "-size", "32")
	clsOut := filepath.Join(dir, "cls")
	mustRun(t, "train", "-data", synth, "-out", clsOut, "-epochs", "1", "-width", "0.1", "-depth", "0.1", "-size", "32", "-batch", "16", "-threads", "2", "-workers", "2")
	cls := filepath.Join(clsOut, "best.safetensors")
	sortOut := filepath.Join(dir, "sort")
	out = mustRun(t, "sort", "-detector", best, "-classifier", cls, "-score", "0.001", "-out", sortOut,
		filepath.Join(scenes, "test", "000000.jpg"), filepath.Join(scenes, "test", "000001.jpg"))
	if !strings.Contains(out, "2 image(s)") || !strings.Contains(out, "item(s)") {
		t.Fatalf("sort output:\n%s", out)
	}
	var sum SortSummary
	readJSON(t, filepath.Join(sortOut, "summary.json"), &sum)
	if len(sum.Images) != 2 || len(sum.Images[0].Items) == 0 {
		t.Fatalf("summary: %+v", sum)
	}
	it := sum.Images[0].Items[0]
	if it.Class == "" || it.Class == "unclassified" || len(it.Probabilities) != 8 || it.DetectorClass != "litter" {
		t.Fatalf("sorted item %+v", it)
	}
	for _, p := range []string{it.Crop, sum.Images[0].Annotated} {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}

	// Self-training, one short round; the pool's hidden boxes are known.
	selfOut := filepath.Join(dir, "self")
	out = mustRun(t, append([]string{"detect-selftrain", "-synth", scenes, "-scenes", "12", "-teacher", best, "-out", selfOut,
		"-rounds", "1", "-student-epochs", "1", "-threshold", "0", "-box-score", "0.012", "-ignore-score", "0.001"}, tinyDet...)...)
	for _, want := range []string{"round 1: 48 of 48 pool images used", "precision", "ignore regions covering", "| missed hidden boxes ignored |", "trained longer", "self-trained", "| AP50 |", "wall time"} {
		if !strings.Contains(out, want) {
			t.Fatalf("detect-selftrain output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"results.json", "results.md", "detections.png", "student/best.safetensors"} {
		if _, err := os.Stat(filepath.Join(selfOut, f)); err != nil {
			t.Fatal(err)
		}
	}

	// The same with a classifier confirming the pseudo-boxes (the tiny one
	// of sort, which cannot tell litter well: at -confirm-prob 0 every box
	// is confirmed).
	confOut := filepath.Join(dir, "self-confirm")
	out = mustRun(t, append([]string{"detect-selftrain", "-synth", scenes, "-scenes", "12", "-teacher", best, "-out", confOut,
		"-rounds", "1", "-student-epochs", "1", "-threshold", "0", "-box-score", "0.005", "-control=false", "-confirm", cls, "-confirm-prob", "0"}, tinyDet...)...)
	for _, want := range []string{"pseudo-boxes confirmed by the classifier", "the classifier rejected", "| rejected by the classifier |", "self-trained"} {
		if !strings.Contains(out, want) {
			t.Fatalf("detect-selftrain -confirm output lacks %q:\n%s", want, out)
		}
	}
	var conf []detResult
	readJSON(t, filepath.Join(confOut, "results.json"), &conf)
	if len(conf) != 1 || len(conf[0].Rounds) != 1 || !conf[0].Rounds[0].Confirmed || conf[0].Rounds[0].Boxes == 0 {
		t.Fatalf("results.json of detect-selftrain -confirm: %+v", conf)
	}

	// Errors that name what to fix.
	noImages := filepath.Join(dir, "elsewhere", "test.json")
	if err := os.MkdirAll(filepath.Dir(noImages), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(scenes, "test.json"), noImages)
	seven := sevenClassCheckpoint(t, dir)
	moved := filepath.Join(dir, "moved.json")
	b, _ := json.Marshal([]ImageDetections{{File: filepath.Join(dir, "gone.jpg"), ImageID: 1, Width: 10, Height: 10,
		Objects: []DetectedObject{{Class: "litter", CategoryID: 1, Score: 0.9, Box: [4]float64{1, 1, 5, 5}, BBox: [4]float64{1, 1, 4, 4}}}}})
	if err := os.WriteFile(moved, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"detect-eval", "-checkpoint", best, "-json", noImages}, "3 of 3 images do not exist"},
		{[]string{"detect-train", "-train-json", noImages, "-epochs", "1"}, "set -images"},
		{[]string{"detect-eval", "-checkpoint", seven, "-json", filepath.Join(scenes, "test_litter.json"), "-images", scenes}, "category ids [1 litter] do not match the detector's classes [1 bio, 2 glass"},
		{[]string{"detect-train", "-synth", scenes, "-scenes", "12", "-classes", "3"}, "-classes 3, but"},
		{append(append([]string{"detect-train", "-synth", scenes, "-scenes", "12", "-resume", best, "-out", filepath.Join(dir, "r1")}, tinyDet...), "-fpn-channels", "24"), "checkpoint does not match: architecture"},
		{append([]string{"detect-train", "-synth", scenes, "-scenes", "12", "-resume", best, "-out", filepath.Join(dir, "r2"), "-classes", "7"}, tinyDet...), "classes [1 litter], the data has [1 bio"},
		{[]string{"detect-eval", "-checkpoint", cls}, "is a classifier checkpoint"},
		{[]string{"detect-selftrain", "-synth", scenes, "-scenes", "12", "-teacher", best, "-confirm", best}, "-confirm: " + best + " is a detector checkpoint"},
		{[]string{"detect-selftrain", "-synth", scenes, "-scenes", "12", "-teacher", best, "-confirm", filepath.Join(dir, "nothing.safetensors")}, "-confirm: "},
		{append([]string{"detect-selftrain", "-synth", scenes, "-scenes", "12", "-teacher", best, "-out", filepath.Join(dir, "self-reject"), "-rounds", "1", "-student-epochs", "1",
			"-threshold", "0", "-box-score", "0.005", "-control=false", "-confirm", cls, "-confirm-prob", "0.99"}, tinyDet...), "pseudo-boxes (lower -confirm-prob 0.99?)"},
		{[]string{"detect-selftrain", "-synth", scenes, "-scenes", "12", "-teacher", best, "-ignore-score", "0.5"}, "-ignore-score 0.5 must lie in [0, -box-score 0.4)"},
		{[]string{"detect-selftrain", "-synth", scenes, "-scenes", "12", "-pool-scenes", "1", "-teacher", best}, "-pool-scenes 1: need at least 2"},
		{[]string{"predict", "-checkpoint", best, filepath.Join(scenes, "test")}, "is a detector checkpoint"},
		{[]string{"detect", "-checkpoint", filepath.Join(dir, "nothing.safetensors"), scenes}, "detect-train"},
		{[]string{"detect-train", "-synth", scenes, "-scenes", "12", "-size", "200"}, "multiple of 128"},
		{[]string{"detect-train", "-recipe", "huge"}, "unknown detector recipe"},
		{[]string{"crops", "-results", filepath.Join(predOut, "results.json")}, "-detections or -coco"},
		{[]string{"crops", "-detections", moved}, "gone.jpg does not exist"},
		{[]string{"crops", "-coco", filepath.Join(scenes, "test_litter.json"), "-results", filepath.Join(scenes, "val.json")}, "not a COCO results file"},
	} {
		_, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("waste %s: error %v, want one mentioning %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// sevenClassCheckpoint writes an untrained checkpoint of a tiny 7-class
// detector (the synthetic scenes' categories).
func sevenClassCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	spec := DetSpec{Width: 0.1, Depth: 0.1, Size: 128, FPNChannels: 16, FPNCells: 1, HeadRepeats: 1,
		Classes: []string{"bio", "glass", "metals_and_plastic", "non_recyclable", "other", "paper", "unknown"}, CategoryIDs: []int{1, 2, 3, 4, 5, 6, 7}}
	det, _, err := spec.build(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(detRunInfo{Detector: spec})
	path := filepath.Join(dir, "seven.safetensors")
	if err := train.SaveCheckpoint(path, train.State{Model: det.Model}, train.Meta{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDetectorWeightsMismatch(t *testing.T) {
	// A checkpoint whose description says one architecture and whose
	// weights are another's.
	dir := t.TempDir()
	a := DetSpec{Width: 0.1, Depth: 0.1, Size: 128, FPNChannels: 16, FPNCells: 1, HeadRepeats: 1, Classes: []string{"litter"}, CategoryIDs: []int{1}}
	b := a
	b.FPNChannels = 24
	det, _, err := b.build(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(detRunInfo{Detector: a})
	path := filepath.Join(dir, "x.safetensors")
	if err := train.SaveCheckpoint(path, train.State{Model: det.Model}, train.Meta{Config: cfg}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadDetector(path, nil); err == nil || !strings.Contains(err.Error(), "does not hold the weights") {
		t.Fatalf("mismatched weights: %v", err)
	}
	want := b
	if _, _, err := loadDetector(path, &want); err == nil || !strings.Contains(err.Error(), "BiFPN 16×1") {
		t.Fatalf("want another architecture: %v", err)
	}
}

func TestForClasses(t *testing.T) {
	c := &data.COCO{
		Images:      []data.COCOImage{{ID: 1, FileName: "a.jpg", Width: 10, Height: 10}},
		Categories:  []data.COCOCategory{{ID: 3, Name: "can"}, {ID: 1, Name: "bottle"}},
		Annotations: []data.COCOAnnotation{{ID: 1, ImageID: 1, CategoryID: 3, BBox: [4]float64{1, 1, 4, 4}}},
	}
	s := &cocoSplit{Path: "x.json", COCO: c}
	if err := s.forClasses([]data.COCOCategory{{ID: 1, Name: "bottle"}, {ID: 3, Name: "can"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.forClasses([]data.COCOCategory{{ID: 1, Name: "bottle"}, {ID: 2, Name: "can"}}); err == nil || !strings.Contains(err.Error(), "[1 bottle, 3 can] do not match the detector's classes [1 bottle, 2 can]") {
		t.Fatalf("mismatch: %v", err)
	}
	if err := s.forClasses([]data.COCOCategory{litterCategory}); err != nil {
		t.Fatal(err)
	}
	if len(s.COCO.Categories) != 1 || s.COCO.Annotations[0].CategoryID != 1 || c.Annotations[0].CategoryID != 3 {
		t.Fatalf("merged: %+v (original %+v)", s.COCO, c)
	}
}

func TestCarve(t *testing.T) {
	c := &data.COCO{Categories: []data.COCOCategory{litterCategory}}
	for i := 1; i <= 20; i++ {
		c.Images = append(c.Images, data.COCOImage{ID: i, FileName: "x.jpg", Width: 10, Height: 10})
		c.Annotations = append(c.Annotations, data.COCOAnnotation{ID: i, ImageID: i, CategoryID: 1, BBox: [4]float64{1, 1, 2, 2}})
	}
	s := &cocoSplit{Path: "train.json", COCO: c}
	val, err := s.carve("val", 0.15, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(val.COCO.Images) != 3 || len(s.COCO.Images) != 17 || len(val.COCO.Annotations) != 3 || len(s.COCO.Annotations) != 17 {
		t.Fatalf("%d val and %d train images", len(val.COCO.Images), len(s.COCO.Images))
	}
	for _, a := range val.COCO.Annotations {
		for _, im := range s.COCO.Images {
			if im.ID == a.ImageID {
				t.Fatalf("annotation %d of a held-out image stayed in train", a.ID)
			}
		}
	}
	if _, err := (&cocoSplit{Path: "tiny.json", COCO: &data.COCO{Images: c.Images[:2]}}).carve("val", 0.15, 1); err == nil || !strings.Contains(err.Error(), "too few") {
		t.Fatalf("two images: %v", err)
	}
}

func TestPseudoBoxQuality(t *testing.T) {
	box := func(x, y float64) data.Box { return data.Box{X1: x, Y1: y, X2: x + 10, Y2: y + 10} }
	truth := [][]efficientdet.GroundTruth{
		{{Box: box(0, 0)}, {Box: box(50, 50)}},
		{{Box: box(0, 0), Class: 1}},
		{{Box: box(20, 20)}},
	}
	props := []train.Proposal{
		// two boxes on the first object (one is a duplicate), one on the second
		{Index: 0, Class: 0, Confidence: 0.9, Boxes: []data.Box{box(1, 0), box(0, 1), box(50, 51)}, BoxLabels: []int{0, 0, 0}},
		// the right place, the wrong class
		{Index: 1, Class: 0, Confidence: 0.8, Boxes: []data.Box{box(0, 0)}, BoxLabels: []int{0}},
		// below the threshold: not used
		{Index: 2, Class: 0, Confidence: 0.2, Boxes: []data.Box{box(20, 20)}, BoxLabels: []int{0}},
	}
	q := pseudoBoxQuality(props, 0.5, truth)
	if q.Accepted != 2 || q.Boxes != 4 || q.TruePositives != 2 || q.Truth != 4 || q.Precision != 0.5 || q.Recall != 0.5 {
		t.Fatalf("%+v", q)
	}
	if q := pseudoBoxQuality(props, 0.5, nil); !math.IsNaN(q.Precision) || q.Boxes != 4 {
		t.Fatalf("without truth: %+v", q)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetectHelp(t *testing.T) {
	out := mustRun(t, "help")
	for _, c := range []string{"detect-train", "detect-eval", "detect ", "crops", "sort", "detect-selftrain"} {
		if !strings.Contains(out, "  "+c) {
			t.Fatalf("help does not list %s:\n%s", c, out)
		}
	}
	for _, c := range []struct{ cmd, flag string }{{"detect-train", "-train-json"}, {"detect-eval", "-split"}, {"detect", "-coco"},
		{"crops", "-zoom"}, {"sort", "-classifier"}, {"detect-selftrain", "-box-score"}} {
		out, err := run(t, c.cmd, "-h")
		if err == nil || !strings.Contains(out, c.flag) {
			t.Errorf("%s -h: %v\n%s", c.cmd, err, out)
		}
	}
}

// The demo runs both halves and sorts one test scene with the self-trained
// detector and classifier.
func TestDemoSmoke(t *testing.T) {
	dir := t.TempDir()
	synth := filepath.Join(dir, "synth")
	mustRun(t, "synth", "-out", synth, "-train", "64", "-val", "16", "-test", "16", "-pool", "16", "-size", "32")
	det := append([]string{"-synth", filepath.Join(dir, "scenes"), "-scenes", "12", "-epochs", "1", "-rounds", "1", "-student-epochs", "1",
		"-threshold", "0", "-box-score", "0.005"}, tinyDet...)
	out := mustRun(t, "demo", "-data", synth, "-out", filepath.Join(dir, "demo"), "-epochs", "1", "-rounds", "1", "-threshold", "0",
		"-width", "0.1", "-depth", "0.1", "-size", "32", "-batch", "16", "-threads", "2", "-workers", "2",
		"-detector-flags", strings.Join(det, " "))
	for _, want := range []string{"## Classifier", "## Detector", "self-trained", "| AP50 |", "annotated test scene: ", "wall time"} {
		if !strings.Contains(out, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out)
		}
	}
	pic := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "annotated test scene: ", 2)[1], "\n", 2)[0])
	if !strings.Contains(pic, "sorted") {
		t.Fatalf("the picture %s is not the sort pipeline's", pic)
	}
	for _, f := range []string{pic, filepath.Join(dir, "demo", "results.md"), filepath.Join(dir, "demo", "sorted", "summary.json")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run(t, "demo", "-classifier=false", "-detector=false"); err == nil {
		t.Fatal("a demo with nothing to run did not fail")
	}
	// The detector half checks its flags as detect-selftrain does, before
	// generating scenes.
	if _, err := run(t, "demo", "-classifier=false", "-out", filepath.Join(dir, "bad"), "-detector-flags", "-confirm-prob 2"); err == nil || !strings.Contains(err.Error(), "-confirm-prob 2") {
		t.Fatalf("demo -detector-flags \"-confirm-prob 2\": error %v", err)
	}
}

func TestWriteJSONWritesNaNAsNull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	in := struct {
		Rounds []detRound           `json:"rounds"`
		Scores map[string]float64   `json:"scores"`
		Skip   string               `json:"skip,omitempty"`
		Inner  *struct{ X float32 } `json:"inner"`
	}{Rounds: []detRound{{Round: 1, Precision: math.NaN(), Recall: 0.5}}, Scores: map[string]float64{"ap": math.Inf(1), "ap50": 0.25}}
	if err := writeJSON(path, in); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	readJSON(t, path, &back)
	r := back["rounds"].([]any)[0].(map[string]any)
	s := back["scores"].(map[string]any)
	if r["precision"] != nil || r["recall"] != 0.5 || s["ap"] != nil || s["ap50"] != 0.25 || back["inner"] != nil {
		t.Fatalf("read back %v", back)
	}
	if _, ok := back["skip"]; ok {
		t.Fatalf("omitempty field written: %v", back)
	}
}
