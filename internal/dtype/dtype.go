// Package dtype converts the little-endian element types of weight files
// (safetensors, PyTorch storages) to float32: floats by rounding to nearest
// (float16 and bfloat16 exactly, subnormals, infinities and NaN payloads
// included), integers and bools by value, failing when float32 cannot hold
// an integer exactly. src must hold exactly len(dst) elements.
package dtype

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// DecodeF32 converts len(dst) little-endian F32 values from src to float32.
func DecodeF32(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
	return nil
}

// DecodeF64 converts len(dst) little-endian F64 values from src to float32.
func DecodeF64(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
	return nil
}

// DecodeF16 converts len(dst) little-endian F16 values from src to float32.
func DecodeF16(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = Float16to32(binary.LittleEndian.Uint16(src[2*i:]))
	}
	return nil
}

// DecodeBF16 converts len(dst) little-endian BF16 values from src to float32.
func DecodeBF16(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
	return nil
}

// Float16to32 converts an IEEE 754 binary16 value to float32 exactly:
// normals and subnormals by value, ±Inf to ±Inf, and NaN to a quiet NaN
// with the same sign and payload (shifted into the top of float32's
// mantissa), as x86 F16C and PyTorch do.
func Float16to32(h uint16) float32 {
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

// exactInt converts v to float32, failing if float32 cannot hold it exactly
// (more than 24 significant bits).
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

// DecodeI64 converts len(dst) little-endian I64 values from src to float32.
func DecodeI64(dst []float32, src []byte) error {
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

// DecodeU64 converts len(dst) little-endian U64 values from src to float32.
func DecodeU64(dst []float32, src []byte) error {
	for i := range dst {
		v := binary.LittleEndian.Uint64(src[8*i:])
		f, ok := exactInt(false, v)
		if !ok {
			return inexact(i, v)
		}
		dst[i] = f
	}
	return nil
}

// DecodeI32 converts len(dst) little-endian I32 values from src to float32.
func DecodeI32(dst []float32, src []byte) error {
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

// DecodeU32 converts len(dst) little-endian U32 values from src to float32.
func DecodeU32(dst []float32, src []byte) error {
	for i := range dst {
		v := binary.LittleEndian.Uint32(src[4*i:])
		f, ok := exactInt(false, uint64(v))
		if !ok {
			return inexact(i, v)
		}
		dst[i] = f
	}
	return nil
}

// DecodeI16 converts len(dst) little-endian I16 values from src to float32.
func DecodeI16(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
	}
	return nil
}

// DecodeU16 converts len(dst) little-endian U16 values from src to float32.
func DecodeU16(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(binary.LittleEndian.Uint16(src[2*i:]))
	}
	return nil
}

// DecodeI8 converts len(dst) little-endian I8 values from src to float32.
func DecodeI8(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(int8(src[i]))
	}
	return nil
}

// DecodeU8 converts len(dst) little-endian U8 values from src to float32.
func DecodeU8(dst []float32, src []byte) error {
	for i := range dst {
		dst[i] = float32(src[i])
	}
	return nil
}

// DecodeBool converts len(dst) little-endian Bool values from src to float32.
func DecodeBool(dst []float32, src []byte) error {
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
