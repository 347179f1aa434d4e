package apikey

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error codes. Each names a kind of failure a caller can act on; the CLI and
// the HTTP server map them to exit codes and status codes in one place each.
const (
	EINTERNAL    = "internal"    // a bug or an unexpected low-level failure
	EUNAVAILABLE = "unavailable" // the database cannot be reached or written
	EINVALID     = "invalid"     // the input is wrong; nothing was written
	ENOTFOUND    = "not_found"   // no such key (in the given tenant scope)
	EPOLICY      = "policy"      // refused by the tenant's policy
	EREJECTED    = "rejected"    // verify: the key does not grant access
	ECONFLICT    = "conflict"    // the change collides with the current state
	EFORBIDDEN   = "forbidden"   // beyond the authority of whoever asks, or of a key's owner
)

// Rejection reasons, carried by EREJECTED errors from Verify.
const (
	ReasonMalformed = "malformed"
	ReasonUnknown   = "unknown"
	ReasonRevoked   = "revoked"
	ReasonExpired   = "expired"
	ReasonDisabled  = "disabled"
	// ReasonInsufficient: the key is good, but lacks a required permission.
	ReasonInsufficient = "insufficient_permissions"
)

// Error is an application error: a code, a message safe to show to the user,
// and, for rejections, the reason.
//
// The domain knows input fields by the data model's names (expiresIn), not
// by how a caller spells them: Message marks each field it names (see
// Field), and each caller words the fields its own way, in one place: the
// CLI as flags (--expires-in), the server as JSON members. Error() words
// them as the data model names them.
type Error struct {
	Code    string
	Message string
	Reason  string
	// Meta holds facts a program may act on (the missing permissions of
	// an insufficient_permissions rejection); never a secret.
	Meta map[string]any
	Err  error // underlying cause, for logs; never shown as is
}

func (e *Error) Error() string { return e.Worded(nil) }

// Field marks an input field, by its data-model name, in a message.
func Field(name string) string { return fieldOpen + name + fieldClose }

// The marks around a field's name: control characters, which no quoted
// input carries (Quote and %q escape them).
const fieldOpen, fieldClose = "\x1e", "\x1f"

var fieldRE = regexp.MustCompile(fieldOpen + `([A-Za-z0-9]+)` + fieldClose)

// Worded is the message with each field it names worded by name (the
// data-model name itself when name is nil).
func (e *Error) Worded(name func(field string) string) string {
	if !strings.Contains(e.Message, fieldOpen) {
		return e.Message
	}
	return fieldRE.ReplaceAllStringFunc(e.Message, func(m string) string {
		f := m[len(fieldOpen) : len(m)-len(fieldClose)]
		if name == nil {
			return f
		}
		return name(f)
	})
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an application error with the given code.
// Its message never holds what looks like a secret (see RedactSecrets):
// messages quote input, and a key pasted where an id or a value belongs
// must not come back on a terminal or in a CI log.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: RedactSecrets(fmt.Sprintf(format, args...))}
}

// MaxQuoted is how many characters of an input a message quotes.
const MaxQuoted = 40

// Quote quotes an input for a message, as %q does, but never floods one: of
// an input longer than MaxQuoted characters it quotes the start and gives
// the length ("aaaa"… (100000 characters)). What may be a secret is
// redacted first, since a clipped key is still most of a key. Every message
// that quotes what a user typed or sent goes through it.
func Quote(s string) string {
	r := RedactSecrets(s)
	cut, n := 0, 0
	for i := range r {
		if n == MaxQuoted {
			cut = i
			break
		}
		n++
	}
	if cut == 0 {
		return strconv.Quote(r)
	}
	return fmt.Sprintf("%s… (%d characters)", strconv.Quote(r[:cut]), utf8.RuneCountInString(s))
}

// MaxPath is how many characters of a path a message names whole.
const MaxPath = 200

// QuotePath names a path in a message as it is, so that the usual message
// reads as before, but never floods one or breaks its line: a path with a
// character that does not print is quoted, and one longer than MaxPath
// keeps its start and its end, where the file's name is, and gives its
// length. A path is named as given, not redacted: messages built with
// Errorf redact it anyway, and a store's own messages name the file.
func QuotePath(p string) string {
	r := p
	runes := []rune(r)
	suffix := ""
	if len(runes) > MaxPath {
		r = string(runes[:MaxPath/2]) + "…" + string(runes[len(runes)-MaxPath/2:])
		suffix = fmt.Sprintf(" (%d characters)", utf8.RuneCountInString(p))
	}
	if strings.IndexFunc(r, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
		r = strconv.Quote(r)
	}
	return r + suffix
}

// Pathless drops the path an *fs.PathError repeats, for messages that
// name the path once themselves.
func Pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Rejectf returns an EREJECTED error for the given reason.
func Rejectf(reason, format string, args ...any) *Error {
	return &Error{Code: EREJECTED, Reason: reason, Message: RedactSecrets(fmt.Sprintf(format, args...))}
}

// ErrorCode returns the code of an application error, or EINTERNAL for any
// other error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of an application error, or a generic
// message for any other error, so low-level detail is not shown by default.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}

// ErrorReason returns the rejection reason of an EREJECTED error.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
