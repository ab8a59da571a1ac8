module github.com/sortnet/sortnet/nn/kernels/_gen

go 1.24.0

require (
	github.com/mmcloughlin/avo v0.5.0
	golang.org/x/mod v0.6.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/tools v0.2.0 // indirect
)

replace github.com/sortnet/sortnet => ../../..
