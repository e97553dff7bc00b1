// This file is the S3 error table: each error the gateway answers has one
// S3 code, one HTTP status and S3's own message, and is written as the
// <Error> XML body that S3 clients parse (they test the Code, so the code is
// the contract). A request may add its own detail after S3's message.

package gateway

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// APIError is one entry of the S3 error table.
type APIError struct {
	Code    string // the S3 error code clients test for, e.g. "MalformedXML"
	Status  int    // the HTTP status
	Message string // S3's message for the code
}

// The errors the gateway answers, with S3's codes and messages.
var (
	ErrAccessDenied          = APIError{"AccessDenied", http.StatusForbidden, "Access Denied."}
	ErrInvalidAccessKeyID    = APIError{"InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."}
	ErrSignatureDoesNotMatch = APIError{"SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	ErrRequestTimeTooSkewed  = APIError{"RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the server's time is too large."}
	ErrAuthHeaderMalformed   = APIError{"AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed."}
	ErrContentSHA256Mismatch = APIError{"XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."}
	ErrMalformedXML          = APIError{"MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."}
	ErrInvalidArgument       = APIError{"InvalidArgument", http.StatusBadRequest, "Invalid argument."}
	ErrInvalidBucketName     = APIError{"InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid."}
	ErrEntityTooLarge        = APIError{"EntityTooLarge", http.StatusRequestEntityTooLarge, "Your proposed upload exceeds the maximum allowed object size."}
	ErrMethodNotAllowed      = APIError{"MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."}
	ErrNotImplemented        = APIError{"NotImplemented", http.StatusNotImplemented, "A header or query you provided implies functionality that is not implemented."}
	ErrSlowDown              = APIError{"SlowDown", http.StatusServiceUnavailable, "Please reduce your request rate."}
	ErrInternal              = APIError{"InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."}
)

// The sentences S3 uses in InvalidArgument messages about destinations and
// overlapping rules.
const (
	msgDestinations = "Unable to validate the following destination configurations"
	msgOverlap      = "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type."
)

// maxDetail bounds the detail added to a message, so that an error quoting
// client input stays short.
const maxDetail = 1024

// s3Error is the XML body of an error answer.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// with returns e with detail appended to its message (cut to maxDetail bytes).
func (e APIError) with(detail string) APIError {
	if detail == "" {
		return e
	}
	if len(detail) > maxDetail {
		detail = strings.ToValidUTF8(detail[:maxDetail], "") + "…"
	}
	e.Message = strings.TrimSuffix(e.Message, ".") + ": " + detail
	if !strings.HasSuffix(e.Message, ".") {
		e.Message += "."
	}
	return e
}

// write writes e as an S3 <Error> body.
func (e APIError) write(w http.ResponseWriter, resource, requestID string) {
	body, _ := xml.Marshal(s3Error{Code: e.Code, Message: e.Message, Resource: resource, RequestID: requestID})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}
