// This file is the store of bucket configurations: one file per bucket,
// <dir>/<bucket>.xml, holding the document GET answers. A write never leaves
// a torn or half-applied file: the document goes to a temporary file in the
// same directory, which is fsynced and renamed over the old one, and then
// the directory is fsynced so that the rename itself survives a crash. A
// crash leaves either the old file or the new one (and perhaps a temporary
// file, removed at the next open).

package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Store keeps one document per bucket in a directory. Its methods are safe
// for concurrent use on different buckets; the Gateway serialises writes to
// one bucket.
type Store struct {
	dir string
}

const (
	storeSuffix = ".xml"
	tempPrefix  = ".tmp-"
)

// OpenStore opens (creating it if needed, mode 0700) the store in dir and
// removes the temporary files an interrupted write left behind.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gateway: store: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("gateway: store: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(bucket string) (string, error) {
	if !ValidBucketName(bucket) {
		return "", fmt.Errorf("gateway: store: %q is not a valid bucket name", bucket)
	}
	return filepath.Join(s.dir, bucket+storeSuffix), nil
}

// Get returns the document of bucket, or (nil, nil) when it has none.
func (s *Store) Get(bucket string) ([]byte, error) {
	p, err := s.path(bucket)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Has reports whether bucket has a document.
func (s *Store) Has(bucket string) bool {
	p, err := s.path(bucket)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Put replaces the document of bucket with doc: temporary file, fsync,
// rename, directory fsync.
func (s *Store) Put(bucket string, doc []byte) error {
	p, err := s.path(bucket)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, tempPrefix+bucket+"-*")
	if err != nil {
		return fmt.Errorf("gateway: store: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(doc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("gateway: store: writing %s: %w", p, err)
	}
	return s.syncDir()
}

// Delete removes the document of bucket, if any, and fsyncs the directory.
func (s *Store) Delete(bucket string) error {
	p, err := s.path(bucket)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("gateway: store: %w", err)
	}
	return s.syncDir()
}

func (s *Store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("gateway: store: %w", err)
	}
	err = d.Sync()
	d.Close()
	if err != nil {
		return fmt.Errorf("gateway: store: fsync %s: %w", s.dir, err)
	}
	return nil
}

// All calls fn with each bucket and its document, in bucket-name order,
// and stops at fn's first error. Files that are not bucket documents are
// skipped.
func (s *Store) All(fn func(bucket string, doc []byte) error) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("gateway: store: %w", err)
	}
	for _, e := range entries {
		bucket, ok := strings.CutSuffix(e.Name(), storeSuffix)
		if !ok || !e.Type().IsRegular() || !ValidBucketName(bucket) {
			continue
		}
		doc, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return fmt.Errorf("gateway: store: %w", err)
		}
		if err := fn(bucket, doc); err != nil {
			return err
		}
	}
	return nil
}

// ValidBucketName reports whether name follows S3's bucket naming rules:
// 3 to 63 characters of lower-case letters, digits, '.' and '-', starting and
// ending with a letter or digit, with no ".." (COS names such as
// photos-1250000000 are valid).
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || i == len(name)-1 || c != '.' && c != '-') {
			return false
		}
	}
	return true
}
