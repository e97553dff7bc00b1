package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/match"
)

func TestProfile(t *testing.T) {
	if l, err := Profile("cos"); err != nil || l != COS {
		t.Errorf("Profile(cos) = %+v, %v", l, err)
	}
	if l, err := Profile(""); err != nil || l != None {
		t.Errorf("Profile(\"\") = %+v, %v", l, err)
	}
	if _, err := Profile("gcs"); !errors.Is(err, ErrUnknownProfile) || !strings.Contains(err.Error(), `"gcs"`) {
		t.Errorf("Profile(gcs) error = %v", err)
	}
}

func TestLimitsCheck(t *testing.T) {
	var rules []match.Rule
	for i := 0; i < 11; i++ { // 11 rules in bucket a, all naming fn-gz
		rules = append(rules, match.Rule{ID: fmt.Sprint(i), Bucket: "a", Events: match.ObjectCreated, Prefix: fmt.Sprint(i, "/"),
			Target: "qcs:0:lambda:gz:appid/1250000000:default.fn.$LATEST"})
	}
	rules = append(rules,
		match.Rule{ID: "x", Bucket: "b", Events: match.ObjectCreated, Target: "qcs:0:lambda:sh:appid/1250000000:default.other.$LATEST"},
		match.Rule{ID: "y", Bucket: "c", Events: match.ObjectCreated, Target: "arn:aws:lambda:us-east-1:1:function:f"},
		match.Rule{ID: "z", Bucket: "c", Events: match.ObjectCreatedPut.Set() | match.ObjectTagging | match.ObjectAclPut.Set(), Prefix: "z",
			Target: "qcs::scf:ap-guangzhou:uin/1:namespace/default/function/z"},
	)
	regions := map[string]string{"a": "ap-guangzhou", "b": "GZ", "c": "ap-guangzhou"}
	got := COS.Check(rules, func(b string) string { return regions[b] })
	var msgs []string
	for _, e := range got {
		if !errors.Is(e, ErrLimit) {
			t.Errorf("%v does not wrap ErrLimit", e)
		}
		msgs = append(msgs, e.Error())
	}
	want := []string{
		`config: bucket "a" has 11 rules, over the cos limit of 10 per bucket`,
		`config: target "qcs:0:lambda:gz:appid/1250000000:default.fn.$LATEST" is named by 11 rules, over the cos limit of 10 per target`,
		`config: rule "x" in bucket "b": target region "sh" (ap-shanghai) differs from the bucket's region "GZ" (ap-guangzhou), which the cos profile forbids`,
		`config: rule "y" in bucket "c": target "arn:aws:lambda:us-east-1:1:function:f" is not an SCF function (qcs::scf:REGION:… or qcs:0:lambda:REGION:…), which the cos profile requires`,
		`config: rule "z" in bucket "c": events s3:ObjectTagging:*, s3:ObjectAcl:Put, which the cos profile lacks`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if got := None.Check(rules, func(string) string { return "ap-beijing" }); len(got) != 0 {
		t.Errorf("profile none found %v", got)
	}
	if got := COS.Check(rules[:10], nil); len(got) != 0 {
		t.Errorf("10 rules, regions unknown: got %v", got)
	}
}

func TestRegions(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"gz", "ap-guangzhou", true}, {"cd", "ap-chengdu", true}, {"AP-Beijing", "bj", true},
		{"gz", "sh", false}, {"ap-guangzhou", "ap-guangzhou-open", false}, {"xx", "XX", true}, {"xx", "ap-guangzhou", false},
	}
	for _, tt := range tests {
		if got := SameRegion(tt.a, tt.b); got != tt.same {
			t.Errorf("SameRegion(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
		if got := SameRegion(tt.b, tt.a); got != tt.same {
			t.Errorf("SameRegion(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.same)
		}
	}
	for target, want := range map[string]string{
		"qcs:0:lambda:gz:appid/1250000000:default.fn.$LATEST":                  "gz",
		"qcs:0:lambda:cd:appid/1253970026:default.printevent.$LATEST":          "cd",
		"qcs::scf:ap-guangzhou:uin/100000000001:namespace/default/function/fn": "ap-guangzhou",
		"arn:aws:lambda:us-east-1:1:function:f":                                "",
		"qcs:0:lambda":                                                         "",
		"qcs:0:cos:gz:x":                                                       "",
	} {
		got, ok := TargetRegion(target)
		if got != want || ok != (want != "") {
			t.Errorf("TargetRegion(%q) = %q, %v; want %q", target, got, ok, want)
		}
	}
}

// A limit error quotes at most about 200 bytes of each name.
func TestLimitErrorsQuoteAtMost200Bytes(t *testing.T) {
	long := strings.Repeat("x", 64<<10)
	var l match.Rule
	l.ID, l.Bucket, l.Target = long, long, long
	for _, e := range []*LimitError{
		{Kind: LimitBucketRules, Bucket: long}, {Kind: LimitTargetRules, Target: long},
		{Kind: LimitRegion, Rule: l, Bucket: long, BucketRegion: long, TargetRegion: long},
		{Kind: LimitEvents, Rule: l, Bucket: long, Events: match.ObjectTagging},
		{Kind: LimitTarget, Rule: l, Bucket: long, Target: long},
	} {
		if n := len(e.Error()); n > 2000 {
			t.Errorf("kind %d: a %d-byte message", e.Kind, n)
		}
	}
}
