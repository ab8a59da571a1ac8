package train

import "time"

// SetProgressClock replaces p's clock, so tests control elapsed times.
func SetProgressClock(p *Progress, now func() time.Time) { p.now = now }
