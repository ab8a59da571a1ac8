package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/efficientdet"
	"github.com/sortnet/sortnet/layers"
	"github.com/sortnet/sortnet/nn"
)

func init() {
	register("sort", "the whole pipeline: detect litter, crop each find, classify the crops, summarise per image", cmdSort)
}

// SortedItem is one piece of litter found and classified.
type SortedItem struct {
	Box           [4]float64         `json:"box"` // x1, y1, x2, y2 in the image's pixels
	DetectorClass string             `json:"detector_class"`
	DetectorScore float64            `json:"detector_score"`
	Class         string             `json:"class"` // the classifier's verdict on the crop
	Probability   float64            `json:"probability"`
	Probabilities map[string]float64 `json:"probabilities"`
	Crop          string             `json:"crop"`
}

// SortedImage is the summary of one image: what litter is where.
type SortedImage struct {
	File      string         `json:"file"`
	Width     int            `json:"width"`
	Height    int            `json:"height"`
	Items     []SortedItem   `json:"litter"`
	Counts    map[string]int `json:"counts"`
	Annotated string         `json:"annotated,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// SortSummary is what sort writes to summary.json.
type SortSummary struct {
	Detector   string         `json:"detector"`
	Classifier string         `json:"classifier"`
	Images     []SortedImage  `json:"images"`
	Totals     map[string]int `json:"totals"`
}

func cmdSort(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sort", "sort [flags] image-or-folder...\n\n"+
		"Runs the whole litter pipeline on photos: the detector finds litter\n"+
		"(letterboxed, boxes mapped back to the photo), a square crop is cut\n"+
		"around every find scoring at least -score (<out>/crops), the classifier\n"+
		"sorts each crop into a waste class, and every photo gets a summary —\n"+
		"what litter, where, with the detector's and the classifier's scores — in\n"+
		"<out>/summary.json and an annotated copy in <out>/images.")
	detPath := fs.String("detector", "runs/detect/best.safetensors", "detector checkpoint (waste detect-train)")
	clsPath := fs.String("classifier", "runs/train/best.safetensors", "classifier checkpoint (waste train)")
	out := fs.String("out", "runs/sort", "output folder")
	score := fs.Float64("score", 0.3, "least detector score of a find to classify")
	zoom := fs.Float64("zoom", 1.4, "crop side as a multiple of the box's longer side (the synthetic classifier crops have 1.15–1.75)")
	draw := fs.Bool("draw", true, "write annotated PNG copies of the images")
	batch := fs.Int("batch", 8, "images (and crops) per batch")
	threads := fs.Int("threads", 0, "compute threads (0: all cores)")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("sort: name image files or folders (see waste sort -h)")
	}
	if *batch < 1 || *threads < 0 || !(*score > 0 && *score <= 1) || !(*zoom > 0) {
		return fmt.Errorf("sort: -batch and -zoom must be positive, -threads not negative and -score in (0, 1]")
	}
	if *threads > 0 {
		defer nn.SetThreads(nn.SetThreads(*threads))
	}
	det, dspec, err := loadDetector(*detPath, nil)
	if err != nil {
		return err
	}
	m, cspec, err := loadModel(*clsPath, nil)
	if err != nil {
		return err
	}
	files, err := imageArgs(fs.Args())
	if err != nil {
		return err
	}
	sum, err := sortImages(ctx, env, det, dspec, m, cspec, files, *out, *score, *zoom, *batch, *draw)
	if err != nil {
		return err
	}
	printSortSummary(env, sum)
	if err := writeJSON(filepath.Join(*out, "summary.json"), sum); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "summary in %s\n", filepath.Join(*out, "summary.json"))
	return nil
}

// sortImages detects, crops and classifies.
func sortImages(ctx context.Context, env *Env, det *efficientdet.Detector, dspec DetSpec, cls layers.Layer, cspec ModelSpec, files []string, out string, score, zoom float64, batch int, draw bool) (*SortSummary, error) {
	o := det.DetectOptions
	o.ScoreThreshold = score
	res, err := detectFiles(ctx, env, det, dspec, files, batch, o, "detect")
	if err != nil {
		return nil, err
	}
	all := make([]ImageDetections, len(res))
	for i, r := range res {
		all[i] = toImageDetections(r, i+1, dspec, score)
	}
	sum := &SortSummary{Detector: dspec.String(), Classifier: cspec.String(), Images: make([]SortedImage, len(all)), Totals: map[string]int{}}
	cropDir := filepath.Join(out, "crops")
	// Crops are written by data.CutCrops as <dir>/<category>/<image id>_<box id>.jpg,
	// boxes numbered 1… over all images in order, as detectionsCOCO numbers them.
	var crops []string
	type ref struct{ image, item int }
	var refs []ref
	boxID := 1
	for i, im := range all {
		s := &sum.Images[i]
		s.File, s.Width, s.Height, s.Error, s.Counts = im.File, im.Width, im.Height, im.Error, map[string]int{}
		s.Items = []SortedItem{}
		for _, ob := range im.Objects {
			p := filepath.Join(cropDir, ob.Class, strconv.Itoa(im.ImageID)+"_"+strconv.Itoa(boxID)+".jpg")
			boxID++
			s.Items = append(s.Items, SortedItem{Box: ob.Box, DetectorClass: ob.Class, DetectorScore: ob.Score, Crop: p})
			crops, refs = append(crops, p), append(refs, ref{i, len(s.Items) - 1})
		}
	}
	if len(crops) > 0 {
		c, err := detectionsCOCO(all)
		if err != nil {
			return nil, err
		}
		if err := os.RemoveAll(cropDir); err != nil {
			return nil, err
		}
		if _, err := cutCrops(ctx, env, c, "", cropDir, data.CropOptions{Zoom: zoom, MinScore: score, MinSide: 0.5}); err != nil {
			return nil, err
		}
		preds := predictFiles(ctx, cls, cspec, crops, batch)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for j, p := range preds {
			it := &sum.Images[refs[j].image].Items[refs[j].item]
			if p.Error != "" { // no crop: a box thinner than a pixel
				it.Class = "unclassified"
				continue
			}
			it.Class, it.Probability, it.Probabilities = p.Class, p.Probability, p.All
		}
	}
	names := outputNames(files)
	classIndex := map[string]int{}
	for k, c := range cspec.Classes {
		classIndex[c] = k
	}
	for i := range sum.Images {
		s := &sum.Images[i]
		var caps []caption
		for _, it := range s.Items {
			s.Counts[it.Class]++
			sum.Totals[it.Class]++
			b := data.Box{X1: it.Box[0], Y1: it.Box[1], X2: it.Box[2], Y2: it.Box[3]}
			caps = append(caps, caption{Box: b, Class: classIndex[it.Class], Text: fmt.Sprintf("%s %.2f", it.Class, it.Probability)})
		}
		if draw && s.Error == "" {
			img, err := augment.DecodeFile(s.File)
			if err != nil {
				return nil, err
			}
			s.Annotated = filepath.Join(out, "images", names[i]+".png")
			if err := annotate(s.Annotated, img, caps); err != nil {
				return nil, err
			}
		}
	}
	return sum, nil
}

func printSortSummary(env *Env, sum *SortSummary) {
	fmt.Fprintf(env.Stdout, "detector: %s\nclassifier: %s\n", sum.Detector, sum.Classifier)
	for _, s := range sum.Images {
		if s.Error != "" {
			fmt.Fprintf(env.Stdout, "%s\terror: %s\n", s.File, s.Error)
			continue
		}
		var parts []string
		for _, it := range s.Items {
			parts = append(parts, fmt.Sprintf("%s %.2f at [%.0f %.0f %.0f %.0f]", it.Class, it.Probability, it.Box[0], it.Box[1], it.Box[2], it.Box[3]))
		}
		fmt.Fprintf(env.Stdout, "%s\t%d item(s)\t%s\n", s.File, len(s.Items), strings.Join(parts, "; "))
	}
	var names []string
	for n := range sum.Totals {
		names = append(names, n)
	}
	sort.Strings(names)
	var rows [][]string
	for _, n := range names {
		rows = append(rows, []string{n, strconv.Itoa(sum.Totals[n])})
	}
	fmt.Fprintf(env.Stdout, "\n%d image(s):\n", len(sum.Images))
	fmt.Fprint(env.Stdout, table([]string{"class", "items"}, rows))
}
