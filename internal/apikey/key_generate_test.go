package apikey_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

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
