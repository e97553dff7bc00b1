package schema_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/notifymux/notifymux/batch/schema"
)

// A COS payload, as the COS trigger page shows it, decodes into COSPayload.
func Example() {
	data, err := os.ReadFile("../testdata/cos_seed004.json")
	if err != nil {
		panic(err)
	}
	var p schema.COSPayload
	if err := json.Unmarshal(data, &p); err != nil {
		panic(err)
	}
	r := p.Records[0]
	id, _ := r.COS.Object.Meta.Get("x-cos-request-id")
	fmt.Println(r.Event.Name, r.COS.Bucket.Name, r.COS.Bucket.AppID, r.COS.Bucket.Region)
	fmt.Println(r.COS.Object.Key, r.COS.Object.Size, r.Event.Time)
	fmt.Println(id)
	// Output:
	// cos:ObjectCreated:* testpic 1253970026 cd
	// /1253970026/testpic/testfile 1029 1545205770
	// NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=
}

// Metadata keeps the members of a JSON object in the order written.
func ExampleMetadata() {
	var m schema.Metadata
	if err := json.Unmarshal([]byte(`{"x-cos-meta-b":"2","x-cos-meta-a":"1"}`), &m); err != nil {
		panic(err)
	}
	out, _ := json.Marshal(m)
	fmt.Println(m[0].Name, m[1].Name)
	fmt.Println(string(out))
	// Output:
	// x-cos-meta-b x-cos-meta-a
	// {"x-cos-meta-b":"2","x-cos-meta-a":"1"}
}
