package augment_test

import (
	"bytes"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/nn"
)

// photo returns a synthetic h×w RGB "photo": smooth shading, edges and
// noise, so compression and interpolation see realistic content.
func photo(h, w int, seed uint64) *augment.Image {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := augment.NewImage(h, w, 3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := img.Pix[(y*w+x)*3:]
			r := 40 + 180*x/w
			g := 60 + 150*y/h
			b := 128 + (x*y)%97
			if (x/40+y/40)%2 == 0 {
				b /= 2
			}
			n := rng.IntN(17) - 8
			p[0] = uint8(min(max(r+n, 0), 255))
			p[1] = uint8(min(max(g+n, 0), 255))
			p[2] = uint8(min(max(b+n, 0), 255))
		}
	}
	return img
}

// BenchmarkPipeline runs whole recipes on a decoded 640×480 RGB image to
// a normalised float32 tensor slot, one goroutine, one image per op.
// Each iteration reseeds the sample's generator, as a loader does.
// img/cpu-s divides by the process's CPU time instead of wall time, which
// stays meaningful when other jobs share the cores; run with -cpu 1.
func BenchmarkPipeline(b *testing.B) {
	defer nn.SetThreads(nn.SetThreads(1))
	src := photo(480, 640, 1)
	boxes := []augment.Box{{100, 80, 300, 260}, {400, 200, 600, 420}}
	labels := []int{1, 4}
	for _, bc := range []struct {
		name string
		p    *augment.Pipeline
		size int
	}{
		{"detectwaste_train_260", augment.DetectWasteTrain(260), 260},
		{"detectwaste_eval_260", augment.DetectWasteEval(260), 260},
		{"effdet_train_512", augment.EffDetTrain(512), 512},
		{"effdet_eval_512", augment.EffDetEval(512), 512},
		{"randaugment_224", augment.NewPipeline(augment.NewResize(224, 224), augment.RandAugment(2, 9)), 224},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]float32, bc.size*bc.size*3)
			ws := new(augment.Workspace)
			pcg := rand.NewPCG(0, 0)
			rng := rand.New(pcg)
			in := augment.Sample{Image: src, Boxes: boxes, Labels: labels}
			b.ReportAllocs()
			i := uint64(0)
			cpu0 := cpuSeconds()
			for b.Loop() {
				augment.ReseedPCG(pcg, 1, 0, i)
				i++
				if _, err := bc.p.Process(rng, in, dst, ws); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
			if cpu := cpuSeconds() - cpu0; cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu, "img/cpu-s")
			}
		})
	}
}

func encodeJPEG(b testing.TB, img *augment.Image, quality int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img.Std(), &jpeg.Options{Quality: quality}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeJPEG decodes a 640×480 4:2:0 JPEG (quality 90) to RGB.
func BenchmarkDecodeJPEG(b *testing.B) {
	data := encodeJPEG(b, photo(480, 640, 2), 90)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := augment.DecodeBytes(data, "bench.jpg"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu, "img/cpu-s")
	}
}

// BenchmarkResize is the first step of the detect-waste recipe alone.
func BenchmarkResize(b *testing.B) {
	src := photo(480, 640, 3)
	for _, in := range []augment.Interpolation{augment.Bilinear, augment.Area, augment.Bicubic} {
		b.Run(in.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := augment.ResizeImage(src, 320, 320, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

// BenchmarkWarpAffine is ShiftScaleRotate's warp on a 260×260 image.
func BenchmarkWarpAffine(b *testing.B) {
	src := photo(260, 260, 4)
	m := augment.ShiftScaleRotateMatrix(260, 260, 30, 1.05, 0.03, -0.02)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := augment.WarpAffine(src, m, 260, 260, augment.Bilinear, augment.BorderReflect101, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
}
