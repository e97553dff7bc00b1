// This file is the store of bucket configurations. Buckets are spread over
// up to 1024 shard files by a hash of their name (<dir>/shard-NNNN.db), each
// holding the documents GET answers for its buckets. One file per bucket
// would be simpler, but opening a file costs a system call round trip that
// dominates a start-up load of 100k buckets; with shards the load opens at
// most 1024 files, and a write rewrites one shard (about 1/1024 of the data).
//
// A write never leaves a torn or half-applied file: the new shard goes to a
// temporary file in the same directory, which is fsynced and renamed over
// the old one, and then the directory is fsynced so that the rename itself
// survives a crash. A crash leaves either the old shard or the new one (and
// perhaps a temporary file, removed at the next open).
//
// Shard format: the line "notifymux-buckets 1", then for each bucket the line
// "<bucket> <length>" followed by the document's bytes and a newline.

package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Store keeps one document per bucket in a directory of shard files. It is
// safe for concurrent use.
type Store struct {
	dir   string
	locks [shards]sync.Mutex
}

const (
	shards      = 1024
	shardHeader = "notifymux-buckets 1\n"
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

// shardOf returns the shard number of bucket.
func shardOf(bucket string) int { return int(xxhash.Sum64String(bucket) % shards) }

func (s *Store) shardPath(n int) string { return filepath.Join(s.dir, fmt.Sprintf("shard-%04d.db", n)) }

// entry is one bucket's document in a shard.
type entry struct {
	bucket string
	doc    []byte
}

// readShard reads shard n; a shard never written is empty.
func (s *Store) readShard(n int) ([]entry, error) {
	data, err := os.ReadFile(s.shardPath(n))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: store: %w", err)
	}
	return parseShard(s.shardPath(n), data)
}

// parseShard parses the content of a shard file (named path in errors).
func parseShard(path string, data []byte) ([]entry, error) {
	rest, ok := bytes.CutPrefix(data, []byte(shardHeader))
	if !ok {
		return nil, fmt.Errorf("gateway: store: %s does not start with %q", path, strings.TrimSpace(shardHeader))
	}
	var out []entry
	for len(rest) > 0 {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		name, size, ok2 := strings.Cut(string(line), " ")
		length, err := strconv.Atoi(size)
		if !ok || !ok2 || err != nil || length < 0 || length+1 > len(after) || after[length] != '\n' || !ValidBucketName(name) {
			return nil, fmt.Errorf("gateway: store: %s is damaged at byte %d", path, len(data)-len(rest))
		}
		out = append(out, entry{bucket: name, doc: after[:length:length]})
		rest = after[length+1:]
	}
	return out, nil
}

// writeShard replaces shard n with entries: temporary file, fsync, rename,
// directory fsync. No entries removes the shard file.
func (s *Store) writeShard(n int, entries []entry) error {
	path := s.shardPath(n)
	if len(entries) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("gateway: store: %w", err)
		}
		return s.syncDir()
	}
	f, err := os.CreateTemp(s.dir, tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("gateway: store: %w", err)
	}
	tmp := f.Name()
	w := bufio.NewWriterSize(f, 64<<10)
	w.WriteString(shardHeader)
	for _, e := range entries {
		w.WriteString(e.bucket + " " + strconv.Itoa(len(e.doc)) + "\n")
		w.Write(e.doc)
		w.WriteByte('\n')
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("gateway: store: writing %s: %w", path, err)
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

// Get returns the document of bucket, or (nil, nil) when it has none.
func (s *Store) Get(bucket string) ([]byte, error) {
	if !ValidBucketName(bucket) {
		return nil, fmt.Errorf("gateway: store: %q is not a valid bucket name", bucket)
	}
	n := shardOf(bucket)
	s.locks[n].Lock()
	entries, err := s.readShard(n)
	s.locks[n].Unlock()
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.bucket == bucket {
			return e.doc, nil
		}
	}
	return nil, nil
}

// Has reports whether bucket has a document.
func (s *Store) Has(bucket string) bool {
	doc, err := s.Get(bucket)
	return err == nil && doc != nil
}

// Put replaces the document of bucket with doc (an empty doc removes it),
// rewriting the bucket's shard atomically.
func (s *Store) Put(bucket string, doc []byte) error {
	if !ValidBucketName(bucket) {
		return fmt.Errorf("gateway: store: %q is not a valid bucket name", bucket)
	}
	n := shardOf(bucket)
	s.locks[n].Lock()
	defer s.locks[n].Unlock()
	entries, err := s.readShard(n)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(entries, func(e entry) bool { return e.bucket == bucket })
	switch {
	case i >= 0 && len(doc) == 0:
		entries = slices.Delete(entries, i, i+1)
	case i >= 0:
		entries[i].doc = doc
	case len(doc) == 0:
		return nil // nothing stored, nothing to store
	default:
		entries = append(entries, entry{bucket: bucket, doc: doc})
	}
	return s.writeShard(n, entries)
}

// PutAll stores many documents at once (bucket → document; an empty
// document removes the bucket's), rewriting each shard it touches once.
// Each shard is replaced atomically; a failure may leave some shards
// written and others not.
func (s *Store) PutAll(docs map[string][]byte) error {
	byShard := map[int][]string{}
	for b := range docs {
		if !ValidBucketName(b) {
			return fmt.Errorf("gateway: store: %q is not a valid bucket name", b)
		}
		byShard[shardOf(b)] = append(byShard[shardOf(b)], b)
	}
	for n, buckets := range byShard {
		s.locks[n].Lock()
		entries, err := s.readShard(n)
		if err == nil {
			for _, b := range buckets {
				entries = slices.DeleteFunc(entries, func(e entry) bool { return e.bucket == b })
				if len(docs[b]) > 0 {
					entries = append(entries, entry{bucket: b, doc: docs[b]})
				}
			}
			err = s.writeShard(n, entries)
		}
		s.locks[n].Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the document of bucket, if any.
func (s *Store) Delete(bucket string) error { return s.Put(bucket, nil) }

// All calls fn with each bucket and its document, and stops at fn's first
// error. With workers > 1, shards are read and fn is called from that many
// goroutines at once, so fn must then be safe for concurrent use; the order
// of the calls is not defined.
func (s *Store) All(workers int, fn func(bucket string, doc []byte) error) error {
	dirEntries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("gateway: store: %w", err)
	}
	var paths []string
	for _, e := range dirEntries {
		if strings.HasPrefix(e.Name(), "shard-") && strings.HasSuffix(e.Name(), ".db") && e.Type().IsRegular() {
			paths = append(paths, filepath.Join(s.dir, e.Name()))
		}
	}
	workers = max(1, min(workers, len(paths)))
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed() {
				i := int(next.Add(1)) - 1
				if i >= len(paths) {
					return
				}
				data, err := os.ReadFile(paths[i])
				if err != nil {
					setErr(fmt.Errorf("gateway: store: %w", err))
					return
				}
				entries, err := parseShard(paths[i], data)
				if err != nil {
					setErr(err)
					return
				}
				for _, e := range entries {
					if err := fn(e.bucket, e.doc); err != nil {
						setErr(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
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
