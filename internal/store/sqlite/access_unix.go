//go:build unix

package sqlite

import "golang.org/x/sys/unix"

// canWrite reports why this user may not write (or create files in) path:
// permissions, a read-only mount, an immutable attribute; nil if it may.
func canWrite(path string) error {
	return unix.Access(path, unix.W_OK)
}
