package augment

// DetectWasteTrain is the detect-waste classifier's training recipe
// (classifier/train_effnet.py) for an S×S input:
//
//	Resize(S+60, S+60) → RandomCrop(S, S) → HorizontalFlip → VerticalFlip →
//	ShiftScaleRotate → RandomBrightnessContrast → Cutout → Normalize
//
// every transform with albumentations' default options (the flips,
// ShiftScaleRotate, RandomBrightnessContrast and Cutout each with p = 0.5;
// ShiftScaleRotate shifts ±6.25 %, scales ±10 %, rotates ±45° with a
// reflect-101 border; Cutout makes 8 holes of 8×8) and ImageNet
// normalisation.
func DetectWasteTrain(size int) *Pipeline {
	return NewPipeline(
		NewResize(size+60, size+60),
		NewRandomCrop(size, size),
		NewHorizontalFlip(),
		NewVerticalFlip(),
		NewShiftScaleRotate(),
		NewRandomBrightnessContrast(),
		NewCutout(),
	)
}

// DetectWasteEval is the detect-waste classifier's evaluation recipe:
// Resize(S, S) → Normalize.
func DetectWasteEval(size int) *Pipeline {
	return NewPipeline(NewResize(size, size))
}

// EffDetTrain is effdet's training recipe (transforms_coco_train) for an
// S×S input: HorizontalFlip (p = 0.5) → RandomResizePad(S, scale 0.1–2.0,
// fill = ImageNet mean) → Normalize. Boxes follow; boxes left with no area
// are dropped with their labels.
func EffDetTrain(size int) *Pipeline {
	return NewPipeline(NewHorizontalFlip(), NewRandomResizePad(size, size))
}

// EffDetEval is effdet's evaluation recipe (transforms_coco_eval): the
// letterbox ResizePad(S, fill = ImageNet mean) → Normalize. The returned
// sample's Geom (or ResizePad.Letterbox) maps predictions back to the
// original image.
func EffDetEval(size int) *Pipeline {
	return NewPipeline(NewResizePad(size, size))
}

// DetectWasteDetectorTrain is the detect-waste EfficientDet training recipe:
// its albumentations stage (efficientdet/effdet/data/transforms_albumentation.py:
// Blur(blur_limit 7) and RandomBrightness(0.2), each p = 0.5) followed by
// EffDetTrain.
func DetectWasteDetectorTrain(size int) *Pipeline {
	return NewPipeline(NewBlur(), NewRandomBrightness(0.2), NewHorizontalFlip(), NewRandomResizePad(size, size))
}

// FixMatchWeak is FixMatch's weak view for an S×S input: Resize(S, S),
// HorizontalFlip (p = 0.5) and a random translation of up to 12.5 % with a
// reflect-101 border.
func FixMatchWeak(size int) *Pipeline {
	tr := &Affine{ScaleX: Fixed(1), ScaleY: Fixed(1), TranslateX: Sym(0.125), TranslateY: Sym(0.125),
		Border: BorderReflect101, P: 1}
	return NewPipeline(NewResize(size, size), NewHorizontalFlip(), tr)
}

// FixMatchStrong is the strong view: the weak view, then RandAugment(2, m)
// and Cutout of one hole of half the image side, as in FixMatch and Noisy
// Student (which use RandAugment at magnitudes around 10 to 27 of 30).
func FixMatchStrong(size, m int) *Pipeline {
	p := FixMatchWeak(size)
	p.Transforms = append(p.Transforms, RandAugment(2, m),
		&Cutout{NumHoles: 1, MaxHSize: size / 2, MaxWSize: size / 2, FillValue: Color{127}, P: 1})
	return p
}
