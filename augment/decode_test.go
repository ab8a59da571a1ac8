package augment_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/sortnet/sortnet/augment"
)

func encodeAll(t testing.TB, img *augment.Image) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	std := img.Std()
	var buf bytes.Buffer
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(png.Encode(&buf, std))
	out["png"] = append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	must(bmp.Encode(&buf, std))
	out["bmp"] = append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	must(tiff.Encode(&buf, std, nil))
	out["tiff"] = append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	must(gif.Encode(&buf, std, nil))
	out["gif"] = append([]byte(nil), buf.Bytes()...)
	out["jpeg"] = encodeJPEG(t, img, 95)
	webp, err := os.ReadFile("testdata/formats/pattern.webp")
	must(err)
	out["webp"] = webp
	return out
}

func TestDecodeFormats(t *testing.T) {
	ref, err := augment.DecodeFile("testdata/cv2/input.png")
	if err != nil {
		t.Fatal(err)
	}
	for format, data := range encodeAll(t, ref) {
		t.Run(format, func(t *testing.T) {
			img, err := augment.DecodeBytes(data, "x."+format)
			if err != nil {
				t.Fatal(err)
			}
			if img.W != ref.W || img.H != ref.H || img.C != 3 {
				t.Fatalf("decoded %dx%dx%d, want %dx%dx3", img.W, img.H, img.C, ref.W, ref.H)
			}
			// Lossless formats round-trip exactly; JPEG (4:2:0) and the
			// 256-colour GIF approximately, judged by the mean error.
			sum := 0
			for i := range ref.Pix {
				d := int(img.Pix[i]) - int(ref.Pix[i])
				if d < 0 {
					d = -d
				}
				if d != 0 && format != "jpeg" && format != "gif" {
					t.Fatalf("value %d: %d, want %d", i, img.Pix[i], ref.Pix[i])
				}
				sum += d
			}
			if mean := float64(sum) / float64(len(ref.Pix)); mean > 25 {
				t.Fatalf("mean |error| %.1f", mean)
			}
		})
	}
}

func TestDecodeGrayAndAlpha(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	g.Pix = []uint8{0, 50, 100, 150, 200, 250}
	var buf bytes.Buffer
	if err := png.Encode(&buf, g); err != nil {
		t.Fatal(err)
	}
	img, err := augment.DecodeBytes(buf.Bytes(), "gray.png")
	if err != nil {
		t.Fatal(err)
	}
	if img.C != 3 || img.At(1, 2, 0) != 250 || img.At(1, 2, 2) != 250 {
		t.Fatalf("grey expanded wrongly: %v", img.Pix)
	}
	n := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	n.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 10})
	buf.Reset()
	if err := png.Encode(&buf, n); err != nil {
		t.Fatal(err)
	}
	img, err = augment.DecodeBytes(buf.Bytes(), "alpha.png")
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Pix; got[0] != 200 || got[1] != 100 || got[2] != 50 {
		t.Fatalf("alpha not dropped like PIL's convert(RGB): %v", got)
	}
}

// TestEXIFOrientation decodes JPEGs written by PIL with each EXIF
// orientation and compares with PIL's ImageOps.exif_transpose.
func TestEXIFOrientation(t *testing.T) {
	for o := 1; o <= 8; o++ {
		jpg := fmt.Sprintf("testdata/exif/orient_%d.jpg", o)
		data, err := os.ReadFile(jpg)
		if err != nil {
			t.Fatal(err)
		}
		if got := augment.JPEGOrientation(data); got != o {
			t.Errorf("%s: orientation %d, want %d", jpg, got, o)
		}
		got, err := augment.DecodeBytes(data, jpg)
		if err != nil {
			t.Fatal(err)
		}
		want, err := augment.DecodeFile(strings.TrimSuffix(jpg, ".jpg") + ".png")
		if err != nil {
			t.Fatal(err)
		}
		if got.W != want.W || got.H != want.H {
			t.Fatalf("%s: %dx%d, PIL %dx%d", jpg, got.W, got.H, want.W, want.H)
		}
		for i := range want.Pix {
			if d := int(got.Pix[i]) - int(want.Pix[i]); d < -12 || d > 12 {
				t.Fatalf("%s: value %d is %d, PIL %d", jpg, i, got.Pix[i], want.Pix[i])
			}
		}
	}
}

// TestOrient checks the eight orientations on a 2×3 image by hand.
func TestOrient(t *testing.T) {
	// a b c
	// d e f
	src := &augment.Image{H: 2, W: 3, C: 1, Pix: []uint8{'a', 'b', 'c', 'd', 'e', 'f'}}
	want := map[int]string{
		1: "abc/def", 2: "cba/fed", 3: "fed/cba", 4: "def/abc",
		5: "ad/be/cf", 6: "da/eb/fc", 7: "fc/eb/da", 8: "cf/be/ad",
	}
	for o, w := range want {
		got := augment.Orient(src, o)
		var sb strings.Builder
		for y := 0; y < got.H; y++ {
			if y > 0 {
				sb.WriteByte('/')
			}
			sb.Write(got.Row(y))
		}
		if sb.String() != w {
			t.Errorf("orientation %d: %s, want %s", o, sb.String(), w)
		}
	}
}

// exifJPEG inserts an APP1 EXIF segment carrying orientation o (big-endian
// TIFF) after the SOI marker of a JPEG.
func exifJPEG(jpg []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM")
	binary.Write(&tiff, binary.BigEndian, uint16(42))
	binary.Write(&tiff, binary.BigEndian, uint32(8))
	binary.Write(&tiff, binary.BigEndian, uint16(2)) // two entries
	for _, e := range [][3]uint32{{0x010f, 2, 0}, {0x0112, 3, uint32(o) << 16}} {
		binary.Write(&tiff, binary.BigEndian, uint16(e[0]))
		binary.Write(&tiff, binary.BigEndian, uint16(e[1]))
		binary.Write(&tiff, binary.BigEndian, uint32(1))
		binary.Write(&tiff, binary.BigEndian, e[2])
	}
	binary.Write(&tiff, binary.BigEndian, uint32(0))
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestEXIFBigEndianInserted(t *testing.T) {
	src := photo(12, 20, 7)
	plain := encodeJPEG(t, src, 90)
	base, err := augment.DecodeBytes(plain, "plain.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for o := 1; o <= 8; o++ {
		data := exifJPEG(plain, uint16(o))
		if got := augment.JPEGOrientation(data); got != o {
			t.Fatalf("orientation %d read as %d", o, got)
		}
		got, err := augment.DecodeBytes(data, "exif.jpg")
		if err != nil {
			t.Fatal(err)
		}
		want := augment.Orient(base, o)
		if !bytes.Equal(got.Pix, want.Pix) || got.W != want.W {
			t.Fatalf("orientation %d: decoded image differs from Orient(plain)", o)
		}
	}
	// Bad orientation values are ignored.
	if got := augment.JPEGOrientation(exifJPEG(plain, 9)); got != 1 {
		t.Fatalf("orientation 9 read as %d", got)
	}
}

func TestDecodeErrorsNameTheFile(t *testing.T) {
	src := photo(40, 50, 9)
	jpg := encodeJPEG(t, src, 90)
	files := encodeAll(t, src)
	cases := map[string][]byte{
		"empty.jpg":     nil,
		"garbage.jpg":   []byte("this is not an image at all"),
		"truncated.jpg": jpg[:len(jpg)/2],
		"header.jpg":    jpg[:20],
		"trunc.png":     files["png"][:len(files["png"])-30],
		"trunc.webp":    files["webp"][:len(files["webp"])/2],
		"trunc.tiff":    files["tiff"][:len(files["tiff"])/3],
		"trunc.bmp":     files["bmp"][:len(files["bmp"])/2],
		"trunc.gif":     files["gif"][:len(files["gif"])/2],
	}
	for name, data := range cases {
		_, err := augment.DecodeBytes(data, filepath.Join("photos", name))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), filepath.Join("photos", name)) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := augment.DecodeFile("testdata/does-not-exist.jpg"); err == nil || !strings.Contains(err.Error(), "does-not-exist.jpg") {
		t.Errorf("missing file: %v", err)
	}
}

func TestDecodeRejectsHugeHeader(t *testing.T) {
	// A PNG header claiming 100000×100000 pixels.
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[16:], 100000)
	binary.BigEndian.PutUint32(b[20:], 100000)
	_, err := augment.DecodeBytes(b, "bomb.png")
	if err == nil || !strings.Contains(err.Error(), "bomb.png") {
		t.Fatalf("huge header: %v", err)
	}
}

// FuzzDecode feeds arbitrary bytes to the decoders: every input must give a
// valid image or an error naming the file, never a panic.
func FuzzDecode(f *testing.F) {
	src := photo(9, 13, 11)
	for _, data := range encodeAll(f, src) {
		f.Add(data)
	}
	f.Add(exifJPEG(encodeJPEG(f, src, 80), 6))
	for o := 1; o <= 8; o += 3 {
		if b, err := os.ReadFile(fmt.Sprintf("testdata/exif/orient_%d.jpg", o)); err == nil {
			f.Add(b)
		}
	}
	// Keep the fuzzer's memory small: headers may claim any size.
	defer func(m int64) { augment.MaxPixels = m }(augment.MaxPixels)
	augment.MaxPixels = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := augment.DecodeBytes(data, "fuzz.img")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.img") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := img.Validate(); err != nil {
			t.Fatalf("decoded an invalid image: %v", err)
		}
		_ = augment.JPEGOrientation(data)
	})
}
