package app

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/sortnet/sortnet/data"
	"github.com/sortnet/sortnet/train"
)

func init() {
	register("crops", "cut square crops around detections or ground-truth boxes into an ImageFolder", cmdCrops)
}

func cmdCrops(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "crops", "crops [flags]\n\n"+
		"Cuts a square around every box — the detect-waste crop cutter — and writes\n"+
		"the crops as an ImageFolder, <out>/<class>/<image id>_<box id>.jpg, ready for\n"+
		"waste train or pseudo-labelling. The boxes come from detect's\n"+
		"detections.json (-detections), from a COCO file's annotations (-coco, the\n"+
		"ground truth) or from a COCO results file (-results, with -coco for its\n"+
		"images and categories). Parts of a square outside the image are filled\n"+
		"with the ImageNet mean.")
	dets := fs.String("detections", "", "detect's detections.json")
	cocoPath := fs.String("coco", "", "COCO file: its annotations are cut (ground truth), or, with -results, its images and categories are used")
	results := fs.String("results", "", "COCO results file ([{image_id, category_id, bbox, score}]) to cut instead of -coco's annotations")
	images := fs.String("images", "", "folder the -coco file names are relative to (default: the JSON file's folder)")
	out := fs.String("out", "runs/crops", "ImageFolder root to write")
	zoom := fs.Float64("zoom", 1.4, "side of each square as a multiple of its box's longer side (1: tight, as detect-waste; the synthetic classifier crops have 1.15–1.75)")
	size := fs.Int("size", 0, "resize every crop to this many pixels square (0: keep the cut size)")
	minScore := fs.Float64("min-score", 0.3, "skip detections scoring below this (ground truth has no score and is kept)")
	minSide := fs.Float64("min-side", 8, "skip boxes whose longer side is shorter (pixels)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if (*dets == "") == (*cocoPath == "") {
		return fmt.Errorf("crops: give either -detections or -coco (see waste crops -h)")
	}
	if *results != "" && *cocoPath == "" {
		return fmt.Errorf("crops: -results needs -coco for the images it refers to")
	}
	if !(*zoom > 0) || math.IsInf(*zoom, 0) || *size < 0 || *minSide < 0 {
		return fmt.Errorf("crops: -zoom must be positive, -size and -min-side not negative")
	}
	var c *data.COCO
	var root string
	switch {
	case *dets != "":
		all, err := readDetections(*dets)
		if err != nil {
			return err
		}
		if c, err = detectionsCOCO(all); err != nil {
			return fmt.Errorf("%s: %w", *dets, err)
		}
		s := &cocoSplit{COCO: c}
		for i := range c.Images {
			if _, err := os.Stat(s.file(i)); err != nil {
				return fmt.Errorf("%s: image %s does not exist (its path is as detect was given it: run crops from the same folder)", *dets, s.file(i))
			}
		}
	default:
		s, err := readSplit(filepath.Base(*cocoPath), *cocoPath, *images)
		if err != nil {
			return err
		}
		c, root = s.COCO, s.Images
		if *results != "" {
			if c, err = withResults(c, *results); err != nil {
				return err
			}
		}
	}
	st, err := cutCrops(ctx, env, c, root, *out, data.CropOptions{Zoom: *zoom, Size: *size, MinScore: *minScore, MinSide: *minSide})
	if err != nil {
		return err
	}
	printCropStats(env, st, *out)
	return nil
}

func cutCrops(ctx context.Context, env *Env, c *data.COCO, root, out string, o data.CropOptions) (data.CropStats, error) {
	stage := progress(env).Start("crops", len(c.Images))
	last := 0
	st, err := data.CutCrops(ctx, c, root, out, o, func(done, total int) {
		stage.Add(done-last, math.NaN(), train.NoAccuracy)
		last = done
	})
	stage.Done()
	return st, err
}

func printCropStats(env *Env, st data.CropStats, out string) {
	var names []string
	for n := range st.PerClass {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(env.Stdout, "wrote %d crops to %s (%d boxes skipped: too small or below -min-score)", st.Written, out, st.Skipped)
	for _, n := range names {
		fmt.Fprintf(env.Stdout, ", %s %d", n, st.PerClass[n])
	}
	fmt.Fprintln(env.Stdout)
}

// readDetections reads detect's detections.json.
func readDetections(path string) ([]ImageDetections, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var all []ImageDetections
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("%s: not detect's detections.json: %w", path, err)
	}
	return all, nil
}

// withResults replaces c's annotations by the detections of a COCO
// results file, checking that they name c's images and categories.
func withResults(c *data.COCO, path string) (*data.COCO, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []data.COCOAnnotation
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: not a COCO results file (a JSON array of {image_id, category_id, bbox, score}): %w", path, err)
	}
	out := *c
	out.Annotations = make([]data.COCOAnnotation, len(rs))
	for i, r := range rs {
		r.ID = i + 1
		r.Area = r.BBox[2] * r.BBox[3]
		out.Annotations[i] = r
	}
	if _, err := out.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &out, nil
}
