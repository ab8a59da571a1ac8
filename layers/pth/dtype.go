package pth

// Storage element types and their conversion to float32. The conversions
// are those of layers.ReadSafetensors (layers/safetensors.go), repeated
// here so that neither package exports them.

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strings"
)

// dtype is a storage class torch.save writes: its element size and its
// conversion of len(dst) elements from src (exactly len(dst)*size bytes,
// little-endian) to float32.
type dtype struct {
	class  string // torch.FloatStorage -> "FloatStorage"
	name   string // "float32"
	size   int64
	decode func(dst []float32, src []byte) error
}

var dtypes = map[string]*dtype{
	"DoubleStorage":   {"DoubleStorage", "float64", 8, decodeF64},
	"FloatStorage":    {"FloatStorage", "float32", 4, decodeF32},
	"HalfStorage":     {"HalfStorage", "float16", 2, decodeF16},
	"BFloat16Storage": {"BFloat16Storage", "bfloat16", 2, decodeBF16},
	"LongStorage":     {"LongStorage", "int64", 8, decodeI64},
	"IntStorage":      {"IntStorage", "int32", 4, decodeI32},
	"ShortStorage":    {"ShortStorage", "int16", 2, decodeI16},
	"CharStorage":     {"CharStorage", "int8", 1, decodeI8},
	"ByteStorage":     {"ByteStorage", "uint8", 1, decodeU8},
	"BoolStorage":     {"BoolStorage", "bool", 1, decodeBool},
}

// supportedStorages lists dtypes' classes for error messages.
var supportedStorages = func() string {
	names := make([]string, 0, len(dtypes))
	for k := range dtypes {
		names = append(names, "torch."+k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}()

func decodeF32(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
	return nil
}

// decodeF64 rounds to nearest even; values beyond float32's range become
// ±Inf, as in PyTorch's .float().
func decodeF64(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
	return nil
}

func decodeF16(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float16to32(binary.LittleEndian.Uint16(src[2*i:]))
	}
	return nil
}

func decodeBF16(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
	return nil
}

// float16to32 converts an IEEE 754 binary16 value to float32 exactly:
// normals and subnormals by value, ±Inf to ±Inf, and NaN to a quiet NaN
// with the same sign and payload, as x86 F16C and PyTorch do.
func float16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // Inf, NaN
		if mant != 0 {
			mant |= 0x200 // quiet
		}
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // ±0 and subnormals: mant * 2^-24, exact in float32
		return math.Float32frombits(sign | math.Float32bits(float32(mant)*0x1p-24))
	default: // rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// exactInt converts ±mag to float32, failing if float32 cannot hold it
// exactly (more than 24 significant bits).
func exactInt(neg bool, mag uint64) (float32, bool) {
	if mag != 0 && bits.Len64(mag>>bits.TrailingZeros64(mag)) > 24 {
		return 0, false
	}
	f := float32(mag)
	if neg {
		f = -f
	}
	return f, true
}

func inexact(i int, v any) error {
	return fmt.Errorf("value %d at index %d cannot be represented exactly as float32", v, i)
}

func decodeI64(dst []float32, src []byte) error {
	for i := range dst {
		v := int64(binary.LittleEndian.Uint64(src[8*i:]))
		mag := uint64(v)
		if v < 0 {
			mag = -mag
		}
		f, ok := exactInt(v < 0, mag)
		if !ok {
			return inexact(i, v)
		}
		dst[i] = f
	}
	return nil
}

func decodeI32(dst []float32, src []byte) error {
	for i := range dst {
		v := int32(binary.LittleEndian.Uint32(src[4*i:]))
		mag := uint64(uint32(v))
		if v < 0 {
			mag = uint64(-int64(v))
		}
		f, ok := exactInt(v < 0, mag)
		if !ok {
			return inexact(i, v)
		}
		dst[i] = f
	}
	return nil
}

func decodeI16(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
	}
	return nil
}

func decodeI8(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(int8(src[i]))
	}
	return nil
}

func decodeU8(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(src[i])
	}
	return nil
}

func decodeBool(dst []float32, src []byte) error {
	for i := range dst {
		switch src[i] {
		case 0:
			dst[i] = 0
		case 1:
			dst[i] = 1
		default:
			return fmt.Errorf("byte %d at index %d is not 0 or 1", src[i], i)
		}
	}
	return nil
}
