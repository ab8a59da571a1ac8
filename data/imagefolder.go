package data

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/sortnet/sortnet/augment"
	"github.com/sortnet/sortnet/nn"
)

// ImageExtensions are the file extensions ImageFolder reads (compared
// without case), torchvision's IMG_EXTENSIONS minus .ppm/.pgm plus .gif.
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

// FolderOptions configures an ImageFolder.
type FolderOptions struct {
	// Pipeline augments and normalises each sample when it is loaded; nil
	// means the decoded image as is, scaled to [0, 1].
	Pipeline *augment.Pipeline
	// Classes, if set, is the class list the folder must have (in this
	// order), e.g. the training folder's, so that a test folder with other
	// classes is an error instead of silently misnumbered labels.
	Classes []string
	// AllowEmpty accepts class folders without images (torchvision's
	// allow_empty); otherwise they are an error.
	AllowEmpty bool
	// Cache keeps every decoded image in memory after its first use;
	// CacheMaxSide, if > 0, first shrinks images whose longer side exceeds
	// it (area interpolation), bounding the memory: set it at or above the
	// size the pipeline resizes to.
	Cache        bool
	CacheMaxSide int
}

// ImageFolder is an image classification data set laid out as
// root/<class>/<image>, read by torchvision's ImageFolder rules: classes
// are the non-hidden subfolders in sorted order (label = index), images are
// the files with ImageExtensions found below each class folder (recursively,
// in sorted order), hidden files and folders are skipped, and a class
// without images is an error unless AllowEmpty. The detect-waste layout
// images_square/{train,test,pseudolabel}/<class>/*.jpg loads as it is.
type ImageFolder struct {
	Root  string
	Names []string // class names
	Files []string // image paths
	Y     []int    // labels (Unlabeled for an unlabelled folder)
	opts  FolderOptions
	cache *imageCache
	ws    *sync.Pool // *augment.Workspace per worker
}

var _ Labeled = (*ImageFolder)(nil)

// NewImageFolder scans root. Errors name what is wrong: a missing folder,
// no class folders, an empty class, classes that differ from opts.Classes.
func NewImageFolder(root string, opts FolderOptions) (*ImageFolder, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("data.NewImageFolder: %w", err)
	}
	f := newFolder(root, opts)
	for _, e := range entries {
		if e.IsDir() && !hidden(e.Name()) {
			f.Names = append(f.Names, e.Name())
		}
	}
	sort.Strings(f.Names)
	if len(f.Names) == 0 {
		return nil, fmt.Errorf("data.NewImageFolder: %s has no class folders (want %s/<class>/<image>)", root, root)
	}
	if opts.Classes != nil && !equalStrings(opts.Classes, f.Names) {
		return nil, fmt.Errorf("data.NewImageFolder: %s has classes %v, expected %v", root, f.Names, opts.Classes)
	}
	var empty []string
	for c, name := range f.Names {
		files, err := listImages(filepath.Join(root, name))
		if err != nil {
			return nil, fmt.Errorf("data.NewImageFolder: %w", err)
		}
		if len(files) == 0 {
			empty = append(empty, name)
		}
		for _, p := range files {
			f.Files = append(f.Files, p)
			f.Y = append(f.Y, c)
		}
	}
	if len(empty) > 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("data.NewImageFolder: %s: no images (%s) in class folders %v", root, strings.Join(ImageExtensions, " "), empty)
	}
	return f, nil
}

// NewUnlabeledFolder reads every image below root (recursively, sorted),
// without labels: an unlabelled pool such as detect-waste's pseudolabel
// folder.
func NewUnlabeledFolder(root string, opts FolderOptions) (*ImageFolder, error) {
	files, err := listImages(root)
	if err != nil {
		return nil, fmt.Errorf("data.NewUnlabeledFolder: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data.NewUnlabeledFolder: no images (%s) below %s", strings.Join(ImageExtensions, " "), root)
	}
	f := newFolder(root, opts)
	f.Names = opts.Classes
	f.Files = files
	f.Y = make([]int, len(files))
	for i := range f.Y {
		f.Y[i] = Unlabeled
	}
	return f, nil
}

func newFolder(root string, opts FolderOptions) *ImageFolder {
	f := &ImageFolder{Root: root, opts: opts, ws: &sync.Pool{New: func() any { return new(augment.Workspace) }}}
	if opts.Cache {
		f.cache = &imageCache{m: map[string]*augment.Image{}}
	}
	return f
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

func isImage(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range ImageExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

// listImages returns the image files below dir, sorted, skipping hidden
// files and folders and following symbolic links to files.
func listImages(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && isImage(d.Name()) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// WithPipeline returns a view of the same files (and cache) with another
// pipeline: the clean and the noisy view of a self-training pool, or the
// training and evaluation views of one folder.
func (f *ImageFolder) WithPipeline(p *augment.Pipeline) *ImageFolder {
	g := *f
	g.opts.Pipeline = p
	g.ws = &sync.Pool{New: func() any { return new(augment.Workspace) }}
	return &g
}

// Len returns the number of images.
func (f *ImageFolder) Len() int { return len(f.Files) }

// Labels returns the labels.
func (f *ImageFolder) Labels() []int { return f.Y }

// Classes returns the class names.
func (f *ImageFolder) Classes() []string { return f.Names }

// Path returns the file of sample i.
func (f *ImageFolder) Path(i int) string { return f.Files[i] }

// Image decodes sample i (from the cache if it is on), before any
// augmentation.
func (f *ImageFolder) Image(i int) (*augment.Image, error) {
	path := f.Files[i]
	if f.cache != nil {
		if img := f.cache.get(path); img != nil {
			return img, nil
		}
	}
	img, err := augment.DecodeFile(path)
	if err != nil {
		return nil, err
	}
	if m := f.opts.CacheMaxSide; f.cache != nil && m > 0 && max(img.H, img.W) > m {
		h, w := img.H*m/max(img.H, img.W), img.W*m/max(img.H, img.W)
		if img, err = augment.ResizeImage(img, max(h, 1), max(w, 1), augment.Area); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if f.cache != nil {
		f.cache.put(path, img)
	}
	return img, nil
}

// Example loads sample i through the pipeline.
func (f *ImageFolder) Example(i int, rng *rand.Rand) (Example, error) {
	img, err := f.Image(i)
	if err != nil {
		return Example{}, err
	}
	t, err := runPipeline(f.opts.Pipeline, f.ws, rng, augment.Sample{Image: img})
	if err != nil {
		return Example{}, fmt.Errorf("%s: %w", f.Files[i], err)
	}
	return Example{Image: t.image, Label: f.Y[i], Index: i}, nil
}

type processed struct {
	image  *nn.Tensor
	sample augment.Sample
}

// runPipeline augments s and normalises the result into a new HWC tensor.
func runPipeline(p *augment.Pipeline, pool *sync.Pool, rng *rand.Rand, s augment.Sample) (processed, error) {
	var norm *augment.Normalize
	if p != nil {
		ws := pool.Get().(*augment.Workspace)
		defer pool.Put(ws)
		out, err := p.Run(rng, s, ws)
		if err != nil {
			return processed{}, err
		}
		s, norm = out, p.Normalize
	}
	img := s.Image
	t := nn.New(img.H, img.W, img.C)
	if norm != nil {
		if err := norm.Into(t.Data(), img); err != nil {
			return processed{}, err
		}
	} else {
		for i, v := range img.Pix {
			t.Data()[i] = float32(v) / 255
		}
	}
	return processed{t, s}, nil
}

// BadFile is an image that failed to decode.
type BadFile struct {
	Path string
	Err  error
}

// Check decodes every image once (on workers goroutines; 0 means
// GOMAXPROCS) and returns those that fail. With drop, they are also
// removed from the folder, so training can go on without them; the caller
// should report how many.
func (f *ImageFolder) Check(ctx context.Context, workers int, drop bool) ([]BadFile, error) {
	if workers <= 0 {
		workers = max(1, min(8, len(f.Files)))
	}
	errs := make([]error, len(f.Files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, errs[i] = f.Image(i)
			}
		}()
	}
	var cancelled error
feed:
	for i := range f.Files {
		select {
		case next <- i:
		case <-ctx.Done():
			cancelled = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if cancelled != nil {
		return nil, cancelled
	}
	var bad []BadFile
	for i, err := range errs {
		if err != nil {
			bad = append(bad, BadFile{f.Files[i], err})
		}
	}
	if drop && len(bad) > 0 {
		keep := 0
		for i, err := range errs {
			if err == nil {
				f.Files[keep], f.Y[keep] = f.Files[i], f.Y[i]
				keep++
			}
		}
		f.Files, f.Y = f.Files[:keep], f.Y[:keep]
		if keep == 0 {
			return bad, errors.New("data: every image failed to decode")
		}
	}
	return bad, nil
}

type imageCache struct {
	mu sync.Mutex
	m  map[string]*augment.Image
}

func (c *imageCache) get(path string) *augment.Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[path]
}

func (c *imageCache) put(path string, img *augment.Image) {
	c.mu.Lock()
	c.m[path] = img
	c.mu.Unlock()
}
