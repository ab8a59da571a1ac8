package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Record is one line of a metrics log: a step, an epoch, an evaluation.
type Record struct {
	Time  time.Time // when it was written; MetricsLog.Write fills in a zero Time
	Kind  string    // what the line is about: "step", "epoch", "eval", ...; required
	Epoch int
	Step  int
	// Values are the measurements by name ("loss", "val_acc", "lr").
	// NaN and infinities are written as JSON null and read back as NaN.
	Values map[string]float64
}

// reserved are the JSON members a value may not be called.
var reserved = map[string]bool{"time": true, "kind": true, "epoch": true, "step": true}

// MetricsLog appends Records to a JSON Lines file: one JSON object per line,
//
//	{"time":"2025-05-01T12:00:00.123Z","kind":"epoch","epoch":3,"step":1200,"loss":0.41,"val_acc":0.87}
//
// with the values in name order, readable by ReadMetricsLog, pandas
// (read_json(lines=True)) or jq. Each record reaches the file in a single
// write before Write returns (nothing is buffered), so a crash of the
// process loses nothing already written, and a crash of the machine can at
// worst tear the last line, which OpenMetricsLog and ReadMetricsLog drop.
// Sync makes the records so far durable. A MetricsLog is safe for
// concurrent use.
type MetricsLog struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// OpenMetricsLog opens path for appending, creating it if needed, so that
// a resumed run continues its log. If the file ends in an incomplete line
// (a torn write), that line is removed first.
func OpenMetricsLog(path string) (*MetricsLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train.OpenMetricsLog: %w", err)
	}
	if err := dropTornTail(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("train.OpenMetricsLog %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("train.OpenMetricsLog %s: %w", path, err)
	}
	return &MetricsLog{f: f, path: path}, nil
}

// dropTornTail truncates f after its last newline.
func dropTornTail(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	buf := make([]byte, 64<<10)
	for pos := end; pos > 0; {
		n := int64(len(buf))
		if n > pos {
			n = pos
		}
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			if keep := pos + int64(i) + 1; keep < end {
				return f.Truncate(keep)
			}
			return nil
		}
	}
	if end > 0 {
		return f.Truncate(0)
	}
	return nil
}

// Write appends r as one line.
func (l *MetricsLog) Write(r Record) error {
	line, err := encodeRecord(r)
	if err != nil {
		return fmt.Errorf("train.MetricsLog.Write %s: %w", l.path, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("train.MetricsLog.Write %s: log is closed", l.path)
	}
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("train.MetricsLog.Write: %w", err)
	}
	return nil
}

func encodeRecord(r Record) ([]byte, error) {
	if r.Kind == "" {
		return nil, errors.New("record has no Kind")
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	b := make([]byte, 0, 128)
	b = append(b, `{"time":`...)
	t, err := r.Time.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, t...)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, r.Kind)
	b = append(b, `,"epoch":`...)
	b = strconv.AppendInt(b, int64(r.Epoch), 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, int64(r.Step), 10)
	for _, k := range slices.Sorted(maps.Keys(r.Values)) {
		if k == "" || reserved[k] {
			return nil, fmt.Errorf("value name %q is empty or reserved (time, kind, epoch, step)", k)
		}
		b = append(b, ',')
		b = appendJSONString(b, k)
		b = append(b, ':')
		if v := r.Values[k]; isFinite(v) {
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, "}\n"...), nil
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// Sync commits the records written so far to stable storage.
func (l *MetricsLog) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	return l.f.Sync()
}

// Close syncs and closes the file. Closing twice is harmless.
func (l *MetricsLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := errors.Join(l.f.Sync(), l.f.Close())
	l.f = nil
	if err != nil {
		return fmt.Errorf("train.MetricsLog.Close %s: %w", l.path, err)
	}
	return nil
}

// ReadMetricsLog reads the records of a metrics log. A last line without
// its newline is a torn write and is skipped; any other line that is not a
// record is an error naming its line number.
func ReadMetricsLog(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train.ReadMetricsLog: %w", err)
	}
	defer f.Close()
	var out []Record
	br := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return out, nil // a partial last line (if any) is torn
		}
		if err != nil {
			return nil, fmt.Errorf("train.ReadMetricsLog %s: %w", path, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r, err := decodeRecord(line)
		if err != nil {
			return nil, fmt.Errorf("train.ReadMetricsLog %s:%d: %w", path, lineNo, err)
		}
		out = append(out, r)
	}
}

func decodeRecord(line []byte) (Record, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(m["time"], &r.Time); err != nil {
		return Record{}, fmt.Errorf("time: %w", err)
	}
	if err := json.Unmarshal(m["kind"], &r.Kind); err != nil || r.Kind == "" {
		return Record{}, fmt.Errorf("kind: missing or not a string")
	}
	if err := json.Unmarshal(m["epoch"], &r.Epoch); err != nil {
		return Record{}, fmt.Errorf("epoch: %w", err)
	}
	if err := json.Unmarshal(m["step"], &r.Step); err != nil {
		return Record{}, fmt.Errorf("step: %w", err)
	}
	for k, raw := range m {
		if reserved[k] {
			continue
		}
		if r.Values == nil {
			r.Values = map[string]float64{}
		}
		if string(raw) == "null" {
			r.Values[k] = math.NaN()
			continue
		}
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return Record{}, fmt.Errorf("value %q: not a number: %s", k, raw)
		}
		r.Values[k] = v
	}
	return r, nil
}
