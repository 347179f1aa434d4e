package storetest

import (
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestVerifyCountsEveryOutcome: keyadm verify counts a known key's
// rejections in its usage by reason, as serve does, beside its valid
// uses; an unknown key, or another tenant's, counts nowhere.
func (s *Suite) TestVerifyCountsEveryOutcome(t *testing.T) {
	e := s.env(t)
	c := e.create(apikey.CreateInput{Name: "counted", Permissions: []string{"read"}})
	if _, _, err := e.svc.Verify(e.ctx, "", c.Secret.String()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Verify(e.ctx, "", c.Secret.String(), "write"); apikey.ErrorReason(err) != apikey.ReasonInsufficient {
		t.Fatalf("verify --require write: %v", err)
	}
	if _, _, err := e.svc.Verify(e.ctx, "other", c.Secret.String()); apikey.ErrorReason(err) != apikey.ReasonUnknown {
		t.Fatalf("verify in another tenant: %v", err)
	}
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{c.Key.ID}, "test", "tester"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Verify(e.ctx, "", c.Secret.String()); apikey.ErrorReason(err) != apikey.ReasonRevoked {
		t.Fatalf("verify revoked: %v", err)
	}
	got := map[string]int64{}
	err := e.svc.Usage(e.ctx, apikey.UsageQuery{KeyID: c.Key.ID, Since: e.clock.Now().Add(-apikey.Day)}, func(u apikey.UsageCount) error {
		got[u.Outcome] += u.Count
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{apikey.OutcomeValid: 1, apikey.ReasonInsufficient: 1, apikey.ReasonRevoked: 1}
	if len(got) != len(want) {
		t.Fatalf("usage %v, want %v", got, want)
	}
	for o, n := range want {
		if got[o] != n {
			t.Fatalf("usage %v, want %v", got, want)
		}
	}
}
