// This file picks the bucket of events that name none.

package main

import "github.com/notifymux/notifymux/match"

// defaultBucket returns the bucket of events that name none: flag when it is
// set, else the one bucket the rules name when they name exactly one, else "".
func defaultBucket(flag string, rules []match.Rule) string {
	if flag != "" {
		return flag
	}
	one := ""
	for _, r := range rules {
		switch {
		case one == "":
			one = r.Bucket
		case r.Bucket != one:
			return ""
		}
	}
	return one
}
