// This file reads the target → URL table of the HTTP dispatcher from JSON:
// one object whose keys are target names and whose values are URLs,
//
//	{"thumbnail": "https://fn.example.com/thumbnail", "audit": "http://127.0.0.1:9000/audit"}
//
// Every entry is checked as NewHTTP would check it, so a bad file is refused
// with an error naming the file and the target before anything is sent.

package dispatch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// LoadTargets reads a target → URL table from r. Errors name the bad entry
// (a *ConfigError with Field `Targets["name"]`) or the JSON problem.
func LoadTargets(r io.Reader) (map[string]string, error) {
	var m map[string]string
	dec := json.NewDecoder(r)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("dispatch: targets: want a JSON object of target name → URL: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("dispatch: targets: unexpected data after the JSON object")
	}
	if len(m) == 0 {
		return nil, &ConfigError{Field: "Targets", Value: "{}", Reason: "at least one target → URL is required"}
	}
	for name, u := range m {
		if err := checkTargetURL(name, u); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// LoadTargetsFile reads a target → URL table from the JSON file at path.
func LoadTargetsFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dispatch: targets: %w", err)
	}
	defer f.Close()
	m, err := LoadTargets(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
