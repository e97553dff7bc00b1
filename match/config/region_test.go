package config

import (
	"strings"
	"testing"
)

func TestParseCOSRegion(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"gz", "ap-guangzhou"},
		{"CD", "ap-chengdu"},
		{"ap-chengdu", "ap-chengdu"},
		{"ap-jakarta", "ap-jakarta"},
	} {
		got, err := ParseCOSRegion(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseCOSRegion(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"mars", "", "us-west-2", strings.Repeat("x", 1000)} {
		_, err := ParseCOSRegion(bad)
		if err == nil {
			t.Errorf("ParseCOSRegion(%q) = nil error, want one", bad)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("ParseCOSRegion error is %d bytes long; want the value cut short", len(err.Error()))
		}
	}
}
