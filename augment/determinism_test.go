package augment_test

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/sortnet/sortnet/augment"
)

// result is one processed sample, reduced to bytes for comparison.
func digest(dst []float32, s augment.Sample) []byte {
	var b bytes.Buffer
	for _, v := range dst {
		binary.Write(&b, binary.LittleEndian, math.Float32bits(v))
	}
	binary.Write(&b, binary.LittleEndian, s.Boxes)
	for _, l := range s.Labels {
		binary.Write(&b, binary.LittleEndian, int64(l))
	}
	binary.Write(&b, binary.LittleEndian, s.Geom)
	return b.Bytes()
}

type presetCase struct {
	name string
	p    *augment.Pipeline
	size int
}

func presets() []presetCase {
	return []presetCase{
		{"DetectWasteTrain", augment.DetectWasteTrain(96), 96},
		{"DetectWasteEval", augment.DetectWasteEval(96), 96},
		{"EffDetTrain", augment.EffDetTrain(96), 96},
		{"EffDetEval", augment.EffDetEval(96), 96},
		{"DetectWasteDetectorTrain", augment.DetectWasteDetectorTrain(96), 96},
		{"FixMatchWeak", augment.FixMatchWeak(64), 64},
		{"FixMatchStrong", augment.FixMatchStrong(64, 10), 64},
	}
}

// processAll augments n samples of one epoch with the given number of
// worker goroutines, each with its own Workspace, taking indices in an
// interleaved order; it returns one digest per sample index.
func processAll(t *testing.T, p *augment.Pipeline, size, n, workers int, seed uint64, srcs []augment.Sample) [][]byte {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ws := new(augment.Workspace)
			dst := make([]float32, size*size*3)
			for i := n - 1 - w; i >= 0; i -= workers { // reverse, strided
				s, err := p.Process(augment.SampleRNG(seed, 2, uint64(i)), srcs[i%len(srcs)], dst, ws)
				if err != nil {
					errs <- err
					return
				}
				out[i] = digest(dst, s)
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// TestDeterminismAcrossWorkers: the same seed gives byte-identical samples
// with 1 and 8 workers, and on a second run.
func TestDeterminismAcrossWorkers(t *testing.T) {
	srcs := []augment.Sample{
		{Image: photo(120, 160, 1), Boxes: []augment.Box{{10, 10, 80, 90}, {90, 30, 150, 110}}, Labels: []int{1, 2}},
		{Image: photo(150, 100, 2), Boxes: []augment.Box{{5, 5, 95, 140}}, Labels: []int{5}},
	}
	const n = 24
	for _, pc := range presets() {
		t.Run(pc.name, func(t *testing.T) {
			one := processAll(t, pc.p, pc.size, n, 1, 42, srcs)
			eight := processAll(t, pc.p, pc.size, n, 8, 42, srcs)
			again := processAll(t, pc.p, pc.size, n, 3, 42, srcs)
			other := processAll(t, pc.p, pc.size, n, 1, 43, srcs)
			same := 0
			for i := range one {
				if !bytes.Equal(one[i], eight[i]) || !bytes.Equal(one[i], again[i]) {
					t.Fatalf("sample %d differs between runs / worker counts", i)
				}
				if bytes.Equal(one[i], other[i]) {
					same++
				}
			}
			if pc.name != "DetectWasteEval" && pc.name != "EffDetEval" && same == n {
				t.Fatalf("seed 43 reproduces seed 42 exactly")
			}
		})
	}
}

// TestFusedResizeCrop: Resize then RandomCrop in one list is computed as one
// windowed resize; it must equal the two steps run separately.
func TestFusedResizeCrop(t *testing.T) {
	src := photo(97, 131, 9)
	boxes := []augment.Box{{3, 4, 90, 80}, {100, 50, 130, 96}}
	for _, interp := range []augment.Interpolation{augment.Bilinear, augment.Bicubic, augment.Area, augment.Nearest} {
		for _, sz := range [][4]int{{80, 100, 60, 70}, {200, 180, 150, 101}, {48, 65, 48, 65}, {97, 131, 50, 50}} {
			r := augment.NewResize(sz[0], sz[1])
			r.Interpolation = interp
			c := augment.NewRandomCrop(sz[2], sz[3])
			fused := &augment.Pipeline{Transforms: []augment.Transform{r, c}}
			split := &augment.Pipeline{Transforms: []augment.Transform{augment.NewCompose(r), c}}
			for i := uint64(0); i < 5; i++ {
				a, err := fused.Run(augment.SampleRNG(1, 0, i), augment.Sample{Image: src, Boxes: boxes, Labels: []int{0, 1}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, err := split.Run(augment.SampleRNG(1, 0, i), augment.Sample{Image: src, Boxes: boxes, Labels: []int{0, 1}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Image.Pix, b.Image.Pix) || a.Image.W != b.Image.W {
					t.Fatalf("%v %v: fused resize+crop differs from the two steps", interp, sz)
				}
				if len(a.Boxes) != len(b.Boxes) {
					t.Fatalf("%v %v: boxes %v vs %v", interp, sz, a.Boxes, b.Boxes)
				}
				for k := range a.Boxes {
					if !boxesClose(a.Boxes[k], b.Boxes[k], 1e-9) {
						t.Fatalf("%v %v: boxes %v vs %v", interp, sz, a.Boxes, b.Boxes)
					}
				}
			}
		}
	}
}

// TestInputUntouched: pipelines never write into the caller's image, boxes
// or labels, and a Workspace does not change results.
func TestInputUntouched(t *testing.T) {
	src := photo(64, 80, 4)
	orig := src.Clone()
	boxes := []augment.Box{{1, 2, 30, 40}, {50, 10, 79, 63}}
	labels := []int{4, 5}
	h := fnv.New64a()
	for _, pc := range presets() {
		var ws augment.Workspace
		for i := uint64(0); i < 6; i++ {
			a, err := pc.p.Run(augment.SampleRNG(9, 0, i), augment.Sample{Image: src, Boxes: boxes, Labels: labels}, &ws)
			if err != nil {
				t.Fatal(err)
			}
			b, err := pc.p.Run(augment.SampleRNG(9, 0, i), augment.Sample{Image: src, Boxes: boxes, Labels: labels}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Image.Pix, b.Image.Pix) {
				t.Fatalf("%s: Workspace changes the result", pc.name)
			}
			h.Write(a.Image.Pix)
			ws.Recycle(a.Image)
		}
		if !bytes.Equal(src.Pix, orig.Pix) {
			t.Fatalf("%s modified the input image", pc.name)
		}
		if boxes[0] != (augment.Box{1, 2, 30, 40}) || labels[1] != 5 {
			t.Fatalf("%s modified the input boxes or labels", pc.name)
		}
	}
}

func TestSampleRNG(t *testing.T) {
	a := augment.SampleRNG(1, 2, 3).Uint64()
	if b := augment.SampleRNG(1, 2, 3).Uint64(); a != b {
		t.Fatal("not reproducible")
	}
	seen := map[uint64]bool{a: true}
	for _, k := range [][3]uint64{{1, 2, 4}, {1, 3, 3}, {2, 2, 3}, {0, 0, 0}, {3, 2, 1}} {
		v := augment.SampleRNG(k[0], k[1], k[2]).Uint64()
		if seen[v] {
			t.Fatalf("SampleRNG%v collides", k)
		}
		seen[v] = true
	}
	p := rand.NewPCG(0, 0)
	augment.ReseedPCG(p, 1, 2, 3)
	if rand.New(p).Uint64() != a {
		t.Fatal("ReseedPCG differs from SampleRNG")
	}
}
