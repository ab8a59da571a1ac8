package data

import (
	"context"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sortnet/sortnet/augment"
)

// CropOptions configures CutCrops.
type CropOptions struct {
	// Zoom scales the square around each box: its side is Zoom times the
	// box's longer side (default 1, detect-waste's cut_bbox_litter; larger
	// values keep some context around the object).
	Zoom float64
	// Size resizes every crop to Size×Size (0 keeps the cut size).
	Size int
	// Fill colours the parts of a square that fall outside the image
	// (default the ImageNet mean). detect-waste mirrored negative
	// coordinates instead, which cut the wrong region near the borders.
	Fill augment.Color
	// MinSide skips boxes whose longer side is shorter (pixels, default 1).
	MinSide float64
	// MinScore skips detections (annotations with a Score above 0) scoring
	// below it; ground-truth annotations have no score and are kept.
	MinScore float64
	// Quality is the JPEG quality (default 95).
	Quality int
}

// CropStats counts what CutCrops did.
type CropStats struct {
	Written  int
	PerClass map[string]int
	Skipped  int // boxes too small or below MinScore
}

// CutCrops writes a square crop around every annotation of c as a JPEG in
// outDir/<category name>/<image id>_<annotation id>.jpg — an ImageFolder
// for the classifier, as detect-waste's crop cutter made from its detection
// data and from detector output (annotations with a score). Image files are
// found as imageDir/<file_name>. progress, if not nil, is called after each
// image. The first unreadable image stops it with an error naming the file.
func CutCrops(ctx context.Context, c *COCO, imageDir, outDir string, o CropOptions, progress func(done, total int)) (CropStats, error) {
	st := CropStats{PerClass: map[string]int{}}
	o = o.withDefaults()
	if err := o.check("data.CutCrops"); err != nil {
		return st, err
	}
	names := map[int]string{}
	for _, ct := range c.Categories {
		names[ct.ID] = ct.Name
		if err := os.MkdirAll(filepath.Join(outDir, ct.Name), 0o755); err != nil {
			return st, err
		}
	}
	byImage := c.ByImage()
	for k, im := range c.Images {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		anns := byImage[im.ID]
		if len(anns) > 0 {
			img, err := augment.DecodeFile(filepath.Join(imageDir, im.FileName))
			if err != nil {
				return st, err
			}
			for _, a := range anns {
				if (a.Score > 0 && a.Score < o.MinScore) || max(a.BBox[2], a.BBox[3]) < o.MinSide {
					st.Skipped++
					continue
				}
				crop, err := squareCrop(img, a.Box(), o)
				if err != nil {
					return st, fmt.Errorf("data.CutCrops: %s, annotation %d: %w", im.FileName, a.ID, err)
				}
				name := names[a.CategoryID]
				path := filepath.Join(outDir, name, strconv.Itoa(im.ID)+"_"+strconv.Itoa(a.ID)+".jpg")
				if err := writeJPEG(path, crop, o.Quality); err != nil {
					return st, err
				}
				st.Written++
				st.PerClass[name]++
			}
		}
		if progress != nil {
			progress(k+1, len(c.Images))
		}
	}
	return st, nil
}

// withDefaults fills the zero options with their defaults.
func (o CropOptions) withDefaults() CropOptions {
	if o.Zoom == 0 {
		o.Zoom = 1
	}
	if o.Quality == 0 {
		o.Quality = 95
	}
	if o.MinSide == 0 {
		o.MinSide = 1
	}
	if o.Fill == nil {
		o.Fill = augment.MeanFill
	}
	return o
}

func (o CropOptions) check(who string) error {
	if !(o.Zoom > 0) || math.IsInf(o.Zoom, 0) || o.Size < 0 || o.Quality < 1 || o.Quality > 100 {
		return fmt.Errorf("%s: zoom %v, size %d, quality %d: need zoom > 0, size >= 0, quality in 1..100", who, o.Zoom, o.Size, o.Quality)
	}
	return nil
}

// SquareCrop cuts from img the square CutCrops cuts around b (in img's
// pixels): side Zoom·max(w, h) centred on b, what lies outside the image
// filled with Fill, resized to Size×Size unless Size is 0. Zero options
// take CutCrops' defaults; MinSide, MinScore and Quality play no part.
func SquareCrop(img *augment.Image, b Box, o CropOptions) (*augment.Image, error) {
	o = o.withDefaults()
	if err := o.check("data.SquareCrop"); err != nil {
		return nil, err
	}
	return squareCrop(img, b, o)
}

// squareCrop is SquareCrop with the options resolved.
func squareCrop(img *augment.Image, b Box, o CropOptions) (*augment.Image, error) {
	side := o.Zoom * max(b.Width(), b.Height())
	cx, cy := (b.X1+b.X2)/2, (b.Y1+b.Y2)/2
	n := max(1, int(math.Round(side)))
	x0, y0 := int(math.Round(cx-float64(n)/2)), int(math.Round(cy-float64(n)/2))
	out := augment.NewImage(n, n, img.C)
	for y := 0; y < n; y++ {
		sy := y0 + y
		for x := 0; x < n; x++ {
			sx := x0 + x
			dst := out.Pix[(y*n+x)*img.C : (y*n+x+1)*img.C]
			if sy < 0 || sy >= img.H || sx < 0 || sx >= img.W {
				for c := range dst {
					dst[c] = o.Fill[c%len(o.Fill)]
				}
				continue
			}
			copy(dst, img.Pix[(sy*img.W+sx)*img.C:])
		}
	}
	if o.Size == 0 || o.Size == n {
		return out, nil
	}
	interp := augment.Area
	if o.Size > n {
		interp = augment.Bilinear
	}
	return augment.ResizeImage(out, o.Size, o.Size, interp)
}

func writeJPEG(path string, img *augment.Image, quality int) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img.Std(), &jpeg.Options{Quality: quality}); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
