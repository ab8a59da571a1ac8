// Command-line generators for the assembly kernels of package kernels,
// written with avo (github.com/mmcloughlin/avo). This module is separate so
// that avo never enters sortnet's own dependencies.
//
// Each subdirectory but internal/ (code the generators share) generates
// one *_amd64.s file and its Go stubs; run `go generate ./nn/kernels/` from
// the repository root to regenerate them all (CI fails if that changes
// anything). Never edit the .s files by hand.
package gen
