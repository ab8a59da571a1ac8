package pth

// Storage element types and their conversion to float32 (internal/dtype,
// shared with layers.ReadSafetensors).

import (
	"sort"
	"strings"

	dt "github.com/sortnet/sortnet/internal/dtype"
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
	"DoubleStorage":   {"DoubleStorage", "float64", 8, dt.DecodeF64},
	"FloatStorage":    {"FloatStorage", "float32", 4, dt.DecodeF32},
	"HalfStorage":     {"HalfStorage", "float16", 2, dt.DecodeF16},
	"BFloat16Storage": {"BFloat16Storage", "bfloat16", 2, dt.DecodeBF16},
	"LongStorage":     {"LongStorage", "int64", 8, dt.DecodeI64},
	"IntStorage":      {"IntStorage", "int32", 4, dt.DecodeI32},
	"ShortStorage":    {"ShortStorage", "int16", 2, dt.DecodeI16},
	"CharStorage":     {"CharStorage", "int8", 1, dt.DecodeI8},
	"ByteStorage":     {"ByteStorage", "uint8", 1, dt.DecodeU8},
	"BoolStorage":     {"BoolStorage", "bool", 1, dt.DecodeBool},
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
