// This file checks the -region flag of the commands that write payloads.

package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match/config"
)

// awsRegion is the shape of an AWS-style region name: us-west-2,
// ap-southeast-1, us-gov-east-1, cn-north-1.
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// checkRegion returns the region to write for -region given as name, for
// payloads in format f: for COS a known COS region, full name or short
// ("gz" gives "ap-guangzhou"); for S3 and CloudEvents an AWS-style name or
// a COS region, as given.
// "" stays "".
func checkRegion(f batch.Format, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	if f == batch.FormatCOS {
		full, err := config.ParseCOSRegion(name)
		if err != nil {
			return "", fmt.Errorf("-region: %s", strings.TrimPrefix(err.Error(), "config: "))
		}
		return full, nil
	}
	if _, err := config.ParseCOSRegion(name); err != nil && !awsRegion.MatchString(name) {
		return "", fmt.Errorf("-region %s is neither an AWS region name like us-west-2 nor a COS region", quote(name))
	}
	return name, nil
}
