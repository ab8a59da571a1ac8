package litter

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sortnet/sortnet/data"
)

// ManifestName is the file a writer puts last into a finished data set.
const ManifestName = "MANIFEST.json"

// Manifest describes a data set written by WriteImageFolder or WriteScenes.
// Its presence marks the data set complete: writers fill a temporary
// folder and rename it into place only after writing the manifest.
type Manifest struct {
	Generator string `json:"generator"`
	// Kind is "crops" (WriteImageFolder) or "scenes" (WriteScenes).
	Kind    string   `json:"kind"`
	Version int      `json:"version"`
	Hash    string   `json:"hash"`
	Config  Config   `json:"config"`
	Classes []string `json:"classes"`
	// Counts holds, per split, the number of crops (or annotated objects)
	// of each true class.
	Counts map[string][]int `json:"counts"`
}

const generatorName = "github.com/sortnet/sortnet/examples/waste/litter"

// ReadManifest reads the manifest of a data set folder.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("litter: %s: %w", filepath.Join(dir, ManifestName), err)
	}
	if m.Generator != generatorName {
		return nil, fmt.Errorf("litter: %s: not written by %s", filepath.Join(dir, ManifestName), generatorName)
	}
	return &m, nil
}

// prepare decides whether dir must be (re)generated and makes the
// temporary folder to write into. An existing dir is replaced only if it
// is empty or was written by this package.
func prepare(dir, kind, hash string) (tmp string, skip bool, err error) {
	if m, err := ReadManifest(dir); err == nil && m.Kind == kind && m.Hash == hash {
		return "", true, nil
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		if _, merr := ReadManifest(dir); merr != nil {
			return "", false, fmt.Errorf("litter: %s exists and is not a litter data set (no valid %s); remove it or choose another folder", dir, ManifestName)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("litter: %w", err)
	}
	tmp = filepath.Clean(dir) + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return "", false, fmt.Errorf("litter: removing a stale %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", false, fmt.Errorf("litter: %w", err)
	}
	return tmp, false, nil
}

// commit writes the manifest into tmp and moves tmp into place.
func commit(tmp, dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(tmp, ManifestName), b); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		old := filepath.Clean(dir) + ".old"
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("litter: %w", err)
		}
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("litter: %w", err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("litter: %w", err)
		}
		return os.RemoveAll(old)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return fmt.Errorf("litter: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("litter: %w", err)
	}
	return nil
}

func writeFile(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("litter: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("litter: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("litter: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("litter: %w", err)
	}
	return nil
}

// writePhoto writes a photo as a JPEG file of quality at most q: the
// camera's own file when it is no better than q (decoding it gives exactly
// the in-memory image), else a new encoding at quality q.
func writePhoto(path string, p photo, q int) error {
	if p.jpeg != nil && p.quality <= q {
		return writeFile(path, p.jpeg)
	}
	return writeJPEG(path, p.img, q)
}

func writeJPEG(path string, img image.Image, q int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("litter: %w", err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	if err := jpeg.Encode(w, img, &jpeg.Options{Quality: q}); err != nil {
		f.Close()
		return fmt.Errorf("litter: %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("litter: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("litter: %w", err)
	}
	return nil
}

// job is one sample to draw and write.
type job struct {
	split Split
	i     int
}

// run calls do for every job on workers goroutines, reports progress from
// the calling goroutine, and stops at the first error or when ctx ends.
// Every job depends on its (split, i) alone, so the files do not depend on
// the number of workers.
func run(ctx context.Context, workers int, jobs []job, do func(job) error, progress func(done, total int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(jobs)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	done := make(chan struct{}, workers)
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= len(jobs) {
					return
				}
				if err := do(jobs[k]); err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
				select {
				case done <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	n := 0
	if progress != nil {
		progress(0, len(jobs))
	}
	for range done {
		n++
		if progress != nil {
			progress(n, len(jobs))
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if n < len(jobs) {
		if err := context.Cause(ctx); err != nil {
			return fmt.Errorf("litter: interrupted after %d of %d images: %w", n, len(jobs), err)
		}
	}
	return nil
}

// WriteImageFolder writes the classifier crops of cfg as JPEG files in the
// ImageFolder layout:
//
//	dir/{train,val,test}/<class>/<split>_<index>.jpg   (folder of the given label;
//	                                                  every class folder exists)
//	dir/pool/pool_<index>.jpg                          (unlabelled)
//	dir/pool_truth.csv    file,true_class              (the pool's hidden truth)
//	dir/labels.csv        file,split,label,true_class  (train, val and test)
//	dir/MANIFEST.json
//
// File names in the CSV files are relative to dir. The data set is written
// into dir.partial and renamed to dir when complete, so an interrupted run
// never leaves a data set that looks finished. If dir already holds the
// data set of the same configuration (same manifest hash) nothing is done;
// a different litter data set in dir is replaced; any other non-empty dir
// is an error. progress (may be nil) is called from the calling goroutine
// with the number of images done.
func WriteImageFolder(ctx context.Context, dir string, cfg Config, progress func(done, total int)) error {
	cfg = cfg.filled()
	if err := cfg.Validate(); err != nil {
		return err
	}
	hash := cfg.hash("crops")
	workers := cfg.Workers
	cfg.Workers = 0 // not part of the data set
	tmp, skip, err := prepare(dir, "crops", hash)
	if err != nil {
		return err
	}
	var jobs []job
	total := 0
	for _, s := range Splits {
		total += cfg.Count(s)
	}
	if skip {
		if progress != nil {
			progress(total, total)
		}
		return nil
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	m := &Manifest{Generator: generatorName, Kind: "crops", Version: Version, Hash: hash, Config: cfg, Classes: Classes, Counts: map[string][]int{}}
	labels := []byte("file,split,label,true_class\n")
	truthCSV := []byte("file,true_class\n")
	given := map[Split][]int{}
	for _, s := range Splits {
		g, t, err := Labels(cfg, s)
		if err != nil {
			return err
		}
		given[s] = g
		counts := make([]int, NumClasses)
		for i := range t {
			counts[t[i]]++
			jobs = append(jobs, job{s, i})
			f := cropFile(s, i, g[i])
			if s == Pool {
				truthCSV = fmt.Appendf(truthCSV, "%s,%s\n", f, Classes[t[i]])
			} else {
				labels = fmt.Appendf(labels, "%s,%s,%s,%s\n", f, s, Classes[g[i]], Classes[t[i]])
			}
		}
		m.Counts[s.String()] = counts
		if s == Pool {
			if err := os.MkdirAll(filepath.Join(tmp, "pool"), 0o755); err != nil {
				return fmt.Errorf("litter: %w", err)
			}
			continue
		}
		for _, c := range Classes {
			if err := os.MkdirAll(filepath.Join(tmp, s.String(), c), 0o755); err != nil {
				return fmt.Errorf("litter: %w", err)
			}
		}
	}
	err = run(ctx, workers, jobs, func(j job) error {
		_, p := crop(&cfg, j.split, j.i)
		return writePhoto(filepath.Join(tmp, cropFile(j.split, j.i, given[j.split][j.i])), p, cfg.Quality)
	}, progress)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(tmp, "labels.csv"), labels); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(tmp, "pool_truth.csv"), truthCSV); err != nil {
		return err
	}
	if err := commit(tmp, dir, m); err != nil {
		return err
	}
	ok = true
	return nil
}

// cropFile is the path of a crop relative to the data set folder.
func cropFile(s Split, i, label int) string {
	name := fmt.Sprintf("%s_%06d.jpg", s, i)
	if s == Pool {
		return "pool/" + name
	}
	return s.String() + "/" + Classes[label] + "/" + name
}

// COCOCategories returns the detect-waste 7-class categories: ids 1..7,
// equal to the class indices, named as in Classes.
func COCOCategories() []data.COCOCategory {
	var cats []data.COCOCategory
	for c := 1; c < NumClasses; c++ {
		cats = append(cats, data.COCOCategory{ID: c, Name: Classes[c], Supercategory: "litter"})
	}
	return cats
}

// WriteScenes writes the detector scenes of cfg as JPEG files with COCO
// JSON annotations (boxes [x, y, width, height] in pixels, iscrowd 0):
//
//	dir/{train,val,test,pool}/<index>.jpg
//	dir/train.json, dir/val.json, dir/test.json   7 classes, ids 1..7 (given labels)
//	dir/train_truth.json, dir/val_truth.json      the same boxes with the true classes
//	dir/pool_truth.json                           the pool's hidden boxes and classes
//	dir/<name>_litter.json                        1-class "litter" (id 1) twin of each
//	dir/MANIFEST.json
//
// Image file names in the JSON files are relative to dir. Writing,
// caching and replacement work as in WriteImageFolder.
func WriteScenes(ctx context.Context, dir string, cfg Config, progress func(done, total int)) error {
	cfg = cfg.filled()
	if err := cfg.Validate(); err != nil {
		return err
	}
	hash := cfg.hash("scenes")
	workers := cfg.Workers
	cfg.Workers = 0
	tmp, skip, err := prepare(dir, "scenes", hash)
	if err != nil {
		return err
	}
	var jobs []job
	for _, s := range Splits {
		for i := 0; i < cfg.SceneCount(s); i++ {
			jobs = append(jobs, job{s, i})
		}
	}
	if skip {
		if progress != nil {
			progress(len(jobs), len(jobs))
		}
		return nil
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	for _, s := range Splits {
		if err := os.MkdirAll(filepath.Join(tmp, s.String()), 0o755); err != nil {
			return fmt.Errorf("litter: %w", err)
		}
	}
	objects := map[Split][][]Object{}
	for _, s := range Splits {
		objects[s] = make([][]Object, cfg.SceneCount(s))
	}
	err = run(ctx, workers, jobs, func(j job) error {
		wd, objs := sceneWorld(&cfg, j.split, j.i)
		sc, p := drawScene(&cfg, wd, objs, j.split, j.i, 2)
		objects[j.split][j.i] = sc.Objects // distinct slots: no lock needed
		return writePhoto(filepath.Join(tmp, sceneFile(j.split, j.i)), p, cfg.Quality)
	}, progress)
	if err != nil {
		return err
	}
	m := &Manifest{Generator: generatorName, Kind: "scenes", Version: Version, Hash: hash, Config: cfg, Classes: Classes, Counts: map[string][]int{}}
	for _, s := range Splits {
		counts := make([]int, NumClasses)
		for _, objs := range objects[s] {
			for _, o := range objs {
				counts[o.True]++
			}
		}
		m.Counts[s.String()] = counts
		var files []cocoFile
		switch s {
		case Pool:
			files = []cocoFile{{"pool_truth", true}}
		case Test:
			files = []cocoFile{{"test", true}}
		default:
			files = []cocoFile{{s.String(), false}, {s.String() + "_truth", true}}
		}
		for _, f := range files {
			for _, one := range []bool{false, true} {
				c := sceneCOCO(&cfg, s, objects[s], f.truth, one)
				name := f.name
				if one {
					name += "_litter"
				}
				if err := data.WriteCOCO(filepath.Join(tmp, name+".json"), c); err != nil {
					return fmt.Errorf("litter: %w", err)
				}
			}
		}
	}
	if err := commit(tmp, dir, m); err != nil {
		return err
	}
	ok = true
	return nil
}

// cocoFile names one COCO file of a split and whether it holds the true
// classes or the given ones.
type cocoFile struct {
	name  string
	truth bool
}

func sceneFile(s Split, i int) string { return fmt.Sprintf("%s/%06d.jpg", s, i) }

// sceneCOCO builds the COCO data set of one split: true or given classes,
// 7 classes or the single class "litter".
func sceneCOCO(cfg *Config, s Split, objects [][]Object, truth, oneClass bool) *data.COCO {
	c := &data.COCO{Images: []data.COCOImage{}, Annotations: []data.COCOAnnotation{}}
	if oneClass {
		c.Categories = []data.COCOCategory{{ID: 1, Name: "litter", Supercategory: "litter"}}
	} else {
		c.Categories = COCOCategories()
	}
	id := 1
	for i, objs := range objects {
		c.Images = append(c.Images, data.COCOImage{ID: i + 1, FileName: sceneFile(s, i), Width: cfg.SceneW, Height: cfg.SceneH})
		for _, o := range objs {
			cat := o.Label
			if truth || cat == Unlabeled {
				cat = o.True
			}
			if oneClass {
				cat = 1
			}
			w, h := o.Box.X2-o.Box.X1, o.Box.Y2-o.Box.Y1
			c.Annotations = append(c.Annotations, data.COCOAnnotation{
				ID: id, ImageID: i + 1, CategoryID: cat,
				BBox: [4]float64{o.Box.X1, o.Box.Y1, w, h}, Area: w * h,
			})
			id++
		}
	}
	return c
}
