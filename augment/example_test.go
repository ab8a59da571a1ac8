package augment_test

import (
	"bytes"
	"fmt"
	"image/png"
	"math/rand/v2"

	"github.com/sortnet/sortnet/augment"
)

// A training loader: each sample gets its own generator from (run seed,
// epoch, index), so the batch is the same whatever the number of workers.
func ExamplePipeline_Process() {
	p := augment.DetectWasteTrain(260)
	img := photo(480, 640, 1) // a decoded RGB photo
	batch := make([]float32, 4*260*260*3)
	var ws augment.Workspace // one per worker goroutine
	for i := 0; i < 4; i++ {
		dst := batch[i*260*260*3 : (i+1)*260*260*3]
		if _, err := p.Process(augment.SampleRNG(1, 0, uint64(i)), augment.Sample{Image: img}, dst, &ws); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(len(batch), "floats, NHWC")
	// Output: 811200 floats, NHWC
}

// Evaluation of a detector: the letterbox records where the image went, so
// predictions map back to the original image.
func ExampleResizePad() {
	rp := augment.NewResizePad(512, 512)
	lb := rp.Letterbox(480, 640) // h, w of the original
	fmt.Printf("scale %.2f\n", lb.Scale)
	pred := augment.Box{X1: 80, Y1: 40, X2: 160, Y2: 120} // on the 512×512 input
	fmt.Printf("%.0f\n", lb.Inverse(pred))
	// Output:
	// scale 0.80
	// {100 50 200 150}
}

// Boxes travel with the image; Geom maps results back.
func ExamplePipeline_Run() {
	p := augment.NewPipeline(augment.NewResize(100, 200), &augment.HorizontalFlip{P: 1})
	in := augment.Sample{
		Image:  augment.NewImage(50, 50, 3),
		Boxes:  []augment.Box{augment.BoxFromCOCO(10, 5, 20, 10)},
		Labels: []int{3},
	}
	out, err := p.Run(augment.SampleRNG(0, 0, 0), in, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, _ := out.ToOriginal(out.Boxes[0])
	fmt.Println(out.Image.W, out.Image.H, out.Boxes[0], out.Labels, back)
	// Output: 200 100 {80 10 160 30} [3] {10 5 30 15}
}

// Options are typed fields with albumentations' defaults; bad values are
// reported, not silently used.
func ExampleShiftScaleRotate() {
	ssr := augment.NewShiftScaleRotate()
	fmt.Println(ssr.RotateLimit, ssr.ScaleLimit, ssr.Border, ssr.P)
	ssr.ScaleLimit = augment.Range{Min: -1.2, Max: 0.1}
	fmt.Println(ssr.Validate())
	// Output:
	// {-45 45} {-0.1 0.1} Reflect101 0.5
	// augment.ShiftScaleRotate: ScaleLimit = [-1.2, 0.1]: the scale factor 1-1.2 must be > 0
}

// OneOf picks one transform with weights proportional to their p.
func ExampleOneOf() {
	blur := augment.NewOneOf(augment.NewBlur(), augment.NewGaussianBlur(), augment.NewMotionBlur())
	blur.P = 0.3
	p := augment.NewPipeline(augment.NewResize(64, 64), blur)
	fmt.Println(p.Validate())
	// Output: <nil>
}

func ExampleRandAugment() {
	ra := augment.RandAugment(2, 9)
	s := &augment.Sample{Image: photo(32, 32, 5)}
	if err := ra.Apply(rand.New(rand.NewPCG(1, 2)), s); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(augment.RandAugmentOps), "ops;", s.Image.W, "x", s.Image.H)
	// Output: 14 ops; 32 x 32
}

func ExampleSampleRNG() {
	a := augment.SampleRNG(7, 3, 12).IntN(1000)
	b := augment.SampleRNG(7, 3, 12).IntN(1000)
	fmt.Println(a == b)
	// Output: true
}

func ExampleDecodeBytes() {
	var buf bytes.Buffer
	png.Encode(&buf, photo(30, 40, 1).Std())
	img, err := augment.DecodeBytes(buf.Bytes(), "photo.png")
	fmt.Println(img.W, img.H, img.C, err)
	_, err = augment.DecodeBytes(buf.Bytes()[:100], "photo.png")
	fmt.Println(err != nil)
	// Output:
	// 40 30 3 <nil>
	// true
}

func ExamplePreview() {
	var buf bytes.Buffer
	img := photo(60, 80, 1)
	err := augment.Preview(&buf, img, []augment.Box{{X1: 10, Y1: 10, X2: 40, Y2: 50}}, []int{1}, augment.DetectWasteTrain(64), 8, 1)
	fmt.Println(err, buf.Len() > 0)
	// Output: <nil> true
}

func ExampleWarpAffine() {
	src := photo(30, 40, 1)
	m := augment.ShiftScaleRotateMatrix(30, 40, 15, 1.1, 0.05, 0) // cv2.getRotationMatrix2D + shift
	out, err := augment.WarpAffine(src, m, 30, 40, augment.Bilinear, augment.BorderReflect101, nil)
	fmt.Println(out.W, out.H, err)
	// Output: 40 30 <nil>
}
