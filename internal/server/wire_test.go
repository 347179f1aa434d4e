package server

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestWireRecords pins the JSON the API sends for a key and an identity,
// byte for byte: member names, their order, null for what is absent, []
// and {} for empty lists and maps, times in UTC to the nanosecond.
func TestWireRecords(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123, time.FixedZone("CET", 3600))
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	bare := &apikey.Key{ID: "a", TenantID: "t", Name: "n", Hint: "qapi_x", CreatedAt: now, UpdatedAt: now, CreatedBy: "cli"}
	full := &apikey.Key{ID: "a", TenantID: "t", TeamID: ptr("tm"), OwnerID: ptr("o"), Name: "n", Description: ptr("d"),
		Permissions: []string{"read", "admin"}, Hint: "qapi_x", CreatedAt: now, UpdatedAt: now.Add(time.Second), CreatedBy: "cli",
		ExpiresAt: at(time.Hour), RevokedAt: at(time.Minute), RevokedBy: ptr("me"), RevokeReason: ptr("why"),
		LastUsedAt: at(-time.Hour), Metadata: map[string]string{"b": "1", "a": "<&>"}, RotatedFrom: ptr("z"), SubType: "externalClient"}
	for _, c := range []struct {
		v    any
		want string
	}{
		{newKeyRecord(bare, now, ""), `{"id":"a","tenantId":"t","description":"","sub":null,"subType":"user","status":"active","expiry":null,"createdByUser":"cli","created":"2026-03-01T11:00:00.000000123Z","lastUpdated":"2026-03-01T11:00:00.000000123Z","name":"n","teamId":null,"permissions":[],"metadata":{},"hint":"qapi_x","lastUsedAt":null,"revokedAt":null,"revokedBy":null,"revokeReason":null,"rotatedFrom":null,"disabledAt":null,"rateLimits":[],"usesRemaining":null,"refill":null,"refillsAt":null,"allowIps":[],"useCount":0}`},
		{newKeyRecord(bare, now, "qapi_s"), `{"id":"a","tenantId":"t","description":"","sub":null,"subType":"user","status":"active","expiry":null,"createdByUser":"cli","created":"2026-03-01T11:00:00.000000123Z","lastUpdated":"2026-03-01T11:00:00.000000123Z","name":"n","teamId":null,"permissions":[],"metadata":{},"hint":"qapi_x","lastUsedAt":null,"revokedAt":null,"revokedBy":null,"revokeReason":null,"rotatedFrom":null,"disabledAt":null,"rateLimits":[],"usesRemaining":null,"refill":null,"refillsAt":null,"allowIps":[],"useCount":0,"token":"qapi_s"}`},
		{newKeyRecord(full, now, ""), `{"id":"a","tenantId":"t","description":"d","sub":"o","subType":"externalClient","status":"revoked","expiry":"2026-03-01T12:00:00.000000123Z","createdByUser":"cli","created":"2026-03-01T11:00:00.000000123Z","lastUpdated":"2026-03-01T11:00:01.000000123Z","name":"n","teamId":"tm","permissions":["read","admin"],"metadata":{"a":"\u003c\u0026\u003e","b":"1"},"hint":"qapi_x","lastUsedAt":"2026-03-01T10:00:00.000000123Z","revokedAt":"2026-03-01T11:01:00.000000123Z","revokedBy":"me","revokeReason":"why","rotatedFrom":"z","disabledAt":null,"rateLimits":[],"usesRemaining":null,"refill":null,"refillsAt":null,"allowIps":[],"useCount":0}`},
		{newIdentity(bare), `{"id":"a","name":"n","tenantId":"t","teamId":null,"ownerId":null,"permissions":[],"effectivePermissions":[],"expiresAt":null}`},
		{newIdentity(full), `{"id":"a","name":"n","tenantId":"t","teamId":"tm","ownerId":"o","permissions":["read","admin"],"effectivePermissions":[],"expiresAt":"2026-03-01T12:00:00.000000123Z"}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%T: %s (%v)\nwant %s", c.v, b, err, c.want)
		}
	}
}

// TestFieldsWordedAsMembers: an error answer names the domain's fields as
// the API's members and query parameters, never as the data model or the
// command line does.
func TestFieldsWordedAsMembers(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{apikey.Errorf(apikey.EINVALID, "give %s or %s, not both", apikey.Field("after"), apikey.Field("before")), "give startingAfter or endingBefore, not both"},
		{apikey.Errorf(apikey.EINVALID, "invalid %s: must be longer than zero", apikey.Field("expiresIn")), "invalid expiry: must be longer than zero"},
		{fmt.Errorf("creating: %w", apikey.Errorf(apikey.EINVALID, "bad %s", apikey.Field("ownerId"))), "bad sub"},
		{apikey.Errorf(apikey.EINVALID, "bad %s", apikey.Field("createdBy")), "bad createdByUser"},
	} {
		if _, p := describe(c.err); p.Detail != c.want {
			t.Errorf("detail %q, want %q", p.Detail, c.want)
		}
	}
}
