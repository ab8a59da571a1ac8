package litter

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"strings"
)

// ContactSheet writes a PNG preview of the world: perClass labelled crops
// of every class (a row each, as the labelled splits draw them), a row of
// pool crops (domain-shifted, captioned with their hidden true class), and
// two whole scenes, a labelled one and a pool one, with their boxes drawn.
// The preview images are drawn from their own random stream, so they are
// the same whatever the split sizes.
func ContactSheet(w io.Writer, cfg Config, perClass int) error {
	cfg = cfg.filled()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if perClass < 1 || perClass > 64 {
		return fmt.Errorf("litter.ContactSheet: perClass %d: must lie in [1, 64]", perClass)
	}
	const gap, labelW, scale = 4, 230, 2
	cell := cfg.Size + gap
	cropsW := labelW + perClass*cell
	scenesW := 2*cfg.SceneW + 3*gap
	W := max(cropsW, scenesW)
	capH := 10 * scale / 2 * 2
	rows := NumClasses + 1
	H := rows*(cell+capH) + gap + 24 + cfg.SceneH + gap
	sheet := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.RGBA{24, 24, 28, 255}), image.Point{}, draw.Src)
	white := color.RGBA{235, 235, 235, 255}

	y := gap
	for c := 0; c <= NumClasses; c++ {
		name := "pool"
		if c < NumClasses {
			name = Classes[c]
		}
		drawText(sheet, gap, y+cfg.Size/2-7, strings.ToUpper(name), white, scale)
		for k := 0; k < perClass; k++ {
			var img *image.RGBA
			cls := c
			if c < NumClasses {
				img = renderCrop(&cfg, Train, c*1000+k, c, streamPreview).img
			} else {
				r := sampleRNG(cfg.Seed, streamPreview, Pool, k)
				cls = drawClass(r, PoolWeights)
				img = renderCrop(&cfg, Pool, 100000+k, cls, streamPreview).img
			}
			x := labelW + k*cell
			draw.Draw(sheet, image.Rect(x, y, x+cfg.Size, y+cfg.Size), img, image.Point{}, draw.Src)
			if c == NumClasses {
				drawText(sheet, x, y+cfg.Size+2, short(cls), white, 1)
			}
		}
		y += cell + capH
	}
	drawText(sheet, gap, y+4, "SCENES: TRAIN 0 AND POOL 0 WITH THEIR BOXES", white, scale)
	y += 24
	for k, split := range []Split{Train, Pool} {
		wd, objs := sceneWorld(&cfg, split, 0)
		s, _ := drawScene(&cfg, wd, objs, split, 0, 2)
		x := gap + k*(cfg.SceneW+gap)
		draw.Draw(sheet, image.Rect(x, y, x+cfg.SceneW, y+cfg.SceneH), s.Image, image.Point{}, draw.Src)
		for _, o := range s.Objects {
			col := classColours[o.True]
			b := image.Rect(x+int(o.Box.X1), y+int(o.Box.Y1), x+int(o.Box.X2), y+int(o.Box.Y2))
			drawRect(sheet, b, col)
			drawText(sheet, b.Min.X+2, b.Min.Y+2, short(o.True), col, 1)
		}
	}
	return png.Encode(w, sheet)
}

var classColours = [NumClasses]color.RGBA{
	{200, 200, 200, 255}, {60, 220, 60, 255}, {40, 220, 230, 255}, {240, 60, 60, 255},
	{250, 160, 30, 255}, {200, 90, 240, 255}, {255, 255, 255, 255}, {250, 240, 60, 255},
}

func short(c int) string {
	return [NumClasses]string{"BG", "BIO", "GLASS", "METAL/PL", "NONREC", "OTHER", "PAPER", "UNKNOWN"}[c]
}

func drawRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for t := 0; t < 2; t++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, r.Min.Y+t, c)
			img.SetRGBA(x, r.Max.Y-1-t, c)
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			img.SetRGBA(r.Min.X+t, y, c)
			img.SetRGBA(r.Max.X-1-t, y, c)
		}
	}
}

// drawText writes s in a 5×7 bitmap font, scaled, with a dark outline.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA, scale int) {
	dark := color.RGBA{0, 0, 0, 255}
	for pass := 0; pass < 2; pass++ {
		cx := x
		for _, ch := range s {
			g, ok := glyphs[ch]
			if !ok {
				g = glyphs['?']
			}
			for row := 0; row < 7; row++ {
				for col := 0; col < 5; col++ {
					if g[row]>>(4-col)&1 == 0 {
						continue
					}
					for dy := 0; dy < scale; dy++ {
						for dx := 0; dx < scale; dx++ {
							px, py := cx+col*scale+dx, y+row*scale+dy
							if pass == 0 {
								for _, o := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
									if (image.Point{px + o[0], py + o[1]}).In(img.Bounds()) {
										img.SetRGBA(px+o[0], py+o[1], dark)
									}
								}
							} else if (image.Point{px, py}).In(img.Bounds()) {
								img.SetRGBA(px, py, c)
							}
						}
					}
				}
			}
			cx += 6 * scale
		}
	}
}

var glyphs = map[rune][7]uint8{
	'A': {14, 17, 17, 31, 17, 17, 17}, 'B': {30, 17, 17, 30, 17, 17, 30}, 'C': {14, 17, 16, 16, 16, 17, 14},
	'D': {30, 17, 17, 17, 17, 17, 30}, 'E': {31, 16, 16, 30, 16, 16, 31}, 'F': {31, 16, 16, 30, 16, 16, 16},
	'G': {14, 17, 16, 23, 17, 17, 15}, 'H': {17, 17, 17, 31, 17, 17, 17}, 'I': {14, 4, 4, 4, 4, 4, 14},
	'J': {7, 2, 2, 2, 2, 18, 12}, 'K': {17, 18, 20, 24, 20, 18, 17}, 'L': {16, 16, 16, 16, 16, 16, 31},
	'M': {17, 27, 21, 21, 17, 17, 17}, 'N': {17, 17, 25, 21, 19, 17, 17}, 'O': {14, 17, 17, 17, 17, 17, 14},
	'P': {30, 17, 17, 30, 16, 16, 16}, 'Q': {14, 17, 17, 17, 21, 18, 13}, 'R': {30, 17, 17, 30, 20, 18, 17},
	'S': {15, 16, 16, 14, 1, 1, 30}, 'T': {31, 4, 4, 4, 4, 4, 4}, 'U': {17, 17, 17, 17, 17, 17, 14},
	'V': {17, 17, 17, 17, 17, 10, 4}, 'W': {17, 17, 17, 21, 21, 21, 10}, 'X': {17, 17, 10, 4, 10, 17, 17},
	'Y': {17, 17, 17, 10, 4, 4, 4}, 'Z': {31, 1, 2, 4, 8, 16, 31},
	'0': {14, 17, 19, 21, 25, 17, 14}, '1': {4, 12, 4, 4, 4, 4, 14}, '2': {14, 17, 1, 2, 4, 8, 31},
	'3': {31, 2, 4, 2, 1, 17, 14}, '4': {2, 6, 10, 18, 31, 2, 2}, '5': {31, 16, 30, 1, 1, 17, 14},
	'6': {6, 8, 16, 30, 17, 17, 14}, '7': {31, 1, 2, 4, 8, 8, 8}, '8': {14, 17, 17, 14, 17, 17, 14},
	'9': {14, 17, 17, 15, 1, 2, 12},
	'_': {0, 0, 0, 0, 0, 0, 31}, '-': {0, 0, 0, 31, 0, 0, 0}, '.': {0, 0, 0, 0, 0, 12, 12},
	':': {0, 12, 12, 0, 12, 12, 0}, '/': {1, 1, 2, 4, 8, 16, 16}, '(': {2, 4, 8, 8, 8, 4, 2},
	')': {8, 4, 2, 2, 2, 4, 8}, '%': {24, 25, 2, 4, 8, 19, 3}, '=': {0, 0, 31, 0, 31, 0, 0},
	' ': {}, '?': {14, 17, 1, 2, 4, 0, 4}, ',': {0, 0, 0, 0, 12, 4, 8},
}
