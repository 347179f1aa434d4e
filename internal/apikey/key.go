package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"io"
	"strings"
)

// Key format: <prefix>_<body><check>. The body is 40 base62 characters from
// a CSPRNG (about 238 bits); the check is the CRC32 (IEEE) of "<prefix>_<body>"
// in base62, six characters, so typos and truncated pastes are caught without
// a database read and secret scanners can recognise the format.
const (
	BodyLen       = 40
	CheckLen      = 6
	DefaultPrefix = "qapi"
	// HintSecretLen is how many secret characters the hint keeps.
	HintSecretLen = 4
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ValidPrefix reports whether p may be a key prefix: ^[a-z][a-z0-9]{1,15}$.
// (By hand, not a regexp: it is on the verify path.)
func ValidPrefix(p string) bool {
	if len(p) < 2 || len(p) > 16 || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := 1; i < len(p); i++ {
		if c := p[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// Secret is a parsed plaintext key.
type Secret struct {
	Prefix string
	Body   string
	raw    string
}

// String returns the whole key. Callers print it only after the transaction
// that stores its hash has committed.
func (s Secret) String() string { return s.raw }

// Hash is the SHA-256 of the whole key, the only form that is stored.
func (s Secret) Hash() []byte { return HashKey(s.raw) }

// Hint is the prefix and the first characters of the body, enough to
// recognise a key in a list and far too little to guess it.
func (s Secret) Hint() string { return s.Prefix + "_" + s.Body[:HintSecretLen] }

// HashKey returns the SHA-256 of a whole plaintext key.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// GenerateSecret makes a new key with the given prefix, reading randomness
// from r (crypto/rand when nil).
func GenerateSecret(r io.Reader, prefix string) (Secret, error) {
	if !ValidPrefix(prefix) {
		return Secret{}, Errorf(EINVALID, "invalid key prefix %s: want 2-16 lower-case letters and digits, starting with a letter", Quote(prefix))
	}
	if r == nil {
		r = rand.Reader
	}
	body := make([]byte, BodyLen)
	// Rejection sampling keeps every character uniformly distributed:
	// bytes >= 248 (4*62) would favour the first characters of the alphabet.
	buf := make([]byte, BodyLen*2)
	n := 0
	for n < BodyLen {
		if _, err := io.ReadFull(r, buf); err != nil {
			return Secret{}, &Error{Code: EINTERNAL, Message: "cannot read random bytes", Err: err}
		}
		for _, b := range buf {
			if b >= 248 {
				continue
			}
			body[n] = base62[b%62]
			n++
			if n == BodyLen {
				break
			}
		}
	}
	s := Secret{Prefix: prefix, Body: string(body)}
	s.raw = prefix + "_" + s.Body + checksum(prefix+"_"+s.Body)
	return s, nil
}

// checksum is the CRC32 (IEEE) of s in base62, most significant digit first,
// left-padded with '0' to CheckLen characters.
func checksum(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var out [CheckLen]byte
	for i := CheckLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out[:])
}

var errMalformed = errors.New("malformed key")

// ParseSecret parses a plaintext key strictly: no surrounding space, a valid
// prefix, a 40-character base62 body and a matching check. It never touches
// a store, and its errors never contain the key.
func ParseSecret(s string) (Secret, error) {
	reject := func(why string) (Secret, error) {
		return Secret{}, &Error{Code: EREJECTED, Reason: ReasonMalformed, Message: "malformed key: " + why, Err: errMalformed}
	}
	sep := -1
	for i := 0; i < len(s) && i <= 16; i++ {
		if s[i] == '_' {
			sep = i
			break
		}
	}
	if sep < 0 {
		return reject("no valid prefix")
	}
	prefix, rest := s[:sep], s[sep+1:]
	if !ValidPrefix(prefix) {
		return reject("no valid prefix")
	}
	if len(rest) != BodyLen+CheckLen {
		return reject("wrong length")
	}
	for i := 0; i < len(rest); i++ {
		if !isBase62(rest[i]) {
			return reject("invalid character")
		}
	}
	body, check := rest[:BodyLen], rest[BodyLen:]
	if checksum(prefix+"_"+body) != check {
		return reject("checksum mismatch (a typo or a truncated paste?)")
	}
	return Secret{Prefix: prefix, Body: body, raw: s}, nil
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// secretLikeRE matches what may be a key or a piece of one: a prefix and 12
// or more base62 characters, or 24 or more base62 characters alone. Fewer
// than 12 leave at least 34 of a key's 46 characters (200 bits) unseen.
var secretLikeRE = lazyRegexp(`[a-z][a-z0-9]{1,15}_[0-9A-Za-z]{12,}|[0-9A-Za-z]{24,}`)

// RedactSecrets replaces whatever in s may be a key's secret, or a piece of
// one, with "[redacted]" (keeping the prefix, which is not secret), so that
// a message or a log line built from input never shows a key pasted in the
// wrong place. A run of one kind of character only (all lower-case, say:
// "billing_synchronisation") is no random secret and stays, and so do hints
// (a prefix and four characters), UUIDs and setting names.
func RedactSecrets(s string) string {
	if !hasLongRun(s) {
		return s // most messages: no regexp on the verify path
	}
	return secretLikeRE().ReplaceAllStringFunc(s, func(m string) string {
		prefix, body, ok := strings.Cut(m, "_")
		if !ok {
			body = m
		}
		if !mixed(body) || m == settingWord {
			return m
		}
		if ok {
			return prefix + "_[redacted]"
		}
		return "[redacted]"
	})
}

// settingWord is the one setting name (the seed's) whose mixed case would
// read as a secret.
var settingWord = strings.TrimSuffix(SettingExternalClientExpiry, "_expiry")

// hasLongRun tells whether s holds a run that secretLikeRE could match: 12
// base62 characters after "_", or 24 anywhere.
func hasLongRun(s string) bool {
	run, afterUnderscore := 0, false
	for i := 0; i < len(s); i++ {
		if c := s[i]; isBase62(c) {
			run++
			if run >= 24 || afterUnderscore && run >= 12 {
				return true
			}
		} else {
			run, afterUnderscore = 0, c == '_'
		}
	}
	return false
}

// looksLikeSecret tells whether s may be a key or a piece of one.
func looksLikeSecret(s string) bool { return RedactSecrets(s) != s }

// wholeKeyRE matches what has the shape of a whole key, to be checked by
// ParseSecret.
var wholeKeyRE = lazyRegexp(`[a-z][a-z0-9]{1,15}_[0-9A-Za-z]{46}`)

// holdsSecret tells whether s holds, most likely, a key's secret: a whole
// key (its check matches), or 24 or more base62 characters in a row with
// upper-case letters, lower-case letters and digits all present, as a
// random run has (a key's 46 lack one of the three once in 3,000 keys, and
// the check catches those). It is stricter than RedactSecrets, which hides
// whatever might be a piece of a key in a message: refusing input must not
// refuse ordinary values such as hex digests and ids (git commits, Mongo
// ObjectIds, UUIDs without dashes: one case of letters), words, slugs,
// hints (a prefix and four characters) or short pieces.
func holdsSecret(s string) bool {
	if !hasLongRun(s) {
		return false
	}
	run := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isBase62(s[i]) {
			run++
			continue
		}
		if run >= 24 {
			if upper, lower, digit := charClasses(s[i-run : i]); upper && lower && digit {
				return true
			}
		}
		run = 0
	}
	for _, m := range wholeKeyRE().FindAllString(s, -1) {
		if _, err := ParseSecret(m); err == nil {
			return true
		}
	}
	return false
}

// mixed tells whether s holds at least two of upper-case letters,
// lower-case letters and digits, as any run of random base62 does.
func mixed(s string) bool {
	upper, lower, digit := charClasses(s)
	return upper && lower || upper && digit || lower && digit
}

// charClasses tells whether s holds upper-case letters, lower-case letters
// and digits.
func charClasses(s string) (upper, lower, digit bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			upper = true
		case 'a' <= c && c <= 'z':
			lower = true
		case '0' <= c && c <= '9':
			digit = true
		}
	}
	return upper, lower, digit
}
