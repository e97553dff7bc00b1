// Package config reads and writes notification configurations in the formats
// object stores already speak, and checks a set of rules against a store's
// limits.
//
// Two formats are supported:
//
//   - The bucket notification XML, the body of PutBucketNotification and
//     GetBucketNotification: a <NotificationConfiguration> holding any number
//     of CloudFunctionConfiguration (COS, and S3's XML name for Lambda),
//     LambdaFunctionConfiguration, QueueConfiguration and TopicConfiguration
//     elements. The XML names no bucket, so ReadXML takes it from the caller.
//     See ReadXML for what is accepted and what is an error.
//
//   - A JSON rules file holding the rules of many buckets (and, optionally,
//     the region of each bucket):
//
//     {"regions":{"photos":"ap-guangzhou"},
//     "rules":[{"id":"thumbs","bucket":"photos","events":["cos:ObjectCreated:*"],
//     "prefix":"images/","suffix":".jpg","target":"qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST"}]}
//
// Read detects the format from the first bytes of the content, not the file
// name, and refuses anything else before reading further. Every reader takes
// at most DefaultMaxSize (64 MiB) bytes; ReadLimit sets another limit.
// WriteXML and WriteJSON are the inverse of the readers: reading what they
// wrote gives the same rules, field for field, and a rule written with S3
// event names (Document.S3Spelling) keeps them in a JSON file.
//
// Every reading error is a *Error that gives the line, the configuration's Id
// (when it has one), the element or field and a sentinel cause (ErrSyntax,
// ErrTooLarge, ErrEmptyValue, ErrValueTooLong, ErrFilterRule, ErrMissing,
// ErrUnexpected, ErrDuplicateID, ErrInvalidUTF8, or match.ErrUnknownEvent
// through a *match.EventNameError). Readers report every error of a
// well-formed document, joined with errors.Join, and keep the rules that were
// valid. Text is never silently replaced: invalid UTF-8 is refused in both
// formats. An error quotes at most 200 bytes of any input value.
//
// Limits (the COS quotas, targets and event types, or none) are checked by
// Limits.Check; overlapping pairs, all of them, are found by Overlaps.
package config
