package apikey_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

func ptrTime(t time.Time) *time.Time { return &t }

func TestKeyStatusAt(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	tests := []struct {
		name    string
		expires *time.Time
		revoked *time.Time
		want    apikey.Status
	}{
		{"no expiry", nil, nil, apikey.StatusActive},
		{"expires later", ptrTime(now.Add(time.Hour)), nil, apikey.StatusActive},
		{"expires one nanosecond later", ptrTime(now.Add(time.Nanosecond)), nil, apikey.StatusActive},
		{"expires exactly now", ptrTime(now), nil, apikey.StatusExpired},
		{"expired one nanosecond ago", ptrTime(now.Add(-time.Nanosecond)), nil, apikey.StatusExpired},
		{"expired long ago", ptrTime(now.Add(-365 * 24 * time.Hour)), nil, apikey.StatusExpired},
		{"expires now, other zone", ptrTime(now.In(time.FixedZone("X", 5*3600))), nil, apikey.StatusExpired},
		{"revoked", nil, ptrTime(now.Add(-time.Hour)), apikey.StatusRevoked},
		{"revoked and expired", ptrTime(now.Add(-time.Hour)), ptrTime(now.Add(-2 * time.Hour)), apikey.StatusRevoked},
		{"revoked, expires exactly now", ptrTime(now), ptrTime(now), apikey.StatusRevoked},
		{"revoked, expires later", ptrTime(now.Add(time.Hour)), ptrTime(now.Add(-time.Hour)), apikey.StatusRevoked},
		// Revocation is immediate whatever its recorded time.
		{"revoked in the future", nil, ptrTime(now.Add(time.Hour)), apikey.StatusRevoked},
	}
	for _, tt := range tests {
		k := &apikey.Key{ExpiresAt: tt.expires, RevokedAt: tt.revoked}
		if got := k.StatusAt(now); got != tt.want {
			t.Errorf("%s: StatusAt = %q, want %q", tt.name, got, tt.want)
		}
	}
	// The boundary, walked: active until the nanosecond before expiry.
	exp := now.Add(24 * time.Hour)
	k := &apikey.Key{ExpiresAt: &exp}
	if got := k.StatusAt(exp.Add(-time.Nanosecond)); got != apikey.StatusActive {
		t.Errorf("one nanosecond before expiry: %q, want active", got)
	}
	if got := k.StatusAt(exp); got != apikey.StatusExpired {
		t.Errorf("at expiry: %q, want expired", got)
	}
	if got := k.StatusAt(exp.Add(time.Nanosecond)); got != apikey.StatusExpired {
		t.Errorf("after expiry: %q, want expired", got)
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range []string{"active", "disabled", "expired", "revoked"} {
		got, err := apikey.ParseStatus(s)
		if err != nil || string(got) != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Active", "ACTIVE", "Disabled", "all", " active", "revoked\n"} {
		got, err := apikey.ParseStatus(s)
		if apikey.ErrorCode(err) != apikey.EINVALID || got != "" {
			t.Errorf("ParseStatus(%q) = %q, %v, want EINVALID", s, got, err)
		}
	}
}

func assertInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want EINVALID", what)
		return
	}
	if code := apikey.ErrorCode(err); code != apikey.EINVALID {
		t.Errorf("%s: code %q (%v), want %q", what, code, err, apikey.EINVALID)
	}
}

func TestValidateID(t *testing.T) {
	for _, s := range []string{
		"a", "A", "0", "default", "acme", "Acme-Corp", "team.eu-1", "org:team:sub", "a_b", "a.b_c:d-e",
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61", strings.Repeat("a", 128), "9" + strings.Repeat("-", 127),
	} {
		if err := apikey.ValidateID("tenant", s); err != nil {
			t.Errorf("ValidateID(%q) = %v", s, err)
		}
	}
	for _, s := range []string{
		"", strings.Repeat("a", 129), "-a", ".a", "_a", ":a", " a", "a ", "a b", "a/b", "a\\b", "a@b", "a#b", "a,b",
		"a\n", "\na", "a\x00", "é", "aé", "ａ", "a\t", "a+b", "a=b", "a'b", `a"b`, "*",
	} {
		err := apikey.ValidateID("team", s)
		assertInvalid(t, fmt.Sprintf("ValidateID(%q)", trunc(s)), err)
		if err != nil && !strings.Contains(err.Error(), "team") {
			t.Errorf("ValidateID(%q): message %q does not name the field", s, err)
		}
	}
}

func TestValidateKeyID(t *testing.T) {
	for _, s := range []string{
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61",
		"0193F5C4-5A4E-7C1A-9D3B-2F1E0C8B7A61",
		"0193f5C4-5a4E-7c1A-9d3B-2f1E0c8B7a61",
		"00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff",
	} {
		if err := apikey.ValidateKeyID(s); err != nil {
			t.Errorf("ValidateKeyID(%q) = %v", s, err)
		}
	}
	for _, s := range []string{
		"",
		"0193f5c4",
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a6",      // 35
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a612",    // 37
		"0193f5c45a4e7c1a9d3b2f1e0c8b7a61abcd",     // 36, no dashes
		"0193f5c4-5a4e-7c1a-9d3b2f1e0c8b7a61-",     // 36, dash moved to the end
		"0193f5c-45a4e-7c1a-9d3b-2f1e0c8b7a61",     // dash misplaced
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a6g",     // not hex
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a6-",     // 5 dashes
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7aé",      // non-ASCII, 36 bytes
		"{0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a6}",    // braces
		" 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a6",     // space
		"0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a6\n",    // newline
		"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",     // letters beyond f
		"qapi_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby", // something else
	} {
		assertInvalid(t, fmt.Sprintf("ValidateKeyID(%q)", s), apikey.ValidateKeyID(s))
	}
}

func TestValidatePermissions(t *testing.T) {
	max63 := "a" + strings.Repeat("b", 63)
	ok := []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{}, []string{}},
		{[]string{"read"}, []string{"read"}},
		{[]string{"read", "write", "admin"}, []string{"read", "write", "admin"}},
		{[]string{"keys:read", "a.b_c-d", "x", "a0", max63}, []string{"keys:read", "a.b_c-d", "x", "a0", max63}},
		{[]string{"write", "read", "write", "read", "admin"}, []string{"write", "read", "admin"}},
		{[]string{"read", "read", "read"}, []string{"read"}},
	}
	for _, tt := range ok {
		got, err := apikey.ValidatePermissions(tt.in)
		if err != nil {
			t.Errorf("ValidatePermissions(%q) = %v", tt.in, err)
			continue
		}
		if got == nil || !slices.Equal(got, tt.want) {
			t.Errorf("ValidatePermissions(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
	// The input is not modified by the dedupe.
	in := []string{"b", "a", "b"}
	if _, err := apikey.ValidatePermissions(in); err != nil || !slices.Equal(in, []string{"b", "a", "b"}) {
		t.Errorf("ValidatePermissions changed its input to %q (%v)", in, err)
	}

	var p64, p65 []string
	for i := 0; i < 65; i++ {
		p := "p" + strconv.Itoa(i)
		if i < 64 {
			p64 = append(p64, p)
		}
		p65 = append(p65, p)
	}
	if got, err := apikey.ValidatePermissions(p64); err != nil || len(got) != 64 {
		t.Errorf("64 permissions: %d, %v; want all accepted", len(got), err)
	}
	got, err := apikey.ValidatePermissions(p65)
	assertInvalid(t, "65 permissions", err)
	if got != nil {
		t.Errorf("65 permissions returned %q with the error", got)
	}

	for _, p := range []string{
		"", "Read", "READ", "1read", ":read", ".read", "_read", "-read", "read write", " read", "read ", "read\n",
		"re/ad", "read*", "read,write", "réad", "a" + strings.Repeat("b", 64), "read\x00",
	} {
		got, err := apikey.ValidatePermissions([]string{"read", p})
		assertInvalid(t, fmt.Sprintf("permission %q", p), err)
		if got != nil {
			t.Errorf("permission %q: returned %q with the error", p, got)
		}
	}
}

func TestValidateText(t *testing.T) {
	hundredCJK := strings.Repeat("名", 100) // 300 bytes, 100 runes
	ok := []struct {
		s        string
		min, max int
	}{
		{"", 0, 10},
		{"a", 1, 100},
		{"hello world", 1, 100},
		{strings.Repeat("a", 100), 1, 100},
		{hundredCJK, 1, apikey.MaxNameLen},
		{strings.Repeat("🔑", 100), 1, apikey.MaxNameLen},
		{"Zürich ключ 鍵 🔑", 1, 100},
		{"quotes ' \" and , ; | < >", 0, 100},
		{"\u00a0non-breaking space", 1, 100},
		{"مفتاح الفوترة", 1, 100},
		{"👩\u200d💻 dev", 1, 100},
		{strings.Repeat("x", apikey.MaxDescriptionLen), 0, apikey.MaxDescriptionLen},
	}
	for _, tt := range ok {
		if err := apikey.ValidateText("name", tt.s, tt.min, tt.max); err != nil {
			t.Errorf("ValidateText(%q, %d, %d) = %v", trunc(tt.s), tt.min, tt.max, err)
		}
	}
	bad := []struct {
		s        string
		min, max int
	}{
		{"", 1, 100},
		{strings.Repeat("a", 101), 1, 100},
		{strings.Repeat("名", 101), 1, apikey.MaxNameLen},
		{"ab", 0, 1},
		{"a\nb", 0, 100},
		{"invoice\u202egpj.exe", 0, 100},
		{"a\u2066b\u2069", 0, 100},
		{"mark\u200f", 0, 100},
		{"a\rb", 0, 100},
		{"a\tb", 0, 100},
		{"\x00", 0, 100},
		{"\x1b[31mred", 0, 100},
		{"bell\a", 0, 100},
		{"del\x7f", 0, 100},
		{"nel\u0085", 0, 100},
		{"c1\u009b31m", 0, 100},
		{"line\u2028sep", 0, 100},
		{"para\u2029sep", 0, 100},
		{"bad\xffutf8", 0, 100},
		{"trunc\xc3", 0, 100},
		{"\xed\xa0\x80", 0, 100}, // surrogate half
		{"overlong\xc0\xaf", 0, 100},
	}
	for _, tt := range bad {
		err := apikey.ValidateText("description", tt.s, tt.min, tt.max)
		assertInvalid(t, fmt.Sprintf("ValidateText(%q, %d, %d)", trunc(tt.s), tt.min, tt.max), err)
		if err != nil && !strings.Contains(err.Error(), "description") {
			t.Errorf("ValidateText(%q): message %q does not name the field", tt.s, err)
		}
	}
}

func TestValidateMetadataAndParseMeta(t *testing.T) {
	ok := []struct {
		in   []string
		want map[string]string
	}{
		{nil, map[string]string{}},
		{[]string{"env=prod"}, map[string]string{"env": "prod"}},
		{[]string{"env=prod", "team=core"}, map[string]string{"env": "prod", "team": "core"}},
		{[]string{"k="}, map[string]string{"k": ""}},
		{[]string{"k=v=w"}, map[string]string{"k": "v=w"}},
		{[]string{"a/b:c.d-e_f=1"}, map[string]string{"a/b:c.d-e_f": "1"}},
		{[]string{"K9=value with spaces, ünïcödé 🔑"}, map[string]string{"K9": "value with spaces, ünïcödé 🔑"}},
		{[]string{strings.Repeat("k", 64) + "=v"}, map[string]string{strings.Repeat("k", 64): "v"}},
		{[]string{"k=" + strings.Repeat("é", apikey.MaxMetaValueLen)}, map[string]string{"k": strings.Repeat("é", apikey.MaxMetaValueLen)}},
	}
	for _, tt := range ok {
		got, err := apikey.ParseMeta(tt.in)
		if err != nil {
			t.Errorf("ParseMeta(%q) = %v", tt.in, err)
			continue
		}
		if got == nil || !maps.Equal(got, tt.want) {
			t.Errorf("ParseMeta(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if err := apikey.ValidateMetadata(got); err != nil {
			t.Errorf("ValidateMetadata(%v) = %v", got, err)
		}
	}
	var many64, many65 []string
	for i := 0; i < 65; i++ {
		kv := "k" + strconv.Itoa(i) + "=v"
		if i < 64 {
			many64 = append(many64, kv)
		}
		many65 = append(many65, kv)
	}
	if m, err := apikey.ParseMeta(many64); err != nil || len(m) != 64 {
		t.Errorf("64 metadata entries: %d, %v", len(m), err)
	}
	bad := [][]string{
		many65,
		{"noequals"},
		{""},
		{"=v"},
		{"bad key=v"},
		{"-k=v"},
		{".k=v"},
		{"k\n=v"},
		{"ké=v"},
		{strings.Repeat("k", 65) + "=v"},
		{"k=" + strings.Repeat("v", apikey.MaxMetaValueLen+1)},
		{"k=\x1b[2J"},
		{"k=line\nbreak"},
		{"k=\u2028"},
		{"k=\xff"},
		{"good=1", "bad"},
	}
	for _, in := range bad {
		_, err := apikey.ParseMeta(in)
		assertInvalid(t, fmt.Sprintf("ParseMeta(%q)", trunc(strings.Join(in, " "))), err)
	}
	assertInvalid(t, "ValidateMetadata(bad key)", apikey.ValidateMetadata(map[string]string{"a b": "v"}))
	assertInvalid(t, "ValidateMetadata(control value)", apikey.ValidateMetadata(map[string]string{"k": "\x00"}))
	if err := apikey.ValidateMetadata(nil); err != nil {
		t.Errorf("ValidateMetadata(nil) = %v", err)
	}
}

func TestErrors(t *testing.T) {
	cause := errors.New("disk on fire")
	appErr := &apikey.Error{Code: apikey.ENOTFOUND, Message: "key not found", Err: cause}
	rej := apikey.Rejectf(apikey.ReasonRevoked, "key rejected: key %s was revoked", "id1")
	tests := []struct {
		name                  string
		err                   error
		code, message, reason string
	}{
		{"nil", nil, "", "", ""},
		{"plain", errors.New("pq: connection refused to 10.0.0.1"), apikey.EINTERNAL, "internal error", ""},
		{"plain wrapped", fmt.Errorf("open: %w", io.EOF), apikey.EINTERNAL, "internal error", ""},
		{"app", appErr, apikey.ENOTFOUND, "key not found", ""},
		{"app wrapped", fmt.Errorf("get: %w", appErr), apikey.ENOTFOUND, "key not found", ""},
		{"app wrapped twice", fmt.Errorf("cli: %w", fmt.Errorf("get: %w", appErr)), apikey.ENOTFOUND, "key not found", ""},
		{"joined", errors.Join(io.EOF, appErr), apikey.ENOTFOUND, "key not found", ""},
		{"Errorf", apikey.Errorf(apikey.EPOLICY, "limit %d reached for %q", 3, "bob"), apikey.EPOLICY, `limit 3 reached for "bob"`, ""},
		{"Rejectf", rej, apikey.EREJECTED, "key rejected: key id1 was revoked", apikey.ReasonRevoked},
		{"Rejectf wrapped", fmt.Errorf("verify: %w", rej), apikey.EREJECTED, "key rejected: key id1 was revoked", apikey.ReasonRevoked},
	}
	for _, tt := range tests {
		if got := apikey.ErrorCode(tt.err); got != tt.code {
			t.Errorf("%s: ErrorCode = %q, want %q", tt.name, got, tt.code)
		}
		if got := apikey.ErrorMessage(tt.err); got != tt.message {
			t.Errorf("%s: ErrorMessage = %q, want %q", tt.name, got, tt.message)
		}
		if got := apikey.ErrorReason(tt.err); got != tt.reason {
			t.Errorf("%s: ErrorReason = %q, want %q", tt.name, got, tt.reason)
		}
	}
	// The message shown is the Message, never the cause.
	if appErr.Error() != "key not found" || strings.Contains(apikey.ErrorMessage(fmt.Errorf("x: %w", appErr)), "disk") {
		t.Errorf("Error() = %q: the cause must not be shown", appErr.Error())
	}
	if !errors.Is(appErr, cause) || !errors.Is(fmt.Errorf("w: %w", appErr), cause) {
		t.Error("the cause is not reachable with errors.Is")
	}
	var e *apikey.Error
	if !errors.As(fmt.Errorf("w: %w", rej), &e) || e != rej {
		t.Error("errors.As does not find the *Error")
	}
	if apikey.Errorf(apikey.EINVALID, "x").Reason != "" {
		t.Error("Errorf set a reason")
	}
	// A malformed key from ParseSecret wraps a cause but shows only its message.
	_, err := apikey.ParseSecret("qapi_nope")
	if apikey.ErrorCode(fmt.Errorf("verify: %w", err)) != apikey.EREJECTED || errors.Unwrap(err) == nil {
		t.Errorf("ParseSecret error %v: want EREJECTED with a cause", err)
	}
}

func TestErrorCodeValues(t *testing.T) {
	// The codes are part of what callers map to exit codes and HTTP statuses.
	want := map[string]string{
		apikey.EINTERNAL: "internal", apikey.EUNAVAILABLE: "unavailable", apikey.EINVALID: "invalid",
		apikey.ENOTFOUND: "not_found", apikey.EPOLICY: "policy", apikey.EREJECTED: "rejected", apikey.ECONFLICT: "conflict",
	}
	if len(want) != 7 {
		t.Fatalf("error codes are not distinct: %v", want)
	}
	for got, w := range want {
		if got != w {
			t.Errorf("code %q, want %q", got, w)
		}
	}
	reasons := []string{apikey.ReasonMalformed, apikey.ReasonUnknown, apikey.ReasonRevoked, apikey.ReasonExpired, apikey.ReasonDisabled}
	if !slices.Equal(reasons, []string{"malformed", "unknown", "revoked", "expired", "disabled"}) {
		t.Errorf("reasons = %q", reasons)
	}
}
