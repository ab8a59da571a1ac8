package app

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/nn"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("detect-eval", "COCO-style AP of a detector checkpoint on a COCO split, with PR curves", cmdDetectEval)
}

// imageDets is what the detector found in one image, in the original
// image's pixels.
type imageDets struct {
	File          string
	Width, Height int
	Dets          []efficientdet.Detection
	Err           error
}

// detectFiles runs the detector over image files, batch at a time: each
// image is letterboxed onto the square input (scaled to fit and padded,
// never stretched) and its detections are mapped back to the original
// pixels. An unreadable image gets an Err instead of stopping the others.
func detectFiles(ctx context.Context, env *Env, det *efficientdet.Detector, spec DetSpec, files []string, batch int, o efficientdet.DetectOptions, stageName string) ([]imageDets, error) {
	p := detEvalPipeline(spec)
	rp := augment.NewResizePad(spec.Size, spec.Size) // p's letterbox
	out := make([]imageDets, len(files))
	stage := progress(env).Start(stageName, len(files))
	defer stage.Done()
	rng := rand.New(rand.NewPCG(0, 0)) // the letterbox draws nothing
	for lo := 0; lo < len(files); lo += batch {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var imgs []*augment.Image
		var infos []efficientdet.ImageInfo
		var idx []int
		for i := lo; i < min(lo+batch, len(files)); i++ {
			out[i].File = files[i]
			img, err := augment.DecodeFile(files[i])
			if err == nil {
				out[i].Width, out[i].Height = img.W, img.H
				var s augment.Sample
				if s, err = p.Run(rng, augment.Sample{Image: img}, nil); err == nil {
					imgs, idx = append(imgs, s.Image), append(idx, i)
					infos = append(infos, efficientdet.ImageInfo{Letterbox: efficientdet.Letterbox(rp.Letterbox(img.H, img.W)), Width: img.W, Height: img.H})
				}
			}
			if err != nil {
				out[i].Err = err
			}
		}
		if len(imgs) == 0 {
			stage.Add(min(lo+batch, len(files))-lo, math.NaN(), train.NoAccuracy)
			continue
		}
		x, err := augment.ToTensor(imgs, p.Normalize)
		if err != nil {
			return out, err
		}
		dets, err := det.Model.Predict(x, infos, o)
		if err != nil {
			return out, err
		}
		for j, i := range idx {
			out[i].Dets = dets[j]
		}
		stage.Add(min(lo+batch, len(files))-lo, math.NaN(), train.NoAccuracy)
	}
	return out, nil
}

// detEval is a detector's COCO evaluation on one split.
type detEval struct {
	Split       string
	Metrics     *efficientdet.Metrics
	Classes     []string
	CategoryIDs []int
	Boxes       []int // ground-truth boxes per class
}

// evalCOCO detects objects in every image of a split and scores them
// against its annotations as pycocotools does, in the original images'
// pixels (areas, crowd regions and all).
func evalCOCO(ctx context.Context, env *Env, det *efficientdet.Detector, spec DetSpec, s *cocoSplit, batch int) (*detEval, error) {
	if err := s.forClasses(spec.categories()); err != nil {
		return nil, err
	}
	files := make([]string, len(s.COCO.Images))
	for i := range files {
		files[i] = s.file(i)
	}
	res, err := detectFiles(ctx, env, det, spec, files, batch, det.DetectOptions, s.Name)
	if err != nil {
		return nil, err
	}
	class := map[int]int{}
	for k, id := range spec.CategoryIDs {
		class[id] = k
	}
	e := &detEval{Split: s.Name, Classes: spec.Classes, CategoryIDs: spec.CategoryIDs, Boxes: make([]int, len(spec.Classes))}
	ev := efficientdet.NewEvaluator(len(spec.Classes))
	byImage := s.COCO.ByImage()
	for i, im := range s.COCO.Images {
		if res[i].Err != nil {
			return nil, fmt.Errorf("%s: %w", s.Path, res[i].Err)
		}
		if res[i].Width != im.Width || res[i].Height != im.Height {
			return nil, fmt.Errorf("%s is %dx%d but %s says %dx%d", files[i], res[i].Width, res[i].Height, s.Path, im.Width, im.Height)
		}
		var gts []efficientdet.GroundTruth
		for _, a := range byImage[im.ID] {
			k := class[a.CategoryID]
			gts = append(gts, efficientdet.GroundTruth{Box: a.Box(), Class: k, Crowd: a.IsCrowd != 0, Area: a.Area})
			if a.IsCrowd == 0 {
				e.Boxes[k]++
			}
		}
		if err := ev.Add(gts, res[i].Dets); err != nil {
			return nil, fmt.Errorf("%s: %w", files[i], err)
		}
	}
	e.Metrics = ev.Result()
	return e, nil
}

// printDetEval prints COCOeval's summary and the AP of every class.
func printDetEval(w io.Writer, e *detEval) {
	m := e.Metrics
	fmt.Fprintf(w, "%s: %d images, %d boxes, %d detections\n", e.Split, m.Images, m.GroundTruths, m.Dets)
	fmt.Fprint(w, m.String())
	var rows [][]string
	for k, c := range e.Classes {
		rows = append(rows, []string{c, fmt.Sprint(e.CategoryIDs[k]), fmt.Sprint(e.Boxes[k]), apCell(m.ClassAP[k]), apCell(m.ClassAP50[k])})
	}
	fmt.Fprint(w, table([]string{"class", "category id", "boxes", "AP", "AP50"}, rows))
}

func apCell(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

// writeDetEval writes metrics.json and pr_curves.png into dir.
func writeDetEval(dir string, e *detEval) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m := e.Metrics
	type class struct {
		Name       string  `json:"name"`
		CategoryID int     `json:"category_id"`
		Boxes      int     `json:"boxes"`
		AP         float64 `json:"ap"`
		AP50       float64 `json:"ap50"`
	}
	var cs []class
	for k, c := range e.Classes {
		cs = append(cs, class{c, e.CategoryIDs[k], e.Boxes[k], m.ClassAP[k], m.ClassAP50[k]})
	}
	b, err := json.MarshalIndent(map[string]any{
		"split": e.Split, "images": m.Images, "ground_truths": m.GroundTruths, "detections": m.Dets,
		"scores": m.Scores(), "classes": cs,
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.json"), b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.txt"), []byte(m.String()), 0o644); err != nil {
		return err
	}
	return plotPR(filepath.Join(dir, "pr_curves.png"), e)
}

var prColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}

// plotPR draws COCO's interpolated precision against recall (area all,
// 100 detections): one curve per class at IoU 0.5, and the mean over the
// classes at IoU 0.5 and 0.75 (dashed).
func plotPR(path string, e *detEval) error {
	m := e.Metrics
	p := plot.New()
	p.Title.Text = fmt.Sprintf("precision–recall, %s (AP50 %.3f, AP %.3f)", e.Split, m.AP50, m.AP)
	p.X.Label.Text, p.Y.Label.Text = "recall", "precision"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.02
	p.Legend.Left, p.Legend.Top = false, true // curves fall from the top left
	p.Add(plotter.NewGrid())
	const mi = 2 // 100 detections
	recall := efficientdet.COCORecallThresholds
	curve := func(name string, y func(r int) float64, col color.Color, dashed bool) error {
		var pts plotter.XYs
		for r := range recall {
			if v := y(r); v >= 0 {
				pts = append(pts, plotter.XY{X: recall[r], Y: v})
			}
		}
		if len(pts) == 0 {
			return nil
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color, l.Width = col, vg.Points(1.5)
		if dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	for k, c := range e.Classes {
		name := c
		if len(e.Classes) == 1 {
			name = c + ", IoU 0.5"
		}
		if err := curve(name, func(r int) float64 { return m.Precision(0, r, k, 0, mi) }, prColors[k%len(prColors)], false); err != nil {
			return err
		}
	}
	mean := func(t int) func(r int) float64 {
		return func(r int) float64 {
			s, n := 0.0, 0
			for k := range e.Classes {
				if v := m.Precision(t, r, k, 0, mi); v >= 0 {
					s, n = s+v, n+1
				}
			}
			if n == 0 {
				return -1
			}
			return s / float64(n)
		}
	}
	if len(e.Classes) > 1 {
		if err := curve("mean, IoU 0.5", mean(0), color.Black, true); err != nil {
			return err
		}
	}
	name75 := "mean, IoU 0.75"
	if len(e.Classes) == 1 {
		name75 = e.Classes[0] + ", IoU 0.75"
	}
	if err := curve(name75, mean(5), color.Gray{Y: 0x60}, true); err != nil {
		return err
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

func cmdDetectEval(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "detect-eval", "detect-eval [flags]")
	ckpt := fs.String("checkpoint", "runs/detect/best.safetensors", "detector checkpoint to evaluate")
	dir := fs.String("data", "", "COCO data folder with <split>.json (empty: the synthetic scenes in -synth)")
	synth := fs.String("synth", "runs/scenes", "synthetic scene folder, when neither -data nor -json is given")
	split := fs.String("split", "test", "split of -data to evaluate: <data>/<split>.json")
	jsonPath := fs.String("json", "", "COCO file to evaluate (instead of -data and -split)")
	images := fs.String("images", "", "folder the COCO file names are relative to (default: the JSON file's folder)")
	out := fs.String("out", "", "write metrics.json, metrics.txt and pr_curves.png here")
	batch := fs.Int("batch", 8, "images per batch")
	threads := fs.Int("threads", 0, "compute threads (0: all cores)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *batch < 1 || *threads < 0 {
		return fmt.Errorf("detect-eval: -batch must be positive and -threads not negative")
	}
	if *threads > 0 {
		defer nn.SetThreads(nn.SetThreads(*threads))
	}
	det, spec, err := loadDetector(*ckpt, nil)
	if err != nil {
		return err
	}
	path := *jsonPath
	if path == "" {
		root := *dir
		if root == "" {
			root = *synth
		}
		path = filepath.Join(root, *split+".json")
	}
	s, err := readSplit(*split, path, *images)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "evaluating %v on %s\n", spec, path)
	e, err := evalCOCO(ctx, env, det, spec, s, *batch)
	if err != nil {
		return err
	}
	printDetEval(env.Stdout, e)
	if *out != "" {
		if err := writeDetEval(*out, e); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %s\n", *out)
	}
	return nil
}
