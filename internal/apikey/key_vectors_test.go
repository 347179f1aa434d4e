package apikey_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"hash/crc32"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// refAlphabet is the base62 alphabet of DESIGN.md, written out independently
// of the package under test.
const refAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// refChecksum is an independent implementation of the key check: the CRC32
// (IEEE) of "<prefix>_<body>" as a base62 number, most significant digit
// first, left-padded with '0' to 6 characters.
func refChecksum(prefixAndBody string) string {
	v := new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(prefixAndBody))))
	s := ""
	base := big.NewInt(62)
	rem := new(big.Int)
	for v.Sign() > 0 {
		v.DivMod(v, base, rem)
		s = string(refAlphabet[rem.Int64()]) + s
	}
	for len(s) < 6 {
		s = "0" + s
	}
	return s
}

// refKey builds a key from prefix and body with the reference checksum.
func refKey(prefix, body string) string {
	return prefix + "_" + body + refChecksum(prefix+"_"+body)
}

func isRefBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(refAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

type keyVector struct {
	line  int
	valid bool
	key   string
	note  string
}

// keyVectorsPath is the project's own copy of the key-format vectors, so a
// clone's tests need nothing outside the checkout. KEYADM_KEY_VECTORS points
// the tests at another file (for example a newer upstream copy).
const keyVectorsPath = "testdata/key-vectors.txt"

func findKeyVectors(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KEYADM_KEY_VECTORS"); p != "" {
		return p
	}
	return keyVectorsPath
}

// upstreamKeyVectors finds the design's copy of the vectors
// (shared/testdata/key-vectors.txt in a parent folder), or returns "" when
// there is none, as in a plain clone.
func upstreamKeyVectors(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		p := filepath.Join(dir, "shared", "testdata", "key-vectors.txt")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// TestKeyVectorsMatchUpstream checks that the project's copy of the vectors
// is the design's, where the design's copy is at hand; a clone without it
// skips the comparison and still runs every vector test on its own copy.
func TestKeyVectorsMatchUpstream(t *testing.T) {
	up := upstreamKeyVectors(t)
	if up == "" {
		t.Skip("no shared/testdata/key-vectors.txt above the checkout: nothing to compare with")
	}
	want, err := os.ReadFile(up)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(keyVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from %s: copy the design's vectors into the repository", keyVectorsPath, up)
	}
}

func loadKeyVectors(t testing.TB) []keyVector {
	t.Helper()
	path := findKeyVectors(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open key vectors: %v", err)
	}
	defer f.Close()
	var out []keyVector
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) < 2 {
			t.Fatalf("%s:%d: want kind<TAB>key<TAB>note, got %q", path, n, line)
		}
		v := keyVector{line: n, key: fields[1]}
		if len(fields) == 3 {
			v.note = fields[2]
		}
		switch fields[0] {
		case "valid":
			v.valid = true
		case "invalid":
		default:
			t.Fatalf("%s:%d: unknown kind %q", path, n, fields[0])
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read key vectors: %v", err)
	}
	return out
}

func validVectorKeys(t testing.TB) []string {
	var keys []string
	for _, v := range loadKeyVectors(t) {
		if v.valid {
			keys = append(keys, v.key)
		}
	}
	if len(keys) == 0 {
		t.Fatal("no valid key vectors")
	}
	return keys
}

// assertMalformed checks that err is a malformed-key rejection whose message
// does not repeat the input.
func assertMalformed(t *testing.T, input string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("ParseSecret(%q) accepted, want rejected", trunc(input))
	}
	if got := apikey.ErrorCode(err); got != apikey.EREJECTED {
		t.Errorf("ParseSecret(%q): code %q, want %q", trunc(input), got, apikey.EREJECTED)
	}
	if got := apikey.ErrorReason(err); got != apikey.ReasonMalformed {
		t.Errorf("ParseSecret(%q): reason %q, want %q", trunc(input), got, apikey.ReasonMalformed)
	}
	msg := err.Error()
	if msg == "" {
		t.Errorf("ParseSecret(%q): empty error message", trunc(input))
	}
	// Anything long enough to be a secret, or part of one, must not appear.
	if len(input) >= 8 && strings.Contains(msg, input) {
		t.Errorf("ParseSecret error message %q contains the input", msg)
	}
	if _, rest, ok := strings.Cut(input, "_"); ok && len(rest) >= 8 && strings.Contains(msg, rest) {
		t.Errorf("ParseSecret error message %q contains the secret part of the input", msg)
	}
	if m := apikey.ErrorMessage(err); m != msg {
		t.Errorf("ErrorMessage = %q, want %q", m, msg)
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func TestKeyVectors(t *testing.T) {
	vectors := loadKeyVectors(t)
	var nValid, nInvalid int
	for _, v := range vectors {
		if v.valid {
			nValid++
			s, err := apikey.ParseSecret(v.key)
			if err != nil {
				t.Errorf("line %d: ParseSecret(%q) = %v, want valid (%s)", v.line, v.key, err, v.note)
				continue
			}
			if s.String() != v.key {
				t.Errorf("line %d: String() = %q, want %q", v.line, s.String(), v.key)
			}
			i := strings.IndexByte(v.key, '_')
			wantPrefix, rest := v.key[:i], v.key[i+1:]
			if s.Prefix != wantPrefix {
				t.Errorf("line %d: Prefix = %q, want %q", v.line, s.Prefix, wantPrefix)
			}
			if s.Body != rest[:apikey.BodyLen] {
				t.Errorf("line %d: Body = %q, want %q", v.line, s.Body, rest[:apikey.BodyLen])
			}
			// The vector agrees with the reference checksum too.
			if want := refKey(wantPrefix, rest[:40]); want != v.key {
				t.Errorf("line %d: reference checksum gives %q, vector is %q", v.line, want, v.key)
			}
			if got, want := s.Hint(), wantPrefix+"_"+rest[:4]; got != want {
				t.Errorf("line %d: Hint() = %q, want %q", v.line, got, want)
			}
			h := sha256.Sum256([]byte(v.key))
			if !bytes.Equal(s.Hash(), h[:]) {
				t.Errorf("line %d: Hash() is not the SHA-256 of the key", v.line)
			}
		} else {
			nInvalid++
			_, err := apikey.ParseSecret(v.key)
			if err == nil {
				t.Errorf("line %d: ParseSecret(%q) accepted, want rejected (%s)", v.line, v.key, v.note)
				continue
			}
			assertMalformed(t, v.key, err)
		}
	}
	if nValid == 0 || nInvalid == 0 {
		t.Fatalf("key vectors: %d valid, %d invalid; want some of each", nValid, nInvalid)
	}
}
