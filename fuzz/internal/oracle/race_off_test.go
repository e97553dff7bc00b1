//go:build !race

package oracle

// raceEnabled reports whether the race detector is on; slow tests do less under it.
const raceEnabled = false
