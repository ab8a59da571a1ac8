package litter

import (
	"math"
	"testing"
)

func TestPermutationIsBijective(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 17, 64, 1000, 4097} {
		l := newLabeler(7, Train, n)
		seen := make([]bool, n)
		for i := 0; i < n; i++ {
			p := l.permute(i)
			if p < 0 || p >= n || seen[p] {
				t.Fatalf("n=%d: permute(%d) = %d repeats or leaves [0, n)", n, i, p)
			}
			seen[p] = true
		}
	}
}

// TestBoxesMatchDrawing checks every annotated box against a brute-force
// scan of the pixels the object covers, and that the object really changes
// those pixels.
func TestBoxesMatchDrawing(t *testing.T) {
	cfg := Config{Seed: 12, SceneW: 200, SceneH: 150, MaxObjects: 6}.filled()
	checked := 0
	for _, split := range []Split{Train, Pool} {
		for i := 0; i < 8; i++ {
			wd, objs := sceneWorld(&cfg, split, i)
			full := wd.render(0, 0, 200, 150, 200, 150)
			for _, o := range objs {
				x0, y0, x1, y1 := 1<<30, 1<<30, -1, -1
				covered := 0
				for y := 0; y < 150; y++ {
					for x := 0; x < 200; x++ {
						if o.inside(float32(x)+0.5, float32(y)+0.5) {
							x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
							covered++
						}
					}
				}
				want := rect{float32(x0), float32(y0), float32(x1 + 1), float32(y1 + 1)}
				if o.box != want {
					t.Fatalf("%v scene %d: box %+v, the drawn pixels span %+v", split, i, o.box, want)
				}
				// draw the scene without the object: its pixels change
				var rest []*object
				for _, p := range wd.objs {
					if p != o {
						rest = append(rest, p)
					}
				}
				without := *wd
				without.objs = rest
				bare := without.render(0, 0, 200, 150, 200, 150)
				changed := 0
				for y := y0; y <= y1; y++ {
					for x := x0; x <= x1; x++ {
						if !o.inside(float32(x)+0.5, float32(y)+0.5) {
							continue
						}
						a, b := full.at(x, y), bare.at(x, y)
						if abs32(a.r-b.r)+abs32(a.g-b.g)+abs32(a.b-b.b) > 0.01 {
							changed++
						}
					}
				}
				if changed < covered/2 {
					t.Fatalf("%v scene %d: object %T changes only %d of its %d pixels", split, i, o.it, changed, covered)
				}
				checked++
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d objects checked", checked)
	}
}

func TestFastMath(t *testing.T) {
	for x := float32(-200); x < 200; x += 0.0137 {
		if d := math.Abs(float64(sin32(x)) - math.Sin(float64(x))); d > 2e-5 {
			t.Fatalf("sin32(%v) = %v, want %v", x, sin32(x), math.Sin(float64(x)))
		}
		if d := math.Abs(float64(cos32(x)) - math.Cos(float64(x))); d > 2e-5 {
			t.Fatalf("cos32(%v) = %v, want %v", x, cos32(x), math.Cos(float64(x)))
		}
	}
	for a := float32(0); a < 6.3; a += 0.01 {
		x, y := cos32(a)*3, sin32(a)*3
		if d := math.Abs(float64(atan2(y, x)) - math.Atan2(float64(y), float64(x))); d > 2e-3 {
			t.Fatalf("atan2(%v, %v) = %v", y, x, atan2(y, x))
		}
	}
}

var sink float32

// BenchmarkGround measures the per-pixel cost of each ground texture.
func BenchmarkGround(b *testing.B) {
	for k := groundKind(0); k < numGrounds; k++ {
		b.Run(groundNames[k], func(b *testing.B) {
			g := makeGround(sampleRNG(1, 1, Train, int(k)), k)
			x := float32(0)
			for b.Loop() {
				sink += g.at(x, x*0.7+3, 0.2).r
				x += 0.37
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpixel/s")
		})
	}
}
