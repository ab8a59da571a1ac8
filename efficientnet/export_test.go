package efficientnet

// NewUninitialised builds the model cfg describes with zero weights (no
// random initialisation), for tests that only look at shapes and names.
func NewUninitialised(cfg Config) (*Model, error) { return build(cfg, false) }
