// This file keeps two servers off one store directory. nats-server does not
// lock its store_dir: two servers writing one directory would corrupt each
// other's files. StartServer therefore holds an exclusive lock on the file
// notifymux.lock in the directory for as long as the server runs, and a
// second StartServer on the directory, in this process or another (serve,
// or redrive -data), fails with ErrStoreLocked. The lock is an flock(2) on
// Unix systems: the kernel drops it when the process dies, so a killed
// gateway leaves no stale lock. The file holds the process id of the
// holder, for the error message.

package jetstream

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrStoreLocked is wrapped by the error StartServer returns when another
// server, in this process or another, runs on the store directory.
var ErrStoreLocked = errors.New("the JetStream store directory is in use by another server")

// lockFileName is the lock file in a store directory.
const lockFileName = "notifymux.lock"

// lockStore locks dir for this server and returns the function that
// releases the lock.
func lockStore(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("jetstream: store directory: %w", err)
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jetstream: lock the store directory: %w", err)
	}
	switch err := tryLock(f); {
	case errors.Is(err, errWouldBlock):
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		holder := "another server"
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b[:n]))); perr == nil && pid > 0 {
			holder = "process " + strconv.Itoa(pid)
			if pid == os.Getpid() {
				holder = "another server of this process"
			}
		}
		return nil, fmt.Errorf("jetstream: %s: %w (held by %s)", dir, ErrStoreLocked, holder)
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("jetstream: lock the store directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil // closing the file drops the lock
}

// errWouldBlock is returned by tryLock when another holds the lock.
var errWouldBlock = errors.New("lock held")
