package apikey_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

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
		for _, typo := range typosOf(key) {
			if typo.text == key {
				t.Fatalf("test bug: %s typo equals the key", typo.kind)
			}
			s, err := apikey.ParseSecret(typo.text)
			if err == nil {
				t.Errorf("%s not detected: key %q, typo %q accepted as %q", typo.kind, key, typo.text, s)
				continue
			}
			if apikey.ErrorCode(err) != apikey.EREJECTED || apikey.ErrorReason(err) != apikey.ReasonMalformed {
				t.Errorf("%s %q: error %v (code %q reason %q), want rejected/malformed", typo.kind, typo.text, err, apikey.ErrorCode(err), apikey.ErrorReason(err))
			}
		}
	}
}

// typo is a mistyped copy of a key, and the kind of mistake.
type typo struct{ kind, text string }

// typosOf lists the mistakes of one character a person makes copying key:
// substitutions (in and outside the alphabet) and case flips of body and
// check, then the whole key in one case.
func typosOf(key string) []typo {
	var out []typo
	add := func(kind, text string) { out = append(out, typo{kind, text}) }
	b := []byte(key)
	start := strings.IndexByte(key, '_') + 1 // first body character
	replace := func(i int, c byte) string {
		t2 := append([]byte(nil), b...)
		t2[i] = c
		return string(t2)
	}
	for i := start; i < len(b); i++ {
		for j := 0; j < len(refAlphabet); j++ {
			if c := refAlphabet[j]; c != key[i] {
				add("substitution", replace(i, c))
			}
		}
		for _, c := range []byte("_-+/= .\x00\xff") {
			add("non-base62 substitution", replace(i, c))
		}
	}
	for i := start; i < len(b); i++ {
		switch c := key[i]; {
		case 'a' <= c && c <= 'z':
			add("case flip", replace(i, c-'a'+'A'))
		case 'A' <= c && c <= 'Z':
			add("case flip", replace(i, c-'A'+'a'))
		}
	}
	if up := strings.ToUpper(key); up != key {
		add("upper case", up)
	}
	if low := strings.ToLower(key); low != key {
		add("lower case", low)
	}
	return append(out, reshapesOf(key)...)
}

// reshapesOf lists the mistakes that move characters: adjacent
// transpositions of differing characters (body and check, and across the
// separator), deletions and insertions anywhere (of every base62 character
// and the separator), truncated pastes, and the same body and check under
// another valid prefix.
func reshapesOf(key string) []typo {
	var out []typo
	add := func(kind, text string) { out = append(out, typo{kind, text}) }
	sep := strings.IndexByte(key, '_')
	for i := sep; i+1 < len(key); i++ {
		if key[i] != key[i+1] {
			t2 := []byte(key)
			t2[i], t2[i+1] = t2[i+1], t2[i]
			add("transposition", string(t2))
		}
	}
	for i := 0; i < len(key); i++ {
		add("deletion", key[:i]+key[i+1:])
	}
	for i := 0; i <= len(key); i++ {
		for _, c := range refAlphabet + "_" {
			add("insertion", key[:i]+string(c)+key[i:])
		}
	}
	for i := 0; i < len(key); i++ {
		add("truncation", key[:i])
	}
	for _, p := range []string{"qapi", "qapj", "ab", "acme2", "xapi", "abcdefghijklmnop"} {
		if other := p + key[sep:]; other != key {
			add("prefix change", other)
		}
	}
	return out
}

func TestParseSecretForeignStrings(t *testing.T) {
	key := refKey("qapi", "Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3abP3")
	if _, err := apikey.ParseSecret(key); err != nil {
		t.Fatalf("ParseSecret(%q) = %v", key, err)
	}
	mb := strings.Repeat("a", 1<<20)
	inputs := foreignStrings(t, key, mb)
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

// foreignStrings are what else gets pasted where a key belongs, around key
// or instead of it; mb is a 1 MB string.
func foreignStrings(t *testing.T, key, mb string) map[string]string {
	body := key[5:]
	// Two body characters replaced by one two-byte rune: the length stays 46 bytes.
	unicodeBody := "qapi_" + "é" + body[2:]
	if len(unicodeBody) != len(key) {
		t.Fatalf("test bug: len %d", len(unicodeBody))
	}
	return map[string]string{
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
