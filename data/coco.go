package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// COCO is a detection data set in the COCO JSON format: images,
// categories and box annotations.
type COCO struct {
	Images      []COCOImage      `json:"images"`
	Annotations []COCOAnnotation `json:"annotations"`
	Categories  []COCOCategory   `json:"categories"`
	// Info and Licenses are kept as they are.
	Info     json.RawMessage `json:"info,omitempty"`
	Licenses json.RawMessage `json:"licenses,omitempty"`
}

// COCOImage is one image entry.
type COCOImage struct {
	ID       int    `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// COCOAnnotation is one object: a box [x, y, width, height] in pixels from
// the top-left corner.
type COCOAnnotation struct {
	ID         int        `json:"id"`
	ImageID    int        `json:"image_id"`
	CategoryID int        `json:"category_id"`
	BBox       [4]float64 `json:"bbox"`
	Area       float64    `json:"area"`
	IsCrowd    int        `json:"iscrowd"`
	// Score is set in detection results (COCO "results" files).
	Score float64 `json:"score,omitempty"`
}

// COCOCategory is one class.
type COCOCategory struct {
	ID            int    `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory,omitempty"`
}

// Box returns the annotation's box in pascal_voc order.
func (a COCOAnnotation) Box() Box {
	return Box{X1: a.BBox[0], Y1: a.BBox[1], X2: a.BBox[0] + a.BBox[2], Y2: a.BBox[1] + a.BBox[3]}
}

// COCOStats reports what Validate dropped.
type COCOStats struct {
	Images, Annotations, Categories int
	// Degenerate counts boxes dropped for zero or negative width or height.
	Degenerate int
	// Clipped counts boxes that reached outside their image by less than
	// the tolerance and were clipped to it.
	Clipped int
}

// ReadCOCO reads and validates a COCO JSON file (see Validate).
func ReadCOCO(path string) (*COCO, COCOStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, COCOStats{}, err
	}
	defer f.Close()
	c, st, err := DecodeCOCO(f)
	if err != nil {
		return nil, st, fmt.Errorf("%s: %w", path, err)
	}
	return c, st, nil
}

// DecodeCOCO decodes and validates COCO JSON from r.
func DecodeCOCO(r io.Reader) (*COCO, COCOStats, error) {
	var c COCO
	dec := json.NewDecoder(r)
	if err := dec.Decode(&c); err != nil {
		return nil, COCOStats{}, fmt.Errorf("COCO JSON: %w", err)
	}
	st, err := c.Validate()
	if err != nil {
		return nil, st, err
	}
	return &c, st, nil
}

// boxTolerance is how far (in pixels) a box may reach outside its image
// before it is an error rather than clipped: labelling tools round.
const boxTolerance = 2

// Validate checks the data set and tidies it in place: image and category
// ids must be unique and every annotation must name an existing image and
// category; image sizes must be positive; boxes must be finite and lie
// inside their image (up to 2 pixels outside is clipped and counted).
// Degenerate boxes (zero or negative width or height) are dropped and
// counted; a missing area is computed from the box. Errors name the
// offending entry.
func (c *COCO) Validate() (COCOStats, error) {
	var st COCOStats
	if len(c.Images) == 0 {
		return st, errors.New("COCO: no images")
	}
	if len(c.Categories) == 0 {
		return st, errors.New("COCO: no categories")
	}
	images := map[int]*COCOImage{}
	for i := range c.Images {
		im := &c.Images[i]
		if _, dup := images[im.ID]; dup {
			return st, fmt.Errorf("COCO: image id %d appears twice", im.ID)
		}
		if im.Width <= 0 || im.Height <= 0 {
			return st, fmt.Errorf("COCO: image %d (%q) has size %dx%d", im.ID, im.FileName, im.Width, im.Height)
		}
		if im.FileName == "" {
			return st, fmt.Errorf("COCO: image %d has no file_name", im.ID)
		}
		images[im.ID] = im
	}
	cats := map[int]bool{}
	for _, ct := range c.Categories {
		if cats[ct.ID] {
			return st, fmt.Errorf("COCO: category id %d appears twice", ct.ID)
		}
		cats[ct.ID] = true
	}
	kept := c.Annotations[:0]
	for _, a := range c.Annotations {
		im, ok := images[a.ImageID]
		if !ok {
			return st, fmt.Errorf("COCO: annotation %d refers to unknown image id %d", a.ID, a.ImageID)
		}
		if !cats[a.CategoryID] {
			return st, fmt.Errorf("COCO: annotation %d refers to unknown category id %d", a.ID, a.CategoryID)
		}
		for _, v := range a.BBox {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return st, fmt.Errorf("COCO: annotation %d has box %v", a.ID, a.BBox)
			}
		}
		if a.BBox[2] <= 0 || a.BBox[3] <= 0 {
			st.Degenerate++
			continue
		}
		b := a.Box()
		w, h := float64(im.Width), float64(im.Height)
		if b.X1 < -boxTolerance || b.Y1 < -boxTolerance || b.X2 > w+boxTolerance || b.Y2 > h+boxTolerance {
			return st, fmt.Errorf("COCO: annotation %d box %v lies outside image %d (%dx%d)", a.ID, a.BBox, im.ID, im.Width, im.Height)
		}
		if b.X1 < 0 || b.Y1 < 0 || b.X2 > w || b.Y2 > h {
			b = Box{X1: max(b.X1, 0), Y1: max(b.Y1, 0), X2: min(b.X2, w), Y2: min(b.Y2, h)}
			if b.X2 <= b.X1 || b.Y2 <= b.Y1 {
				st.Degenerate++
				continue
			}
			a.BBox = [4]float64{b.X1, b.Y1, b.X2 - b.X1, b.Y2 - b.Y1}
			st.Clipped++
		}
		if a.Area <= 0 {
			a.Area = a.BBox[2] * a.BBox[3]
		}
		kept = append(kept, a)
	}
	c.Annotations = kept
	st.Images, st.Annotations, st.Categories = len(c.Images), len(c.Annotations), len(c.Categories)
	return st, nil
}

// CategoryIndex maps category ids to contiguous class indices 0..K-1 in
// increasing id order, and returns the class names in that order.
func (c *COCO) CategoryIndex() (map[int]int, []string) {
	cats := append([]COCOCategory(nil), c.Categories...)
	sort.Slice(cats, func(i, j int) bool { return cats[i].ID < cats[j].ID })
	idx := map[int]int{}
	names := make([]string, len(cats))
	for i, ct := range cats {
		idx[ct.ID] = i
		names[i] = ct.Name
	}
	return idx, names
}

// ByImage groups the annotations by image id.
func (c *COCO) ByImage() map[int][]COCOAnnotation {
	m := map[int][]COCOAnnotation{}
	for _, a := range c.Annotations {
		m[a.ImageID] = append(m[a.ImageID], a)
	}
	return m
}

// WriteCOCO writes c as JSON to path (temporary file, then rename).
func WriteCOCO(path string, c *COCO) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
