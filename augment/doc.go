// Package augment is sortnet's image augmentation: decoding, the
// albumentations transforms (with the same names, defaults and, for 8-bit
// images, OpenCV's arithmetic), box-aware geometry, effdet's letterboxing,
// RandAugment, the detect-waste and EfficientDet recipes, and the final
// step to a normalised float32 NHWC tensor.
//
// # Quick start
//
//	img, err := augment.DecodeFile("litter.jpg") // RGB, EXIF-upright
//	p := augment.DetectWasteTrain(260)            // the classifier recipe
//	dst := make([]float32, 260*260*3)             // one slot of a batch
//	var ws augment.Workspace                      // one per worker
//	out, err := p.Process(augment.SampleRNG(seed, epoch, index),
//		augment.Sample{Image: img, Boxes: boxes, Labels: labels}, dst, &ws)
//
// # Images: 8-bit HWC until the end
//
// An Image is H×W×C bytes, channels innermost, the layout of a decoded
// photo and of an OpenCV/numpy uint8 array. Every transform works on
// uint8 and only the last step, Normalize (inside Pipeline.Process or
// ToTensor), produces float32 in the NHWC order of nn.Tensor. The choice
// follows albumentations, whose recipes run on uint8 with OpenCV: keeping
// the same type is what makes results identical to theirs rather than
// merely close (OpenCV's 8-bit paths round at fixed points that float code
// does not reproduce), lookup-table transforms (brightness, contrast,
// posterize, normalisation itself) become one table read per value, and an
// image takes a quarter of the memory of float32, which matters for
// throughput: the pipeline is memory-bound.
//
// # OpenCV parity
//
// The kernels under Resize, ShiftScaleRotate/Affine, the blurs, padding and
// the colour transforms reproduce OpenCV 4's 8-bit arithmetic rather than
// the textbook formula: cv2.resize's pixel-centre coordinate map, its
// 11-bit fixed-point bilinear and bicubic coefficients and the rounding of
// its SIMD vertical pass, INTER_AREA's integer-factor fast path and
// fractional-coverage tables; cv2.warpAffine's float64 matrix inversion,
// 10-bit coordinate steps, 1/32-pixel weight tables (with OpenCV's
// correction of the saturated weight) and its border rules; the bit-exact
// GaussianBlur kernels with error-diffusion rounding; cv2.blur's rounding;
// OpenCV's RGB↔HSV and grey conversions. The fixtures in testdata/cv2,
// made by tools/fixtures_augment.py with python3-opencv 4.6, cover resize
// (bilinear, area, bicubic, nearest; up, down, exact factors), the
// ShiftScaleRotate warp (reflect-101, constant and replicate borders;
// bilinear, nearest, bicubic), flips, brightness/contrast, blur, Gaussian
// blur, padding and the HSV shift: every value matches exactly (the test
// allows ±1). Two of those paths match OpenCV as built for AVX2 machines,
// the common case: its HSV→RGB conversion and addWeighted (ColorJitter's
// saturation) use fused multiply-adds there; a non-AVX2 OpenCV can differ
// by 1 on some pixels.
//
// # Transforms
//
// A Transform draws everything from the *rand.Rand it is given. Each type
// has a constructor, NewX, returning albumentations' defaults (p included);
// options are exported, typed fields, checked by Validate with an error
// naming the field (NaN, inverted or out-of-range ranges, even kernel
// sizes, crops larger than the image, zero-sized images, ...). A struct
// literal starts from zero values, so its P of 0 never fires: start from
// NewX. Apply applies unconditionally (albumentations' force_apply); the
// container rolls P, which lets OneOf and SomeOf use probabilities as
// weights, as albumentations does.
//
// Geometry: Resize, LongestMaxSize, SmallestMaxSize, PadIfNeeded,
// RandomCrop, CenterCrop, RandomResizedCrop, HorizontalFlip, VerticalFlip,
// RandomRotate90, ShiftScaleRotate, Affine, ResizePad, RandomResizePad.
// Pixels: RandomBrightnessContrast (NewRandomBrightness), HueSaturationValue,
// ColorJitter, Blur, GaussianBlur, MotionBlur, GaussNoise, Cutout,
// CoarseDropout, RandomErasing. RandAugment(n, m) follows torchvision (the
// paper's fourteen operations, magnitude bins 0..30). Compose, OneOf and
// SomeOf nest. The deterministic operations are also functions (ResizeImage,
// WarpAffine, Pad, BoxBlurImage, GaussianBlurImage, ShiftHSVImage, ...).
//
// # Boxes
//
// Boxes are float64 pascal_voc (x1, y1, x2, y2) in continuous pixel
// coordinates (BoxFromCOCO and Box.COCO convert). Every geometric transform
// maps them with the same map it applies to the pixels (the axis-aligned
// hull of the four mapped corners for rotations and shears); after each
// transform boxes are clipped and those with no area, or below the
// Pipeline's BoxParams (min area, visibility, width, height; albumentations'
// BboxParams with check_each_transform), are dropped with their labels.
// Sample.Geom accumulates the map from original to output coordinates, so
// Sample.ToOriginal takes predictions back; ResizePad.Letterbox gives
// effdet's scale and offset directly.
//
// Where albumentations maps boxes in pixel-index coordinates (its Affine)
// it is off by half a pixel against its own images; here every transform
// uses one convention, checked by drawing a rectangle and comparing the
// mapped box with where its pixels went.
//
// # Reproducibility
//
// A sample's generator comes from SampleRNG(seed, epoch, index), a PCG
// seeded through SplitMix64 as SampleSeeds documents, so a sample's
// augmentation depends on the run seed, the epoch and its index only, not
// on the worker that processes it or the order: 1 and 8 workers give
// byte-identical batches (tested). Transforms keep no state between calls;
// a Workspace holds one worker's scratch buffers.
//
// # Recipes
//
// DetectWasteTrain/DetectWasteEval are detect-waste's classifier recipes
// (classifier/train_effnet.py); EffDetTrain/EffDetEval are effdet's
// transforms_coco_train/eval; DetectWasteDetectorTrain adds detect-waste's
// Blur and RandomBrightness in front of EffDetTrain; FixMatchWeak and
// FixMatchStrong are the weak and strong views for semi-supervised
// training. effdet resizes with PIL's antialiased filters, which OpenCV
// does not have; ResizePad uses INTER_AREA (antialiased when shrinking)
// and RandomResizePad draws between INTER_AREA and bicubic.
//
// # Decoding
//
// DecodeFile, DecodeBytes and Decode read JPEG, PNG, GIF (standard
// library), WebP, BMP and TIFF (golang.org/x/image) to RGB, apply a JPEG's
// EXIF orientation (parsed here: phone photos store it), refuse headers
// beyond MaxPixels before allocating, and return an error naming the file
// for corrupt or truncated input; FuzzDecode covers the path.
//
// # Speed
//
// Process allocates almost nothing with a Workspace. A Resize directly
// followed by a RandomCrop computes only the crop's window of the resize
// (identical bytes), and RandomResizePad resizes only the visible part.
// BenchmarkPipeline/detectwaste_train_260 (640×480 RGB in, normalised
// 260×260 out, one goroutine) runs at about 800–870 images per second on
// the 2-core AMD EPYC development VM (as low as 500–600 while other jobs
// share its cores; the img/cpu-s metric divides by CPU time instead).
// Decoding the 640×480 JPEG with the standard library's decoder costs
// about 8 ms (BenchmarkDecodeJPEG), several times the augmentation:
// decoded images are what a loader should cache.
package augment
