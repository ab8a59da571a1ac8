package augment

import (
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
)

// boxColors is a small qualitative palette for box outlines (by label).
var boxColors = [][3]uint8{
	{230, 25, 75}, {60, 180, 75}, {255, 225, 25}, {0, 130, 200},
	{245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
}

// DrawBoxes draws box outlines (2 px, coloured by label) onto a 3-channel
// image in place.
func DrawBoxes(img *Image, boxes []Box, labels []int) {
	if img.C != 3 {
		return
	}
	for i, b := range boxes {
		col := boxColors[i%len(boxColors)]
		if i < len(labels) && labels[i] >= 0 {
			col = boxColors[labels[i]%len(boxColors)]
		}
		x1 := int(math.Floor(b.X1))
		y1 := int(math.Floor(b.Y1))
		x2 := int(math.Ceil(b.X2)) - 1
		y2 := int(math.Ceil(b.Y2)) - 1
		for t := 0; t < 2; t++ {
			hline(img, x1, x2, y1+t, col)
			hline(img, x1, x2, y2-t, col)
			vline(img, y1, y2, x1+t, col)
			vline(img, y1, y2, x2-t, col)
		}
	}
}

func setPx(img *Image, x, y int, col [3]uint8) {
	if x < 0 || y < 0 || x >= img.W || y >= img.H {
		return
	}
	p := (y*img.W + x) * 3
	img.Pix[p], img.Pix[p+1], img.Pix[p+2] = col[0], col[1], col[2]
}

func hline(img *Image, x1, x2, y int, col [3]uint8) {
	for x := x1; x <= x2; x++ {
		setPx(img, x, y, col)
	}
}

func vline(img *Image, y1, y2, x int, col [3]uint8) {
	for y := y1; y <= y2; y++ {
		setPx(img, x, y, col)
	}
}

// Preview writes to w a PNG grid of n augmented versions of one image, the
// first cell being the input itself, with boxes drawn, so a person can see
// what training sees. Draw k uses SampleRNG(seed, 0, k). Cells are as
// large as the largest output; smaller ones sit top-left on grey.
func Preview(w io.Writer, img *Image, boxes []Box, labels []int, p *Pipeline, n int, seed uint64) error {
	if p == nil {
		return errors.New("augment.Preview: nil pipeline")
	}
	if n < 1 || n > 1024 {
		return fmt.Errorf("augment.Preview: n = %d: must be in [1, 1024]", n)
	}
	if err := img.Validate(); err != nil {
		return fmt.Errorf("augment.Preview: %w", err)
	}
	cells := make([]*Image, 0, n+1)
	first := toRGB(img)
	DrawBoxes(first, boxes, labels)
	cells = append(cells, first)
	for k := 0; k < n; k++ {
		out, err := p.Run(SampleRNG(seed, 0, uint64(k)), Sample{Image: img, Boxes: boxes, Labels: labels}, nil)
		if err != nil {
			return fmt.Errorf("augment.Preview: draw %d: %w", k, err)
		}
		cell := toRGB(out.Image)
		DrawBoxes(cell, out.Boxes, out.Labels)
		cells = append(cells, cell)
	}
	cw, ch := 0, 0
	for _, c := range cells {
		cw, ch = max(cw, c.W), max(ch, c.H)
	}
	cols := int(math.Ceil(math.Sqrt(float64(len(cells)))))
	rows := (len(cells) + cols - 1) / cols
	const gap = 4
	gw, gh := cols*cw+(cols+1)*gap, rows*ch+(rows+1)*gap
	if int64(gw)*int64(gh) > MaxPixels {
		return fmt.Errorf("augment.Preview: grid of %dx%d pixels is too large", gw, gh)
	}
	grid := NewImage(gh, gw, 3)
	for i := range grid.Pix {
		grid.Pix[i] = 64
	}
	for i, c := range cells {
		ox := gap + (i%cols)*(cw+gap)
		oy := gap + (i/cols)*(ch+gap)
		for y := 0; y < c.H; y++ {
			copy(grid.Row(oy + y)[ox*3:(ox+c.W)*3], c.Row(y))
		}
	}
	return png.Encode(w, grid.Std())
}

// PreviewFile is Preview writing to a file (created or truncated).
func PreviewFile(path string, img *Image, boxes []Box, labels []int, p *Pipeline, n int, seed uint64) error {
	f, err := os.Create(filepath.Clean(path))
	if err != nil {
		return fmt.Errorf("augment.Preview: %w", err)
	}
	if err := Preview(f, img, boxes, labels, p, n, seed); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// toRGB copies an image to three channels.
func toRGB(img *Image) *Image {
	out := NewImage(img.H, img.W, 3)
	n := img.H * img.W
	for i := 0; i < n; i++ {
		s := img.Pix[i*img.C:]
		d := out.Pix[i*3 : i*3+3]
		if img.C >= 3 {
			d[0], d[1], d[2] = s[0], s[1], s[2]
		} else {
			d[0], d[1], d[2] = s[0], s[0], s[0]
		}
	}
	return out
}
