package augment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// codec is one image format: its magic-number test and its decoders.
type codec struct {
	name   string
	match  func([]byte) bool
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var codecs = []codec{
	{"jpeg", func(b []byte) bool { return len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF }, jpeg.DecodeConfig, jpeg.Decode},
	{"png", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }, png.DecodeConfig, png.Decode},
	{"gif", func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a"))
	}, gif.DecodeConfig, gif.Decode},
	{"webp", func(b []byte) bool { return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" }, webp.DecodeConfig, webp.Decode},
	{"bmp", func(b []byte) bool { return bytes.HasPrefix(b, []byte("BM")) }, bmp.DecodeConfig, bmp.Decode},
	{"tiff", func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*"))
	}, tiff.DecodeConfig, tiff.Decode},
}

// MaxPixels is the largest image (width × height) the decoders accept (by
// default 2^27, about 134 megapixels); a header that claims more is
// rejected before any pixel memory is taken. Set it before decoding
// concurrently, not during.
var MaxPixels int64 = 1 << 27

// DecodeFile reads and decodes an image file (JPEG, PNG, GIF, WebP, BMP or
// TIFF) to RGB, applying the EXIF orientation of JPEG files. Errors name
// the file.
func DecodeFile(path string) (*Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("augment: %w", err)
	}
	return DecodeBytes(b, path)
}

// Decode reads all of r and decodes it as DecodeBytes does; name (a path
// or any label) appears in errors.
func Decode(r io.Reader, name string) (*Image, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("augment: read %s: %w", name, err)
	}
	return DecodeBytes(b, name)
}

// DecodeBytes decodes an encoded image to RGB (C = 3): grey and palette
// images are expanded, alpha is dropped. A JPEG's EXIF orientation tag
// (phone photos) is applied, so the result is upright. A corrupt,
// truncated, unsupported or oversized file returns an error that names
// name; no input makes it panic.
func DecodeBytes(data []byte, name string) (img *Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("augment: decode %s: corrupt image (decoder failed: %v)", name, r)
		}
	}()
	if len(data) == 0 {
		return nil, fmt.Errorf("augment: decode %s: empty file", name)
	}
	// Each decoder gets a *bytes.Reader directly (image.Decode would wrap
	// it in a bufio.Reader): the TIFF decoder then reads at offsets
	// instead of buffering up to whatever offset a corrupt header names.
	var c *codec
	for i := range codecs {
		if codecs[i].match(data) {
			c = &codecs[i]
			break
		}
	}
	if c == nil {
		return nil, fmt.Errorf("augment: decode %s: not a JPEG, PNG, GIF, WebP, BMP or TIFF image", name)
	}
	format := c.name
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, decodeErr(name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("augment: decode %s: %s image has size %dx%d", name, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("augment: decode %s: %s image of %dx%d pixels exceeds the %d-pixel limit", name, format, cfg.Width, cfg.Height, MaxPixels)
	}
	if format == "webp" {
		// A VP8X header's canvas size (what DecodeConfig reports) need not
		// match the frame's own size, which is what the decoder allocates.
		if w, h, ok := webpFrameSize(data); ok && int64(w)*int64(h) > MaxPixels {
			return nil, fmt.Errorf("augment: decode %s: webp frame of %dx%d pixels exceeds the %d-pixel limit", name, w, h, MaxPixels)
		}
	}
	m, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeErr(name, err)
	}
	if m.Bounds().Empty() {
		return nil, fmt.Errorf("augment: decode %s: empty %s image", name, format)
	}
	img = FromStd(m)
	if format == "jpeg" {
		img = Orient(img, JPEGOrientation(data))
	}
	return img, nil
}

// webpFrameSize returns the size stored in the first VP8 or VP8L chunk of a
// WebP file (ok false when there is none or it is cut short).
func webpFrameSize(b []byte) (w, h int, ok bool) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, false
	}
	for i := 12; i+8 <= len(b); {
		id := string(b[i : i+4])
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		d := b[i+8:]
		switch id {
		case "VP8 ":
			if len(d) < 10 {
				return 0, 0, false
			}
			return int(binary.LittleEndian.Uint16(d[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(d[8:]) & 0x3fff), true
		case "VP8L":
			if len(d) < 5 {
				return 0, 0, false
			}
			w = 1 + int(d[1]) | int(d[2]&0x3f)<<8
			h = 1 + (int(d[2]>>6) | int(d[3])<<2 | int(d[4]&0x0f)<<10)
			return w, h, true
		}
		if n < 0 || n > len(b) {
			return 0, 0, false
		}
		i += 8 + n + n&1
	}
	return 0, 0, false
}

func decodeErr(name string, err error) error {
	switch {
	case errors.Is(err, image.ErrFormat):
		return fmt.Errorf("augment: decode %s: not a JPEG, PNG, GIF, WebP, BMP or TIFF image", name)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("augment: decode %s: truncated file: %w", name, err)
	}
	return fmt.Errorf("augment: decode %s: %w", name, err)
}

// JPEGOrientation returns the EXIF orientation (1..8) stored in a JPEG's
// APP1 segment, or 1 when there is none or it cannot be read. Only the
// markers before the first scan are examined.
func JPEGOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8): // no length
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return 1
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := exifOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 1
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF-structured EXIF
// block; 0 when absent or malformed.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := uint64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > uint64(len(t)) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	p := int(off) + 2
	for k := 0; k < n; k++ {
		e := p + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, cnt := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || cnt < 1 {
			return 0
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// Orient returns img turned upright for an EXIF orientation (1..8), as
// PIL's ImageOps.exif_transpose does: 2 mirror, 3 rotate 180°, 4 flip,
// 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90°
// counter-clockwise. Other values return img unchanged.
func Orient(img *Image, orientation int) *Image {
	if orientation < 2 || orientation > 8 {
		return img
	}
	H, W, c := img.H, img.W, img.C
	var dst *Image
	var at func(i, j int) int // source pixel index for output (row i, col j)
	switch orientation {
	case 2:
		dst = NewImage(H, W, c)
		at = func(i, j int) int { return i*W + W - 1 - j }
	case 3:
		dst = NewImage(H, W, c)
		at = func(i, j int) int { return (H-1-i)*W + W - 1 - j }
	case 4:
		dst = NewImage(H, W, c)
		at = func(i, j int) int { return (H-1-i)*W + j }
	case 5: // transpose
		dst = NewImage(W, H, c)
		at = func(i, j int) int { return j*W + i }
	case 6: // 90° clockwise
		dst = NewImage(W, H, c)
		at = func(i, j int) int { return (H-1-j)*W + i }
	case 7: // transverse
		dst = NewImage(W, H, c)
		at = func(i, j int) int { return (H-1-j)*W + W - 1 - i }
	case 8: // 90° counter-clockwise
		dst = NewImage(W, H, c)
		at = func(i, j int) int { return j*W + W - 1 - i }
	}
	for i := 0; i < dst.H; i++ {
		row := dst.Row(i)
		for j := 0; j < dst.W; j++ {
			s := at(i, j) * c
			copy(row[j*c:j*c+c], img.Pix[s:s+c])
		}
	}
	return dst
}
