package apikey_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// patternReader yields an endless cycle of the given bytes.
type patternReader struct {
	pattern []byte
	pos     int
	read    int
}

func (r *patternReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.pattern[r.pos%len(r.pattern)]
		r.pos++
	}
	r.read += len(p)
	return len(p), nil
}

func TestGenerateSecretKnownAnswers(t *testing.T) {
	vectors := validVectorKeys(t)
	has := func(k string) bool {
		for _, v := range vectors {
			if v == k {
				return true
			}
		}
		return false
	}
	seq := make([]byte, 248)
	for i := range seq {
		seq[i] = byte(i)
	}
	tests := []struct {
		name    string
		pattern []byte
		prefix  string
		want    string
	}{
		// Known answers tied to the shared vectors.
		{"zeros", []byte{0}, "qapi", "qapi_00000000000000000000000000000000000000001CyP5W"},
		{"61s", []byte{61}, "qapi", "qapi_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz29OtCz"},
		// 247 % 62 == 61: the largest byte kept is still 'z'.
		{"247s", []byte{247}, "qapi", "qapi_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz29OtCz"},
		// 0,1,2,... walks the alphabet in order.
		{"sequence", seq, "qapi", refKey("qapi", refAlphabet[:40])},
		{"sequence other prefix", seq, "acme2", refKey("acme2", refAlphabet[:40])},
		// 62 -> '0', 63 -> '1': values are taken modulo 62.
		{"modulo", []byte{62, 63, 124, 187}, "ab", refKey("ab", strings.Repeat("0101", 10))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := apikey.GenerateSecret(&patternReader{pattern: tt.pattern}, tt.prefix)
			if err != nil {
				t.Fatalf("GenerateSecret: %v", err)
			}
			if s.String() != tt.want {
				t.Fatalf("GenerateSecret = %q, want %q", s.String(), tt.want)
			}
			if strings.HasPrefix(tt.name, "zeros") || strings.HasPrefix(tt.name, "61s") {
				if !has(tt.want) {
					t.Fatalf("%q is no longer a valid vector in key-vectors.txt", tt.want)
				}
			}
			p, err := apikey.ParseSecret(s.String())
			if err != nil {
				t.Fatalf("ParseSecret(generated) = %v", err)
			}
			if p != s {
				t.Fatalf("ParseSecret(generated) = %+v, want %+v", p, s)
			}
		})
	}
}

func TestGenerateSecretSeededIsDeterministic(t *testing.T) {
	for seed := byte(0); seed < 5; seed++ {
		var key [32]byte
		key[0] = seed
		a, err := apikey.GenerateSecret(rand.NewChaCha8(key), "qapi")
		if err != nil {
			t.Fatal(err)
		}
		b, err := apikey.GenerateSecret(rand.NewChaCha8(key), "qapi")
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("same seed, different keys: %q %q", a, b)
		}
		if _, err := apikey.ParseSecret(a.String()); err != nil {
			t.Fatalf("ParseSecret(%q) = %v", a, err)
		}
		if a.String() != refKey("qapi", a.Body) {
			t.Fatalf("generated key %q has the wrong check, want %q", a, refKey("qapi", a.Body))
		}
	}
}

func TestGenerateSecretCryptoRand(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		s, err := apikey.GenerateSecret(nil, apikey.DefaultPrefix)
		if err != nil {
			t.Fatalf("GenerateSecret(nil): %v", err)
		}
		k := s.String()
		if seen[k] {
			t.Fatalf("duplicate key after %d keys", i)
		}
		seen[k] = true
		if len(k) != 51 {
			t.Fatalf("len(%q) = %d, want 51", k, len(k))
		}
		if !strings.HasPrefix(k, "qapi_") || s.Prefix != "qapi" {
			t.Fatalf("key %q: prefix %q, want qapi", k, s.Prefix)
		}
		if len(s.Body) != apikey.BodyLen || !isRefBase62(s.Body) {
			t.Fatalf("body %q is not 40 base62 characters", s.Body)
		}
		if !isRefBase62(k[5:]) {
			t.Fatalf("key %q has a non-base62 character after the prefix", k)
		}
		if k != refKey("qapi", s.Body) {
			t.Fatalf("key %q: want check %q", k, refChecksum("qapi_"+s.Body))
		}
		if got, want := s.Hint(), "qapi_"+s.Body[:4]; got != want {
			t.Fatalf("Hint() = %q, want %q", got, want)
		}
		h := sha256.Sum256([]byte(k))
		if !bytes.Equal(s.Hash(), h[:]) || !bytes.Equal(apikey.HashKey(k), h[:]) {
			t.Fatalf("Hash/HashKey is not the SHA-256 of the whole key")
		}
		p, err := apikey.ParseSecret(k)
		if err != nil {
			t.Fatalf("ParseSecret(generated) = %v", err)
		}
		if p != s {
			t.Fatalf("ParseSecret(generated) = %+v, want %+v", p, s)
		}
	}
}

func TestHashKey(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2.
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	got := apikey.HashKey("abc")
	if len(got) != 32 {
		t.Fatalf("len(HashKey) = %d, want 32", len(got))
	}
	var hex strings.Builder
	for _, b := range got {
		hex.WriteString(string("0123456789abcdef"[b>>4]) + string("0123456789abcdef"[b&15]))
	}
	if hex.String() != want {
		t.Fatalf("HashKey(abc) = %s, want %s", hex.String(), want)
	}
	if bytes.Equal(apikey.HashKey("qapi_a"), apikey.HashKey("qapi_b")) {
		t.Fatal("different keys, same hash")
	}
}

func TestGenerateSecretRejectionSampling(t *testing.T) {
	t.Run("first chunk all rejected", func(t *testing.T) {
		// 80 bytes >= 248 (a whole read), then bytes alternating rejected and kept.
		var stream []byte
		for i := 0; i < 80; i++ {
			stream = append(stream, byte(248+i%8))
		}
		for i := 0; i < 200; i++ {
			stream = append(stream, 255, 61)
		}
		r := &patternReader{pattern: stream}
		s, err := apikey.GenerateSecret(r, "qapi")
		if err != nil {
			t.Fatal(err)
		}
		want := "qapi_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz29OtCz"
		if s.String() != want {
			t.Fatalf("GenerateSecret = %q, want %q", s, want)
		}
	})
	t.Run("each value of 248..255 is skipped", func(t *testing.T) {
		for b := 248; b <= 255; b++ {
			// b then 5: if b were kept, the body would contain base62[b%62].
			s, err := apikey.GenerateSecret(&patternReader{pattern: []byte{byte(b), 5}}, "qapi")
			if err != nil {
				t.Fatal(err)
			}
			if s.Body != strings.Repeat("5", 40) {
				t.Fatalf("byte %d kept: body %q", b, s.Body)
			}
		}
	})
	t.Run("distribution is uniform", func(t *testing.T) {
		// 1000 keys from a seeded stream: 40000 characters. Without rejection
		// sampling '0'..'7' would come 25% more often than the rest
		// (5/256 against 4/256), a chi-square in the hundreds.
		var seed [32]byte
		copy(seed[:], "keyadm rejection sampling test!!")
		r := rand.NewChaCha8(seed)
		var counts [256]int
		total := 0
		for i := 0; i < 1000; i++ {
			s, err := apikey.GenerateSecret(r, "qapi")
			if err != nil {
				t.Fatal(err)
			}
			for j := 0; j < len(s.Body); j++ {
				counts[s.Body[j]]++
				total++
			}
		}
		exp := float64(total) / 62
		chi := 0.0
		for i := 0; i < 62; i++ {
			d := float64(counts[refAlphabet[i]]) - exp
			chi += d * d / exp
		}
		// 61 degrees of freedom: p(chi2 > 120) is about 1e-5. The stream is
		// seeded, so the result is the same on every run.
		if chi > 120 || math.IsNaN(chi) {
			t.Fatalf("body characters not uniform: chi-square %.1f over 61 degrees of freedom", chi)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestGenerateSecretReaderErrors(t *testing.T) {
	sentinel := errors.New("entropy source broken")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"error", errReader{sentinel}, sentinel},
		{"empty", bytes.NewReader(nil), io.EOF},
		{"short", bytes.NewReader(make([]byte, 10)), io.ErrUnexpectedEOF},
		// Only rejected bytes, then the stream ends.
		{"rejected then EOF", bytes.NewReader(bytes.Repeat([]byte{255}, 80)), io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := apikey.GenerateSecret(tt.r, "qapi")
			if err == nil {
				t.Fatalf("GenerateSecret = %q, want an error", s)
			}
			if s.String() != "" {
				t.Fatalf("GenerateSecret returned a key %q with its error", s)
			}
			if got := apikey.ErrorCode(err); got != apikey.EINTERNAL {
				t.Fatalf("code %q, want %q", got, apikey.EINTERNAL)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v does not wrap %v", err, tt.want)
			}
		})
	}
}

func TestGenerateSecretInvalidPrefix(t *testing.T) {
	for _, p := range []string{
		"", "q", "Q", "Qapi", "QAPI", "1abc", "9", "q_a", "qapi_", "_qapi", "qa-pi", "qa pi", " qapi", "qapi\n",
		"qäpi", "abcdefghijklmnopq", strings.Repeat("a", 100),
	} {
		r := &patternReader{pattern: []byte{1}}
		s, err := apikey.GenerateSecret(r, p)
		if err == nil {
			t.Errorf("GenerateSecret(prefix %q) = %q, want an error", p, s)
			continue
		}
		if got := apikey.ErrorCode(err); got != apikey.EINVALID {
			t.Errorf("GenerateSecret(prefix %q): code %q, want %q", p, got, apikey.EINVALID)
		}
		if r.read != 0 {
			t.Errorf("GenerateSecret(prefix %q) read %d random bytes before refusing", p, r.read)
		}
	}
	for _, p := range []string{"ab", "a1", "qapi", "acme2", "abcdefghijklmnop", "z999999999999999"} {
		s, err := apikey.GenerateSecret(nil, p)
		if err != nil {
			t.Errorf("GenerateSecret(prefix %q) = %v, want ok", p, err)
			continue
		}
		if len(s.String()) != len(p)+1+46 {
			t.Errorf("GenerateSecret(prefix %q): length %d, want %d", p, len(s.String()), len(p)+47)
		}
		if _, err := apikey.ParseSecret(s.String()); err != nil {
			t.Errorf("ParseSecret(%q) = %v", s, err)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for p, want := range map[string]bool{
		"ab": true, "qapi": true, "a1": true, "abcdefghijklmnop": true,
		"": false, "a": false, "abcdefghijklmnopq": false, "Ab": false, "1a": false, "a_b": false, "a-b": false,
	} {
		if got := apikey.ValidPrefix(p); got != want {
			t.Errorf("ValidPrefix(%q) = %v, want %v", p, got, want)
		}
	}
}

// typoKeys are the keys the typo tests run on: the shared vectors and some
// seeded ones.
func typoKeys(t *testing.T) []string {
	keys := validVectorKeys(t)
	var seed [32]byte
	copy(seed[:], "keyadm typo detection test seed!")
	r := rand.NewChaCha8(seed)
	for _, p := range []string{"qapi", "qapi", "qapi", "ab", "acme2", "abcdefghijklmnop"} {
		s, err := apikey.GenerateSecret(r, p)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, s.String())
	}
	return keys
}

func TestChecksumCatchesTypos(t *testing.T) {
	for _, key := range typoKeys(t) {
		if _, err := apikey.ParseSecret(key); err != nil {
			t.Fatalf("ParseSecret(%q) = %v", key, err)
		}
		sep := strings.IndexByte(key, '_')
		start := sep + 1 // first body character
		reject := func(kind, typo string) {
			t.Helper()
			if typo == key {
				t.Fatalf("test bug: %s typo equals the key", kind)
			}
			s, err := apikey.ParseSecret(typo)
			if err == nil {
				t.Errorf("%s not detected: key %q, typo %q accepted as %q", kind, key, typo, s)
				return
			}
			if apikey.ErrorCode(err) != apikey.EREJECTED || apikey.ErrorReason(err) != apikey.ReasonMalformed {
				t.Errorf("%s %q: error %v (code %q reason %q), want rejected/malformed", kind, typo, err, apikey.ErrorCode(err), apikey.ErrorReason(err))
			}
		}
		b := []byte(key)
		// Substitutions: every position of body and check, every other base62 character.
		for i := start; i < len(b); i++ {
			for j := 0; j < len(refAlphabet); j++ {
				c := refAlphabet[j]
				if c == key[i] {
					continue
				}
				t2 := append([]byte(nil), b...)
				t2[i] = c
				reject("substitution", string(t2))
			}
			// and characters outside the alphabet
			for _, c := range []byte("_-+/= .\x00\xff") {
				t2 := append([]byte(nil), b...)
				t2[i] = c
				reject("non-base62 substitution", string(t2))
			}
		}
		// Case flips.
		for i := start; i < len(b); i++ {
			c := key[i]
			var f byte
			switch {
			case 'a' <= c && c <= 'z':
				f = c - 'a' + 'A'
			case 'A' <= c && c <= 'Z':
				f = c - 'A' + 'a'
			default:
				continue
			}
			t2 := append([]byte(nil), b...)
			t2[i] = f
			reject("case flip", string(t2))
		}
		// The whole key in one case.
		if up := strings.ToUpper(key); up != key {
			reject("upper case", up)
		}
		if low := strings.ToLower(key); low != key {
			reject("lower case", low)
		}
		// Adjacent transpositions of differing characters, body and check,
		// including across the separator.
		for i := sep; i+1 < len(b); i++ {
			if b[i] == b[i+1] {
				continue
			}
			t2 := append([]byte(nil), b...)
			t2[i], t2[i+1] = t2[i+1], t2[i]
			reject("transposition", string(t2))
		}
		// Deletions anywhere.
		for i := 0; i < len(b); i++ {
			reject("deletion", key[:i]+key[i+1:])
		}
		// Insertions anywhere, of every base62 character and the separator.
		for i := 0; i <= len(b); i++ {
			for _, c := range refAlphabet + "_" {
				reject("insertion", key[:i]+string(c)+key[i:])
			}
		}
		// Truncated pastes.
		for i := 0; i < len(b); i++ {
			reject("truncation", key[:i])
		}
		// The same body and check under another valid prefix.
		for _, p := range []string{"qapi", "qapj", "ab", "acme2", "xapi", "abcdefghijklmnop"} {
			if other := p + key[sep:]; other != key {
				reject("prefix change", other)
			}
		}
	}
}

func TestParseSecretForeignStrings(t *testing.T) {
	key := refKey("qapi", "Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3abP3")
	if _, err := apikey.ParseSecret(key); err != nil {
		t.Fatalf("ParseSecret(%q) = %v", key, err)
	}
	body := key[5:]
	// Two body characters replaced by one two-byte rune: the length stays 46 bytes.
	unicodeBody := "qapi_" + "é" + body[2:]
	if len(unicodeBody) != len(key) {
		t.Fatalf("test bug: len %d", len(unicodeBody))
	}
	mb := strings.Repeat("a", 1<<20)
	inputs := map[string]string{
		"empty":                   "",
		"space":                   " ",
		"separator only":          "_",
		"prefix only":             "qapi_",
		"empty prefix":            "_" + body,
		"double separator":        "qapi__" + body[1:],
		"leading space":           " " + key,
		"trailing space":          key + " ",
		"trailing newline":        key + "\n",
		"trailing CRLF":           key + "\r\n",
		"leading tab":             "\t" + key,
		"trailing NUL":            key + "\x00",
		"Bearer":                  "Bearer " + key,
		"bearer lower":            "bearer " + key,
		"x-api-key header":        "x-api-key: " + key,
		"quoted":                  `"` + key + `"`,
		"twice":                   key + key,
		"GitHub classic token":    "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
		"GitHub 46-char rest":     "ghp_" + strings.Repeat("A1b2C3", 7) + "D4e5",
		"GitHub fine-grained":     "github_pat_11ABCDEFG0123456789abcdef_0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijklmnopqrstuv",
		"Stripe-like":             "sk_live_51H8abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
		"AWS access key":          "AKIAIOSFODNN7EXAMPLE",
		"JWT":                     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
		"UUID":                    "0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61",
		"unicode in body":         unicodeBody,
		"unicode prefix":          "qäpi_" + body,
		"fullwidth prefix":        "ｑａｐｉ_" + body,
		"cyrillic a in body":      "qapi_" + "а" + body[2:],
		"emoji":                   "🔑🔑🔑🔑",
		"invalid UTF-8":           "qapi_\xff\xfe" + body[2:],
		"1 MB plain":              mb,
		"1 MB after prefix":       "qapi_" + mb,
		"1 MB after key":          key + mb,
		"1 MB of separators":      strings.Repeat("_", 1<<20),
		"1 MB before key":         mb + key,
		"body with dash":          "qapi_" + body[:10] + "-" + body[11:],
		"prefix 17 chars, no sep": strings.Repeat("a", 17) + body,
	}
	start := time.Now()
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			s, err := apikey.ParseSecret(in)
			if err == nil {
				t.Fatalf("ParseSecret accepted %q as %q", trunc(in), s)
			}
			if s.String() != "" || s.Prefix != "" || s.Body != "" {
				t.Fatalf("ParseSecret returned a non-zero Secret with its error")
			}
			assertMalformed(t, in, err)
		})
	}
	// A strict parser looks at a bounded number of bytes; 1 MB inputs must
	// not take measurable time.
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("rejecting foreign strings took %v", d)
	}
	// Each 1 MB input alone.
	for _, in := range []string{mb, "qapi_" + mb, key + mb} {
		t0 := time.Now()
		for i := 0; i < 100; i++ {
			if _, err := apikey.ParseSecret(in); err == nil {
				t.Fatal("accepted")
			}
		}
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Fatalf("100 rejections of a 1 MB string took %v: the parser scans the whole input", d)
		}
	}
}

// TestParseSecretForgedChecksums feeds strings whose check is right for
// their content but whose content breaks the format: only the format rules
// can reject them.
func TestParseSecretForgedChecksums(t *testing.T) {
	body := "Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3abP3"
	if _, err := apikey.ParseSecret(refKey("qapi", body)); err != nil {
		t.Fatalf("ParseSecret(%q) = %v", refKey("qapi", body), err)
	}
	var forged []string
	for _, c := range []string{"-", "_", "+", "/", "=", " ", ".", "\x00", "\n", "\x7f", "\xff"} {
		for _, i := range []int{0, 20, 39} {
			forged = append(forged, refKey("qapi", body[:i]+c+body[i+1:]))
		}
	}
	forged = append(forged,
		refKey("qapi", "é"+body[2:]),          // 46 bytes after the separator, one of them a rune
		refKey("qapi", body[:39]),             // body 39
		refKey("qapi", body+"A"),              // body 41
		refKey("qapi", ""),                    // no body
		refKey("a", body),                     // prefix 1 char
		refKey("Qapi", body),                  // upper-case prefix
		refKey("9api", body),                  // digit first
		refKey("q-pi", body),                  // dash in prefix
		refKey("abcdefghijklmnopq", body),     // prefix 17 chars
		refKey("", body),                      // empty prefix
		refKey("qapi", body)[:50]+"\n",        // last check char replaced by a newline
		" "+refKey("qapi", body)[1:],          // prefix's first char replaced by a space
		strings.ToUpper(refKey("qapi", body)), // all upper case
	)
	for _, k := range forged {
		s, err := apikey.ParseSecret(k)
		if err == nil {
			t.Errorf("ParseSecret(%q) accepted as %q", k, s)
			continue
		}
		assertMalformed(t, k, err)
	}
}

func FuzzParseSecret(f *testing.F) {
	for _, v := range loadKeyVectors(f) {
		f.Add(v.key)
	}
	f.Add("")
	f.Add("qapi_")
	f.Add(" qapi_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3abP34Oxo48")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := apikey.ParseSecret(in)
		if err != nil {
			if apikey.ErrorCode(err) != apikey.EREJECTED || apikey.ErrorReason(err) != apikey.ReasonMalformed {
				t.Fatalf("ParseSecret(%q): %v (code %q reason %q)", in, err, apikey.ErrorCode(err), apikey.ErrorReason(err))
			}
			if len(in) >= 8 && strings.Contains(err.Error(), in) {
				t.Fatalf("error message %q contains the input", err.Error())
			}
			return
		}
		if s.String() != in {
			t.Fatalf("String() = %q, want %q", s.String(), in)
		}
		if !apikey.ValidPrefix(s.Prefix) || len(s.Body) != apikey.BodyLen || !isRefBase62(s.Body) {
			t.Fatalf("accepted %q with prefix %q body %q", in, s.Prefix, s.Body)
		}
		if want := refKey(s.Prefix, s.Body); want != in {
			t.Fatalf("accepted %q, but its correct form is %q", in, want)
		}
		if s.Hint() != s.Prefix+"_"+s.Body[:4] {
			t.Fatalf("Hint() = %q", s.Hint())
		}
		again, err := apikey.ParseSecret(s.String())
		if err != nil || again != s {
			t.Fatalf("re-parse of %q: %+v, %v", in, again, err)
		}
	})
}

// TestRedactSecrets: whatever may be a key, or a long piece of one, leaves
// a message; ids, hints and setting names stay.
func TestRedactSecrets(t *testing.T) {
	key := "qapi_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3abP34Oxo48"
	for _, c := range []struct{ in, want string }{
		{key, "qapi_[redacted]"},
		{`invalid value "` + key + `" for key_prefix`, `invalid value "qapi_[redacted]" for key_prefix`},
		{"truncated " + key[:24] + " paste", "truncated qapi_[redacted] paste"},
		{"body only " + key[5:], "body only [redacted]"},
		{"acme2_" + key[5:], "acme2_[redacted]"},
		{"key 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61 (hint qapi_Ky9P) not found", "key 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61 (hint qapi_Ky9P) not found"},
		{"max_keys_per_user, api_keys_enabled, max_api_key_expiry, key_prefix", "max_keys_per_user, api_keys_enabled, max_api_key_expiry, key_prefix"},
		{"short", "short"},
		// pieces: 12 characters past the prefix are redacted, 11 are not
		{"q " + key[:17] + "…", "q qapi_[redacted]…"},
		{"q " + key[:16] + "…", "q " + key[:16] + "…"},
		{"bare " + key[5:29] + ".", "bare [redacted]."},
		{"bare " + key[5:28] + ".", "bare " + key[5:28] + "."},
		// what is no random secret stays
		{`show billing_synchronisationservice`, `show billing_synchronisationservice`},
		{"sqlite /var/lib/keyadm/keyadm_production.db: no database there", "sqlite /var/lib/keyadm/keyadm_production.db: no database there"},
		{`tenant "acme-corporation-international-holdings"`, `tenant "acme-corporation-international-holdings"`},
	} {
		if got := apikey.RedactSecrets(c.in); got != c.want {
			t.Errorf("RedactSecrets(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
