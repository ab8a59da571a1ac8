module github.com/sortnet/sortnet

go 1.24
