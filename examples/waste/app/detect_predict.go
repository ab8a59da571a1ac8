package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/nn"
)

func init() {
	register("detect", "find litter in images or folders with a detector checkpoint (boxes, classes, scores)", cmdDetect)
}

// DetectedObject is one detection in an image's own pixels.
type DetectedObject struct {
	Class      string     `json:"class"`
	CategoryID int        `json:"category_id"`
	Score      float64    `json:"score"`
	Box        [4]float64 `json:"box"`  // x1, y1, x2, y2
	BBox       [4]float64 `json:"bbox"` // COCO x, y, width, height
}

// ImageDetections is what detect found in one image.
type ImageDetections struct {
	File    string           `json:"file"`
	ImageID int              `json:"image_id"`
	Width   int              `json:"width"`
	Height  int              `json:"height"`
	Objects []DetectedObject `json:"detections"`
	Error   string           `json:"error,omitempty"`
}

// toImageDetections keeps the detections scoring at least minScore.
func toImageDetections(r imageDets, id int, spec DetSpec, minScore float64) ImageDetections {
	out := ImageDetections{File: r.File, ImageID: id, Width: r.Width, Height: r.Height, Objects: []DetectedObject{}}
	if r.Err != nil {
		out.Error = r.Err.Error()
		return out
	}
	for _, d := range r.Dets {
		if d.Score < minScore {
			continue
		}
		b := d.Box
		out.Objects = append(out.Objects, DetectedObject{
			Class: spec.Classes[d.Class], CategoryID: spec.CategoryIDs[d.Class], Score: d.Score,
			Box: [4]float64{b.X1, b.Y1, b.X2, b.Y2}, BBox: [4]float64{b.X1, b.Y1, b.X2 - b.X1, b.Y2 - b.Y1},
		})
	}
	return out
}

// imageArgs expands files and folders into image files, in order.
func imageArgs(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		f, err := data.NewUnlabeledFolder(a, data.FolderOptions{})
		if err != nil {
			return nil, err
		}
		files = append(files, f.Files...)
	}
	return files, nil
}

// outputNames gives every input file a distinct output base name.
func outputNames(files []string) []string {
	seen := map[string]int{}
	out := make([]string, len(files))
	for i, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		if n := seen[base]; n > 0 {
			out[i] = fmt.Sprintf("%s_%d", base, n)
		} else {
			out[i] = base
		}
		seen[base]++
	}
	return out
}

// caption is a labelled box to draw.
type caption struct {
	Box   data.Box
	Class int // colour index
	Text  string
}

// annotate draws boxes (augment.DrawBoxes) with their captions onto a copy
// of img and writes it as PNG.
func annotate(path string, img *augment.Image, caps []caption) error {
	c := img.Clone()
	var boxes []data.Box
	var labels []int
	for _, k := range caps {
		boxes, labels = append(boxes, k.Box), append(labels, k.Class)
	}
	augment.DrawBoxes(c, boxes, labels)
	std := c.Std()
	rgba := image.NewRGBA(std.Bounds())
	draw.Draw(rgba, rgba.Bounds(), std, image.Point{}, draw.Src)
	face := basicfont.Face7x13
	for _, k := range caps {
		if k.Text == "" {
			continue
		}
		w := font.MeasureString(face, k.Text).Ceil() + 4
		x, y := int(k.Box.X1), int(k.Box.Y1)-15
		if y < 0 {
			y = int(k.Box.Y1) + 2
		}
		x = min(max(x, 0), max(rgba.Bounds().Dx()-w, 0))
		draw.Draw(rgba, image.Rect(x, y, x+w, y+15), image.NewUniform(color.RGBA{A: 0xc0}), image.Point{}, draw.Over)
		d := font.Drawer{Dst: rgba, Src: image.White, Face: face, Dot: fixed.P(x+2, y+11)}
		d.DrawString(k.Text)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, rgba); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeJSON writes v as indented JSON. Scores that are undefined (NaN: a
// precision with no predictions, a metric without data) or infinite are
// written as null, which encoding/json refuses to do itself.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	var unsupported *json.UnsupportedValueError
	if errors.As(err, &unsupported) {
		b, err = json.MarshalIndent(jsonSafe(reflect.ValueOf(v)), "", "  ")
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func cmdDetect(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "detect", "detect [flags] image-or-folder...\n\n"+
		"Finds litter with a detector checkpoint. Each image is letterboxed onto the\n"+
		"detector's square input (scaled to fit and padded, never stretched) and the\n"+
		"boxes are mapped back to the image's own pixels. Writes <out>/detections.json\n"+
		"(per image: boxes [x1 y1 x2 y2] and COCO bbox, class, category id, score),\n"+
		"annotated PNG copies under <out>/images and, with -coco, <out>/results.json\n"+
		"in the COCO results format. With -json the images are those of a COCO file\n"+
		"and the results carry its image ids; otherwise images are numbered 1… in the\n"+
		"order given.")
	ckpt := fs.String("checkpoint", "runs/detect/best.safetensors", "detector checkpoint")
	jsonPath := fs.String("json", "", "COCO file whose images to run on (instead of arguments)")
	images := fs.String("images", "", "folder the -json file names are relative to (default: the JSON file's folder)")
	out := fs.String("out", "runs/detect-out", "output folder")
	score := fs.Float64("score", 0.3, "least score of a detection to keep")
	coco := fs.Bool("coco", false, "also write <out>/results.json in the COCO results format (all detections down to -score)")
	draw := fs.Bool("draw", true, "write annotated PNG copies of the images")
	batch := fs.Int("batch", 8, "images per batch")
	threads := fs.Int("threads", 0, "compute threads (0: all cores)")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if *batch < 1 || *threads < 0 || !(*score >= 0 && *score <= 1) {
		return fmt.Errorf("detect: -batch must be positive, -threads not negative and -score in [0, 1]")
	}
	if (fs.NArg() == 0) == (*jsonPath == "") {
		return fmt.Errorf("detect: name image files or folders, or a COCO file with -json (see waste detect -h)")
	}
	if *threads > 0 {
		defer nn.SetThreads(nn.SetThreads(*threads))
	}
	det, spec, err := loadDetector(*ckpt, nil)
	if err != nil {
		return err
	}
	var files []string
	var ids []int
	if *jsonPath != "" {
		s, err := readSplit(filepath.Base(*jsonPath), *jsonPath, *images)
		if err != nil {
			return err
		}
		for i, im := range s.COCO.Images {
			files, ids = append(files, s.file(i)), append(ids, im.ID)
		}
	} else {
		if files, err = imageArgs(fs.Args()); err != nil {
			return err
		}
		for i := range files {
			ids = append(ids, i+1)
		}
	}
	o := det.DetectOptions
	o.ScoreThreshold = *score
	res, err := detectFiles(ctx, env, det, spec, files, *batch, o, "detect")
	if err != nil {
		return err
	}
	all := make([]ImageDetections, len(res))
	var results []data.COCOAnnotation
	names := outputNames(files)
	objects, failed := 0, 0
	for i, r := range res {
		all[i] = toImageDetections(r, ids[i], spec, *score)
		if r.Err != nil {
			failed++
			fmt.Fprintf(env.Stderr, "waste: %s: %v\n", r.File, r.Err)
			continue
		}
		objects += len(all[i].Objects)
		var caps []caption
		for _, d := range r.Dets {
			if d.Score >= *score {
				caps = append(caps, caption{Box: d.Box, Class: d.Class, Text: fmt.Sprintf("%s %.2f", spec.Classes[d.Class], d.Score)})
			}
		}
		for _, ob := range all[i].Objects {
			results = append(results, data.COCOAnnotation{ImageID: ids[i], CategoryID: ob.CategoryID, BBox: ob.BBox, Score: ob.Score})
		}
		if *draw {
			img, err := augment.DecodeFile(r.File)
			if err != nil {
				return err
			}
			if err := annotate(filepath.Join(*out, "images", names[i]+".png"), img, caps); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.Stdout, "%s\t%d found", r.File, len(all[i].Objects))
		for _, ob := range all[i].Objects {
			fmt.Fprintf(env.Stdout, "\t%s %.2f [%.0f %.0f %.0f %.0f]", ob.Class, ob.Score, ob.Box[0], ob.Box[1], ob.Box[2], ob.Box[3])
		}
		fmt.Fprintln(env.Stdout)
	}
	if err := writeJSON(filepath.Join(*out, "detections.json"), all); err != nil {
		return err
	}
	if *coco {
		type result struct {
			ImageID    int        `json:"image_id"`
			CategoryID int        `json:"category_id"`
			BBox       [4]float64 `json:"bbox"`
			Score      float64    `json:"score"`
		}
		rs := make([]result, len(results))
		for i, a := range results {
			rs[i] = result{a.ImageID, a.CategoryID, a.BBox, a.Score}
		}
		if err := writeJSON(filepath.Join(*out, "results.json"), rs); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "%d objects in %d images (score ≥ %.2f) written to %s\n", objects, len(files)-failed, *score, *out)
	if failed > 0 {
		return fmt.Errorf("detect: %d of %d images could not be read", failed, len(files))
	}
	return nil
}

// detectionsCOCO turns detect's output into a COCO data set whose
// annotations are the detections (with their scores), file names as given
// (so relative to the working directory), for data.CutCrops.
func detectionsCOCO(all []ImageDetections) (*data.COCO, error) {
	c := &data.COCO{}
	cats := map[int]string{}
	id := 1
	for i, im := range all {
		if im.Error != "" {
			continue
		}
		imageID := im.ImageID
		if imageID == 0 {
			imageID = i + 1
		}
		c.Images = append(c.Images, data.COCOImage{ID: imageID, FileName: im.File, Width: im.Width, Height: im.Height})
		for _, o := range im.Objects {
			if name, ok := cats[o.CategoryID]; ok && name != o.Class {
				return nil, fmt.Errorf("category id %d is both %q and %q", o.CategoryID, name, o.Class)
			}
			cats[o.CategoryID] = o.Class
			c.Annotations = append(c.Annotations, data.COCOAnnotation{ID: id, ImageID: imageID, CategoryID: o.CategoryID, BBox: o.BBox, Area: o.BBox[2] * o.BBox[3], Score: o.Score})
			id++
		}
	}
	for cid, name := range cats {
		c.Categories = append(c.Categories, data.COCOCategory{ID: cid, Name: name})
	}
	c.Categories = sortedCategories(c)
	if len(c.Images) == 0 {
		return nil, fmt.Errorf("no readable images")
	}
	if len(c.Categories) == 0 {
		c.Categories = []data.COCOCategory{litterCategory}
	}
	if _, err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// jsonSafe converts v into maps, slices and scalars as encoding/json would
// write them (field names and omitempty from the json tags), with NaN and
// infinite floats as nil.
func jsonSafe(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if m, ok := v.Interface().(json.Marshaler); ok && (v.Kind() != reflect.Pointer || !v.IsNil()) {
		if b, err := m.MarshalJSON(); err == nil {
			return json.RawMessage(b)
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return jsonSafe(v.Elem())
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return v.Interface()
	case reflect.Struct:
		out := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if strings.Contains(opts, "omitempty") && v.Field(i).IsZero() {
				continue
			}
			out[name] = jsonSafe(v.Field(i))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		for it := v.MapRange(); it.Next(); {
			out[fmt.Sprint(it.Key().Interface())] = jsonSafe(it.Value())
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonSafe(v.Index(i))
		}
		return out
	}
	return v.Interface()
}
