package apikey_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keyadm/keyadm/internal/apikey"
)

// A real key, and its parts.
const (
	aKey  = "qapi_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3abP34Oxo48"
	aBody = "Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3abP34Oxo48"
)

// TestQuote: short input is quoted as %q quotes it; long input shows its
// start and its length, never the rest, and never a secret.
func TestQuote(t *testing.T) {
	for _, s := range []string{"", "abc", `a"b`, "a\nb", "é", strings.Repeat("x", apikey.MaxQuoted), strings.Repeat("名", apikey.MaxQuoted)} {
		if got, want := apikey.Quote(s), fmt.Sprintf("%q", s); got != want {
			t.Errorf("Quote(%q) = %s, want %s", s, got, want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{strings.Repeat("a", 100000), `"` + strings.Repeat("a", 40) + `"… (100000 characters)`},
		{strings.Repeat("a", apikey.MaxQuoted+1), `"` + strings.Repeat("a", 40) + `"… (41 characters)`},
		{strings.Repeat("名", 1000), `"` + strings.Repeat("名", 40) + `"… (1000 characters)`},
		{strings.Repeat("\n", 1000), `"` + strings.Repeat(`\n`, 40) + `"… (1000 characters)`},
		// a key is redacted before it is cut: a cut key is still most of one
		{aKey, `"qapi_[redacted]"`},
		{strings.Repeat("-", 30) + aKey + strings.Repeat("-", 1000), `"` + strings.Repeat("-", 30) + `qapi_[reda"… (1081 characters)`},
		{strings.Repeat("-", 30) + aBody, `"` + strings.Repeat("-", 30) + `[redacted]"`},
	} {
		if got := apikey.Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", trunc(c.in), got, c.want)
		}
	}
}

// TestMessagesNeverFlood: whatever quotes input quotes at most a short
// start of it: a 100 KB argument gives a short, one-line message.
func TestMessagesNeverFlood(t *testing.T) {
	big := strings.Repeat("a", 100000)
	bigNL := strings.Repeat("a\n", 50000)
	for name, check := range map[string]func(s string) error{
		"ValidateID":       func(s string) error { return apikey.ValidateID("tenant", s) },
		"ValidateKeyID":    apikey.ValidateKeyID,
		"ValidateKeyIDs":   func(s string) error { return apikey.ValidateKeyIDs([]string{s}) },
		"ValidateName":     apikey.ValidateName,
		"ValidateText":     func(s string) error { return apikey.ValidateText("owner", s, 0, apikey.MaxSubjectLen) },
		"ValidateAction":   apikey.ValidateAction,
		"ParseMeta pair":   func(s string) error { _, err := apikey.ParseMeta([]string{s}); return err },
		"ParseMeta key":    func(s string) error { _, err := apikey.ParseMeta([]string{s + "=v"}); return err },
		"ParseMeta value":  func(s string) error { _, err := apikey.ParseMeta([]string{"k=" + s}); return err },
		"ParseDuration":    func(s string) error { _, err := apikey.ParseDuration(s); return err },
		"ParseTime":        func(s string) error { _, err := apikey.ParseTime(s); return err },
		"ParseStatus":      func(s string) error { _, err := apikey.ParseStatus(s); return err },
		"ParseSort":        func(s string) error { _, err := apikey.ParseSort(s); return err },
		"GenerateSecret":   func(s string) error { _, err := apikey.GenerateSecret(nil, s); return err },
		"CheckSettingName": apikey.CheckSettingName,
		"NormalizeSetting name": func(s string) error {
			_, err := apikey.NormalizeSetting(s, "1")
			return err
		},
		"ValidatePermissions": func(s string) error { _, err := apikey.ValidatePermissions([]string{s}); return err },
		"CreateInput team":    func(s string) error { in := apikey.CreateInput{Name: "n", TeamID: s}; return in.Validate() },
		"ListInput tenant": func(s string) error {
			in := apikey.ListInput{Filter: apikey.KeyFilter{TenantID: s}}
			return in.Validate()
		},
		"ListInput after": func(s string) error { in := apikey.ListInput{After: s}; return in.Validate() },
	} {
		for _, s := range []string{big, bigNL, "1" + big} {
			err := check(s)
			assertInvalid(t, name, err)
			if msg := apikey.ErrorMessage(err); len(msg) > 300 || strings.Contains(msg, "\n") {
				t.Errorf("%s: a %d-byte message for a %d-byte input: %s", name, len(msg), len(s), trunc(msg))
			}
		}
	}
	for _, setting := range apikey.SettingNames() {
		_, err := apikey.NormalizeSetting(setting, big)
		assertInvalid(t, setting, err)
		if msg := apikey.ErrorMessage(err); len(msg) > 300 || !strings.Contains(msg, "(100000 characters)") {
			t.Errorf("%s: message %s", setting, trunc(msg))
		}
	}
}

// lowerKey returns a valid key with no upper-case letter: a key the
// three-kinds rule alone would pass (one in 10^11 random keys), so only its
// check can tell that it is a key. (Every check starts with a digit: a
// CRC32 is below 5*62^5.)
func lowerKey(t *testing.T, prefix string) string {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	for range 1000 {
		b := make([]byte, apikey.BodyLen)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if k := refKey(prefix, string(b)); strings.ToLower(k) == k {
			return k
		}
	}
	t.Fatal("no lower-case key in 1000 tries")
	return ""
}

// secretFields are the inputs a user fills in, each through the
// validation its command (CLI or HTTP) calls.
var secretFields = map[string]func(s string) error{
	"create name":        func(s string) error { in := apikey.CreateInput{Name: s}; return in.Validate() },
	"create description": func(s string) error { in := apikey.CreateInput{Name: "n", Description: s}; return in.Validate() },
	"create tenant":      func(s string) error { in := apikey.CreateInput{Name: "n", TenantID: s}; return in.Validate() },
	"create team":        func(s string) error { in := apikey.CreateInput{Name: "n", TeamID: s}; return in.Validate() },
	"create owner":       func(s string) error { in := apikey.CreateInput{Name: "n", OwnerID: s}; return in.Validate() },
	"create meta value": func(s string) error {
		in := apikey.CreateInput{Name: "n", Metadata: map[string]string{"k": s}}
		return in.Validate()
	},
	"meta value":         func(s string) error { _, err := apikey.ParseMeta([]string{"k=" + s}); return err },
	"update name":        func(s string) error { in := apikey.UpdateInput{Name: &s}; return in.Validate() },
	"update description": func(s string) error { in := apikey.UpdateInput{Description: &s}; return in.Validate() },
	"update meta value": func(s string) error {
		in := apikey.UpdateInput{Metadata: map[string]string{"k": s}}
		return in.Validate()
	},
	"actor":  func(s string) error { return apikey.ValidateText("actor", s, 1, apikey.MaxSubjectLen) },
	"reason": func(s string) error { return apikey.ValidateText("reason", s, 0, apikey.MaxReasonLen) },
	"list tenant": func(s string) error {
		in := apikey.ListInput{Filter: apikey.KeyFilter{TenantID: s}}
		return in.Validate()
	},
}

// TestSecretsRefusedEverywhere: a key's secret, whole or most of it, is
// refused in every field a user fills in, with a message that says why
// and does not repeat it.
func TestSecretsRefusedEverywhere(t *testing.T) {
	noUpper := lowerKey(t, "qapi")
	secrets := []string{
		aKey,
		"my key " + aKey,
		aKey + "\n",
		aBody,                // without its prefix
		aKey[5:29],           // 24 characters of it
		"acme2_" + aBody,     // another tenant's prefix
		noUpper,              // only its check tells it is a key
		"billing " + noUpper, // in a sentence
		"ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ", // not ours, but a secret all the same
	}
	for field, check := range secretFields {
		for _, s := range secrets {
			if field == "create tenant" || field == "list tenant" || field == "create team" {
				s = strings.ReplaceAll(strings.TrimSpace(s), " ", "-") // an id's own characters: only the secret is wrong
			}
			err := check(s)
			assertInvalid(t, fmt.Sprintf("%s %q", field, s), err)
			msg := apikey.ErrorMessage(err)
			if !strings.Contains(msg, "looks like an API key's secret") {
				t.Errorf("%s %q: message %q does not say it looks like a secret", field, s, msg)
			}
			if strings.Contains(msg, aBody[:12]) || strings.Contains(msg, noUpper[5:17]) {
				t.Errorf("%s %q: message %q repeats the secret", field, s, msg)
			}
		}
	}
	// a metadata key too
	_, err := apikey.ParseMeta([]string{aBody + "=v"})
	assertInvalid(t, "metadata key", err)
	if msg := apikey.ErrorMessage(err); !strings.Contains(msg, "secret") || strings.Contains(msg, aBody[:12]) {
		t.Errorf("metadata key: message %q", msg)
	}
}

// TestOrdinaryValuesPass: what people put in names, ids and metadata is
// not mistaken for a secret: ids, digests, hints, words and short pieces.
func TestOrdinaryValuesPass(t *testing.T) {
	for _, s := range []string{
		"billing-sync",
		"Billing sync 2024",
		"ci-runner-42",
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61",     // a UUID
		"0193f5c45a4e7c1a9d3b2f1e0c8b7a61",         // a UUID without dashes
		"0193F5C45A4E7C1A9D3B2F1E0C8B7A61",         // upper-case
		"3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a", // a git commit
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // a SHA-256
		"5f7c8ec7c33c6c004bbafe82",                       // a Mongo ObjectId (Auth0 ids)
		"qapi_Ky9P",                                      // a hint
		"qapi_Ky9P…",                                     // a hint as list shows it
		"replaces qapi_Ky9P and qapi_AbCd",               // hints in a sentence
		"billing_synchronisationservice",                 // words joined
		"svc_PaymentsGateway2",                           // a prefix-like word, short
		"BillingSyncService2024",                         // camel case, 22
		aKey[:20],                                        // a short piece: no secret
		aBody[:23],                                       // 23 of the body: short of a piece
		"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH",             // one case only
		"abcdefghijklmnopqrstuvwxyz0123456789",           // no upper case
		"https://example.com/billing/v2/hooks?id=42",     // a URL
		"svc.billing@example.com",                        // an email
		"arn:aws:iam::123456789012:role/BillingSync2024", // an ARN
	} {
		for field, check := range secretFields {
			if field == "create tenant" || field == "list tenant" || field == "create team" {
				if err := apikey.ValidateID("tenant", s); err != nil {
					continue // not an id's characters: refused for that, not as a secret
				}
			}
			if err := check(s); err != nil {
				t.Errorf("%s %q: %v", field, s, err)
			}
		}
	}
}

// TestInvisibleCharactersRefused: format characters (Cf), which show as
// nothing or turn text around, are refused like control characters, in
// every free-text field; the joiners that emoji and scripts need pass.
func TestInvisibleCharactersRefused(t *testing.T) {
	for _, r := range []rune{
		'\u200b',     // zero-width space
		'\ufeff',     // byte order mark
		'\u202e',     // right-to-left override
		'\u2060',     // word joiner
		'\u00ad',     // soft hyphen
		'\u180e',     // Mongolian vowel separator
		'\u061c',     // Arabic letter mark
		'\U000e0001', // language tag
	} {
		s := "ad" + string(r) + "min"
		for _, field := range []string{"create name", "create description", "create owner", "meta value", "update name", "update description", "actor", "reason"} {
			err := secretFields[field](s)
			assertInvalid(t, fmt.Sprintf("%s with %U", field, r), err)
			if msg := apikey.ErrorMessage(err); !strings.Contains(msg, fmt.Sprintf("%U", r)) || !utf8.ValidString(msg) || strings.ContainsRune(msg, r) {
				t.Errorf("%s with %U: message %q should name the character, not hold it", field, r, msg)
			}
		}
	}
	for _, s := range []string{"👩\u200d💻 dev", "می\u200cخواهم", "مفتاح الفوترة", "Zürich ключ 鍵 🔑"} {
		if err := apikey.ValidateName(s); err != nil {
			t.Errorf("ValidateName(%q) = %v", s, err)
		}
	}
}

// TestListWindowsMustBePositive: unusedFor and expiringWithin of zero (or
// less) are refused alike; a zero window is never what was meant.
func TestListWindowsMustBePositive(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		for flag, in := range map[string]apikey.ListInput{
			"unusedFor":      {UnusedFor: &d},
			"expiringWithin": {ExpiringWithin: &d},
		} {
			err := in.Validate()
			assertInvalid(t, fmt.Sprintf("%s %v", flag, d), err)
			if got, want := apikey.ErrorMessage(err), "invalid "+flag+": must be longer than zero"; got != want {
				t.Errorf("%s %v: message %q, want %q", flag, d, got, want)
			}
		}
	}
	one := time.Second
	for _, in := range []apikey.ListInput{{UnusedFor: &one}, {ExpiringWithin: &one}, {}} {
		if err := in.Validate(); err != nil {
			t.Errorf("%+v: %v", in, err)
		}
	}
}
