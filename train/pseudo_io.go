package train

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// WritePseudoCSV writes pseudo-labels as CSV, one row per proposal:
// index, name (names(index), or empty if names is nil), class (its name),
// confidence, then one probability column per class when proposals carry
// soft labels. The file is written to a temporary name and renamed.
func WritePseudoCSV(path string, props []Proposal, classes []string, names func(index int) string) error {
	soft := len(props) > 0 && props[0].Target != nil
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := csv.NewWriter(tmp)
	head := []string{"index", "name", "class", "confidence"}
	if soft {
		for _, c := range classes {
			head = append(head, "p_"+c)
		}
	}
	w.Write(head)
	for _, p := range props {
		if p.Class < 0 || p.Class >= len(classes) {
			tmp.Close()
			return fmt.Errorf("train.WritePseudoCSV: proposal for sample %d has class %d, outside the %d classes", p.Index, p.Class, len(classes))
		}
		name := ""
		if names != nil {
			name = names(p.Index)
		}
		row := []string{strconv.Itoa(p.Index), name, classes[p.Class], strconv.FormatFloat(p.Confidence, 'g', -1, 64)}
		if soft {
			if len(p.Target) != len(classes) {
				tmp.Close()
				return fmt.Errorf("train.WritePseudoCSV: sample %d has %d probabilities for %d classes", p.Index, len(p.Target), len(classes))
			}
			for _, v := range p.Target {
				row = append(row, strconv.FormatFloat(float64(v), 'g', -1, 32))
			}
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadPseudoCSV reads pseudo-labels written by WritePseudoCSV, checking
// class names against classes. Errors name the file and line.
func ReadPseudoCSV(path string, classes []string) ([]Proposal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readPseudoCSV(f, path, classes)
}

func readPseudoCSV(r io.Reader, path string, classes []string) ([]Proposal, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if len(head) < 4 || head[0] != "index" || head[2] != "class" || head[3] != "confidence" {
		return nil, fmt.Errorf("%s: header %v: want index,name,class,confidence[,p_<class>...]", path, head)
	}
	soft := len(head) > 4
	if soft && len(head) != 4+len(classes) {
		return nil, fmt.Errorf("%s: %d probability columns for %d classes", path, len(head)-4, len(classes))
	}
	byName := map[string]int{}
	for i, c := range classes {
		byName[c] = i
	}
	var out []Proposal
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		bad := func(what string) error { return fmt.Errorf("%s:%d: %s", path, line, what) }
		idx, err := strconv.Atoi(rec[0])
		if err != nil || idx < 0 {
			return nil, bad(fmt.Sprintf("bad index %q", rec[0]))
		}
		cls, ok := byName[rec[2]]
		if !ok {
			return nil, bad(fmt.Sprintf("unknown class %q (classes: %v)", rec[2], classes))
		}
		conf, err := strconv.ParseFloat(rec[3], 64)
		if err != nil || !(conf >= 0 && conf <= 1) {
			return nil, bad(fmt.Sprintf("bad confidence %q", rec[3]))
		}
		p := Proposal{Index: idx, Class: cls, Confidence: conf}
		if soft {
			p.Target = make([]float32, len(classes))
			for k := range p.Target {
				v, err := strconv.ParseFloat(rec[4+k], 32)
				if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
					return nil, bad(fmt.Sprintf("bad probability %q", rec[4+k]))
				}
				p.Target[k] = float32(v)
			}
		}
		out = append(out, p)
	}
}
