// Package litter draws a synthetic litter world: photos of ground with
// litter on it, for the litter classifier and detector examples of sortnet,
// where real waste data and pretrained weights cannot be downloaded.
//
// # The world
//
// A scene is a photographed patch of ground (grass, asphalt, sand, soil,
// fallen leaves or pavement, from procedural gradient and cellular noise)
// with natural debris (grass blades, twigs, leaves, stones), litter items
// and one light and camera. Every item is an implicit shape with its own
// shading, in one of the eight detect-waste classes, index-ordered by name
// as torchvision's ImageFolder orders class folders (Classes):
//
//   - background: ground and debris with no litter;
//   - bio: banana peels, apple cores, orange peel, bread and food scraps,
//     vegetable leaves;
//   - glass: green, brown and clear bottles with refraction of the ground
//     behind them, sharp highlights and paper labels; broken bottles,
//     shards, jars;
//   - metals_and_plastic: cans (metallic cylinder shading, printed designs,
//     crushed), translucent PET bottles with caps, ribs and labels, plastic
//     cups, drink cartons;
//   - non_recyclable: crinkled foil wrappers and sweet wrappers, plastic
//     bags, cigarette butts, polystyrene;
//   - other: textiles (weave, stripes, checks, folds), tyre pieces, gloves,
//     wood, sponges;
//   - paper: sheets with folds, fibres and print, crumpled balls, cardboard
//     with corrugation, tape and stains, paper cups;
//   - unknown: items of the other classes made ambiguous: heavily soiled,
//     half buried, torn to fragments, tangled with another item, or
//     shapeless lumps.
//
// Colours are drawn from shared palettes (red cans and red wrappers and
// red textiles; brown glass, cardboard and peels; green glass, PET and
// leaves; white paper, bags, cups and polystyrene), and everyday dirt and
// burial touch every class, so colour alone does not tell the classes
// apart: a linear classifier on colour histograms scores about 20-25 %
// balanced accuracy (chance is 12.5 %; TestColourHistogramBaseline). Shape,
// shading and texture do differ, which is what a convolutional network
// learns.
//
// Nuisances: object scale and rotation, camera distance, partial crops,
// cast shadows and contact shadows, sun direction and overcast light,
// exposure, colour casts, dappled tree shadow, vignetting, blur, sensor
// noise, JPEG artefacts (a round trip at a drawn quality), debris lying on
// top of items, neighbouring items in a crop's context, and a configurable
// rate of label noise (Config.LabelNoise, applied to Train and Val; the
// true label is always kept next to the given one).
//
// # Splits and class frequencies
//
// Train, Val and Test follow the class frequencies of the detect-waste
// classification training split (DetectWasteCounts: metals_and_plastic
// 7710, unknown 2591, non_recyclable 2234, glass 1841, paper 1282,
// background 710, other 390, bio 122 of 16,880), scaled to any size with at
// least one sample per class when the size allows (ClassCounts). Pool is an
// unlabelled pool shaped like detect-waste's OpenLitterMap crops
// (PoolWeights: no bio, no background, mostly metals_and_plastic and
// unknown), drawn with a domain shift: mostly pavement and asphalt instead
// of park and beach grounds, stronger colour casts and exposure changes,
// more blur and noise and lower JPEG quality, tighter crops. Its true
// classes are returned (Sample.True) and written (pool_truth.csv) so that
// pseudo-label accuracy can be measured.
//
// # Scenes and crops
//
// Scene draws a whole scene (SceneW×SceneH, default 512×384) with 2 to
// MaxObjects items and their boxes: the tight extent of the pixels each
// item covers, clipped to the scene. Crop draws a classifier crop: the
// square window around one item of a scene (or a patch of bare ground,
// for background) with some context, resized to Size. The crop is drawn
// from the same procedural world at the crop's resolution, so detector and
// classifier see one world; CropSource returns the scene a crop is cut
// from and its window.
//
// # Determinism
//
// Every sample depends on (Config.Seed, split, index) alone, through its
// own random generator (math/rand/v2 PCG): sample i can be drawn without
// drawing the others, in any order and on any number of goroutines, with
// identical bytes. (Floating-point results may differ between CPU
// architectures.) The class of each index comes from a keyed permutation,
// so a split holds exactly ClassCounts samples per class; label noise draws
// from a separate stream and never changes an image.
//
// # Files
//
// WriteImageFolder writes the crops as JPEG files in ImageFolder layout with
// the pool beside them; WriteScenes writes the scenes with COCO JSON
// annotations (category ids 1..7 = class indices, as detect-waste's
// 7-class detector, and a 1-class "litter" twin). Both write into a
// temporary folder that is renamed into place after a MANIFEST.json with
// the configuration's hash, so an interrupted run never leaves a data set
// that looks complete, and a second run with the same configuration does
// nothing. ContactSheet writes a PNG preview: labelled rows of crops per
// class, a row of pool crops, and two scenes with their boxes.
//
// # Difficulty
//
// The task needs a convolutional network and is not saturated. On 6,000
// training and 2,000 test crops of 64 pixels (seed 11, 3 % label noise), a
// linear classifier on per-channel colour histograms reaches 46 % accuracy
// by always answering metals_and_plastic (14 % balanced accuracy), or 23 %
// balanced accuracy when trained class-balanced, while a small CNN (seven
// 3×3 conv-BN-ReLU layers, 0.6 M parameters) trained from scratch for 24
// epochs reaches 82 % accuracy and 64 % balanced accuracy: other and
// unknown are the hardest classes, and bio, with 43 training crops, is
// never predicted unless training balances the classes (class-weighted,
// the same network reaches 61 % balanced accuracy after 12 epochs with bio
// recall 0.79). TestColourHistogramBaseline repeats the histogram
// measurement:
//
//	go test -run TestColourHistogramBaseline -v ./examples/waste/litter
//
// # Speed
//
// On one core of the development machine (AMD EPYC, Go 1.26) a 64×64 crop
// takes about 1.7 ms, a 128×128 crop about 5 ms and a 512×384 scene about
// 50 ms (BenchmarkCrop, BenchmarkScene); WriteImageFolder wrote 2,000
// crops of 128 pixels in about 11 s on two cores.
//
// # Preview
//
//	LITTER_PREVIEW=/tmp/litter.png go test -run TestWritePreview ./examples/waste/litter
//
// writes a contact sheet of the default configuration (ContactSheet).
package litter
