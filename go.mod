module github.com/notifymux/notifymux

go 1.26

require (
	github.com/armon/go-radix v1.0.0
	github.com/aws/aws-lambda-go v1.55.1
	github.com/cespare/xxhash/v2 v2.3.0
	github.com/rogpeppe/go-internal v1.16.0
)

require (
	golang.org/x/sys v0.36.0 // indirect
	golang.org/x/tools v0.26.0 // indirect
)
