package config_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

func ExampleReadXML() {
	doc := `<NotificationConfiguration>
  <CloudFunctionConfiguration>
    <Id>thumbs</Id>
    <Filter><S3Key>
      <FilterRule><Name>prefix</Name><Value>images/</Value></FilterRule>
      <FilterRule><Name>suffix</Name><Value>.jpg</Value></FilterRule>
    </S3Key></Filter>
    <Event>cos:ObjectCreated:*</Event>
    <CloudFunction>qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST</CloudFunction>
  </CloudFunctionConfiguration>
  <CloudFunctionConfiguration>
    <Event>cos:ObjectCreated:Pot</Event>
    <CloudFunction>qcs:0:lambda:gz:appid/1250000000:default.other.$LATEST</CloudFunction>
  </CloudFunctionConfiguration>
</NotificationConfiguration>`
	rules, err := config.ReadXML(strings.NewReader(doc), "photos")
	for _, r := range rules {
		fmt.Printf("%s: %s %q %q → %s\n", r.ID, r.Events, r.Prefix, r.Suffix, r.Target)
	}
	fmt.Println(err)
	// Output:
	// thumbs: cos:ObjectCreated:* "images/" ".jpg" → qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST
	// config: line 12: Event: match: unknown event "cos:ObjectCreated:Pot" (did you mean "cos:ObjectCreated:Post"?)
}

func ExampleWriteJSON() {
	doc := &config.Document{
		Regions: map[string]string{"photos": "ap-guangzhou"},
		Rules: []match.Rule{{ID: "thumbs", Bucket: "photos", Events: match.ObjectCreated, Prefix: "images/",
			Target: "qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST"}},
	}
	if err := config.WriteJSON(os.Stdout, doc); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {
	//   "regions": {"photos": "ap-guangzhou"},
	//   "rules": [
	//     {"id":"thumbs","bucket":"photos","events":["cos:ObjectCreated:*"],"prefix":"images/","target":"qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST"}
	//   ]
	// }
}

func ExampleOverlaps() {
	put := match.ObjectCreatedPut.Set()
	rules := []match.Rule{
		{ID: "all-images", Bucket: "photos", Events: match.ObjectCreated, Prefix: "images/", Target: "a"},
		{ID: "jpg", Bucket: "photos", Events: put, Suffix: ".jpg", Target: "b"},
		{ID: "thumbs", Bucket: "photos", Events: put, Prefix: "images/thumbs/", Suffix: ".jpg", Target: "c"},
	}
	for c := range config.Overlaps(rules) {
		fmt.Printf("rules[%d] %q overlaps rules[%d] %q: both match %s on key %q\n",
			c.Later, c.Err.Rule.ID, c.Earlier, c.Err.Existing.ID, c.Err.Event, c.Err.Key)
	}
	// Output:
	// rules[1] "jpg" overlaps rules[0] "all-images": both match cos:ObjectCreated:Put on key "images/.jpg"
	// rules[2] "thumbs" overlaps rules[0] "all-images": both match cos:ObjectCreated:Put on key "images/thumbs/.jpg"
	// rules[2] "thumbs" overlaps rules[1] "jpg": both match cos:ObjectCreated:Put on key "images/thumbs/.jpg"
}

func ExampleLimits_Check() {
	rules := []match.Rule{{ID: "thumbs", Bucket: "photos", Events: match.ObjectCreated,
		Target: "qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST"}}
	for _, err := range config.COS.Check(rules, func(string) string { return "ap-chengdu" }) {
		fmt.Println(err)
	}
	// Output:
	// config: rule "thumbs" in bucket "photos": target region "gz" (ap-guangzhou) differs from the bucket's region "ap-chengdu" (ap-chengdu), which the cos profile forbids
}

func ExampleReadLimit() {
	rules := "{\"rules\":[\n" +
		`{"id":"ok","bucket":"logs","events":["s3:ObjectRemoved:*"],"target":"qcs::scf:ap-guangzhou:uin/1:namespace/default/function/f"},` + "\n" +
		"{\"id\":\"bad\",\"bucket\":\"logs\",\"events\":[\"s3:ObjectCreated:*\"],\"prefix\":\"ab\xff/\",\"target\":\"f\"}]}"
	doc, format, err := config.ReadLimit(strings.NewReader(rules), "", 1<<20)
	fmt.Println(format, len(doc.Rules), config.EventNames(doc.Rules[0].Events, doc.S3Spelling[0]))
	fmt.Println(err)

	_, _, err = config.ReadLimit(strings.NewReader(rules), "", 100)
	fmt.Println(err)
	_, _, err = config.ReadLimit(strings.NewReader("\x00\x00\x00"), "", 100)
	fmt.Println(err)
	// Output:
	// json 1 [s3:ObjectRemoved:*]
	// config: line 3: configuration "bad": rules[1].prefix: invalid UTF-8 (byte 0xff)
	// config: document over the size limit of 100 bytes
	// config: line 1: neither XML (starting with '<') nor a JSON rules file (starting with '{')
}
