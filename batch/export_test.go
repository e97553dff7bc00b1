package batch

// DecodeSlowly makes d decode every value with encoding/json, without the
// fast path, so tests can compare the two.
func DecodeSlowly(d *Decoder) { d.slow = true }
