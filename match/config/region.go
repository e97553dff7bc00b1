// This file compares Tencent Cloud regions, which appear under two spellings:
// the full name ("ap-guangzhou") in bucket domains and APIs, and a short name
// ("gz") in COS event records and SCF QCS resource names such as
// qcs:0:lambda:gz:appid/1250000000:default.fn.$LATEST. Both sides are mapped
// through the table below to the full name and compared; a name the table does
// not know is compared as written, ignoring case.

package config

import (
	"fmt"
	"strings"
)

// regionShortNames maps the short region names Tencent Cloud uses in COS
// event records and SCF resource names to the full region names.
var regionShortNames = map[string]string{
	"gz":  "ap-guangzhou",
	"sh":  "ap-shanghai",
	"bj":  "ap-beijing",
	"cd":  "ap-chengdu",
	"cq":  "ap-chongqing",
	"nj":  "ap-nanjing",
	"tj":  "ap-tianjin",
	"hk":  "ap-hongkong",
	"sg":  "ap-singapore",
	"th":  "ap-bangkok",
	"in":  "ap-mumbai",
	"kr":  "ap-seoul",
	"jp":  "ap-tokyo",
	"usw": "na-siliconvalley",
	"use": "na-ashburn",
	"ca":  "na-toronto",
	"de":  "eu-frankfurt",
}

// CanonicalRegion returns the full name of a Tencent Cloud region given by
// its full or short name ("gz" → "ap-guangzhou"), in lower case. A name it
// does not know is returned in lower case, unchanged otherwise.
func CanonicalRegion(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if full, ok := regionShortNames[name]; ok {
		return full
	}
	return name
}

// SameRegion reports whether a and b name the same region, full or short.
func SameRegion(a, b string) bool { return CanonicalRegion(a) == CanonicalRegion(b) }

// TargetRegion returns the region named by a QCS function name
// (qcs:0:lambda:REGION:… or qcs::scf:REGION:…) and whether target is one.
func TargetRegion(target string) (string, bool) {
	f := strings.SplitN(target, ":", 5)
	if len(f) < 5 || f[0] != "qcs" || f[2] != "lambda" && f[2] != "scf" || f[3] == "" {
		return "", false
	}
	return f[3], true
}

// cosRegionsWithoutShortName are the full names of COS regions that have no
// short name in regionShortNames.
var cosRegionsWithoutShortName = []string{
	"ap-shenzhen-fsi", "ap-shanghai-fsi", "ap-beijing-fsi", "ap-jakarta", "sa-saopaulo",
}

// ParseCOSRegion returns the full name of the COS region given by its full or
// short name ("gz" → "ap-guangzhou"), ignoring case. A name that is neither
// is an error that names it.
func ParseCOSRegion(name string) (string, error) {
	full := CanonicalRegion(name)
	for _, f := range regionShortNames {
		if f == full {
			return full, nil
		}
	}
	for _, f := range cosRegionsWithoutShortName {
		if f == full {
			return full, nil
		}
	}
	return "", fmt.Errorf("config: %s is not a COS region (want a full name such as ap-guangzhou or a short one such as gz)", quote(name))
}
