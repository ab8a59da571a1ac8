package nn

import (
	"os"
	"testing"
)

// TestMain poisons the buffer pool (poisonBufs) for every test of the
// package: ops must write every element of the pooled buffers they take.
func TestMain(m *testing.M) {
	poisonBufs = true
	os.Exit(m.Run())
}
