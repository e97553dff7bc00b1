// This file defines the COS event payload, the structure of the event JSON on
// the SCF "COS trigger" page:
//
//	{"Records":[{"cos":{"cosSchemaVersion":"1.0",
//	                    "cosObject":{"url":…,"meta":{…},"vid":…,"key":"/<appid>/<bucket>/<key>","size":…},
//	                    "cosBucket":{"region":…,"name":…,"appid":…},
//	                    "cosNotificationId":…},
//	             "event":{"eventName":…,"eventVersion":"1.0","eventTime":<Unix seconds>,
//	                      "eventSource":"qcs::cos",
//	                      "requestParameters":{"requestSourceIP":…,"requestHeaders":{…}},
//	                      "eventQueue":…,"reservedInfo":…,"reqid":<integer>}}]}

package schema

// COSPayload is the body a COS trigger hands a function: one or more records
// ("several messages may be merged in it").
type COSPayload struct {
	Records []COSRecord `json:"Records"`
}

// COSRecord is one COS event: what happened to which object (COS), and how
// it was reported (Event).
type COSRecord struct {
	COS   COSEntity `json:"cos"`
	Event COSEvent  `json:"event"`
}

// COSEntity describes the object, its bucket and the rule that matched.
type COSEntity struct {
	SchemaVersion  string    `json:"cosSchemaVersion"` // "1.0"
	Object         COSObject `json:"cosObject"`
	Bucket         COSBucket `json:"cosBucket"`
	NotificationID string    `json:"cosNotificationId"` // the matched rule's ID
}

// COSObject is the object an event is about.
type COSObject struct {
	// URL is the object's URL, e.g.
	// http://testpic-1253970026.cos.ap-chengdu.myqcloud.com/testfile.
	URL string `json:"url"`
	// Meta holds x-cos-request-id, Content-Type and the user metadata
	// (x-cos-meta-*), in the order written.
	Meta Metadata `json:"meta"`
	// VersionID is the version id, "" when the bucket is unversioned.
	VersionID string `json:"vid"`
	// Key is "/<appid>/<bucket name>/<object key>", e.g.
	// "/1253970026/testpic/testfile".
	Key  string `json:"key"`
	Size int64  `json:"size"` // bytes
}

// COSBucket names the bucket: its full COS name is Name-AppID.
type COSBucket struct {
	Region string `json:"region"` // as COS writes it, often the short name ("cd" for ap-chengdu)
	Name   string `json:"name"`   // the short name, e.g. "testpic"
	AppID  string `json:"appid"`  // the owner's APPID, e.g. "1253970026"
}

// COSEvent says what happened and where the event goes.
type COSEvent struct {
	Name              string               `json:"eventName"`    // e.g. "cos:ObjectCreated:Put"
	Version           string               `json:"eventVersion"` // "1.0"
	Time              int64                `json:"eventTime"`    // Unix seconds
	Source            string               `json:"eventSource"`  // "qcs::cos"
	RequestParameters COSRequestParameters `json:"requestParameters"`
	Queue             string               `json:"eventQueue"` // the function the event is sent to
	ReservedInfo      string               `json:"reservedInfo"`
	ReqID             int64                `json:"reqid"` // an integer request id
}

// COSRequestParameters describes the storage request.
type COSRequestParameters struct {
	SourceIP string `json:"requestSourceIP"`
	// Headers holds request headers. The sample on the COS trigger page
	// copies the request's Authorization header here; package batch never
	// writes any, and its decoder never reads them.
	Headers map[string]string `json:"requestHeaders"`
}
