package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestFlushBatches: serve's flush writes last uses and usage counts of
// many keys in a few statements (more than one batch here): a last use
// never moves backwards, deleted and unknown keys are skipped, and counts
// of the same key, hour and outcome add up, in key_usage and in the key's
// use count (valid ones only).
func (s *Suite) TestFlushBatches(t *testing.T) {
	e := s.env(t)
	a := e.create(apikey.CreateInput{TenantID: "acme"}).Key
	b := e.create(apikey.CreateInput{TenantID: "acme"}).Key
	gone := e.create(apikey.CreateInput{TenantID: "acme"}).Key
	if _, err := e.svc.Delete(e.ctx, "acme", []string{gone.ID}, "tester"); err != nil {
		t.Fatal(err)
	}
	t0 := e.clock.Now()
	if err := e.svc.Touch(e.ctx, map[string]time.Time{a.ID: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	uses := map[string]time.Time{a.ID: t0.Add(time.Hour), b.ID: t0.Add(3 * time.Hour), gone.ID: t0}
	counts := []apikey.UsageCount{
		{KeyID: a.ID, TenantID: "acme", Hour: t0, Outcome: apikey.OutcomeValid, Count: 2},
		{KeyID: b.ID, TenantID: "acme", Hour: t0, Outcome: apikey.ReasonRevoked, Count: 1},
		{KeyID: a.ID, TenantID: "acme", Hour: t0.Add(time.Minute), Outcome: apikey.OutcomeValid, Count: 3},
	}
	for range 700 {
		id := uuid.Must(uuid.NewV7()).String()
		uses[id] = t0
		counts = append(counts, apikey.UsageCount{KeyID: id, TenantID: "acme", Hour: t0, Outcome: apikey.OutcomeValid, Count: 1})
	}
	if err := e.svc.Touch(e.ctx, uses); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RecordUsage(e.ctx, counts); err != nil {
		t.Fatal(err)
	}

	for key, want := range map[*apikey.Key]time.Time{a: t0.Add(2 * time.Hour), b: t0.Add(3 * time.Hour)} {
		k, _, err := e.svc.Get(e.ctx, "acme", key.ID)
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(want) {
			t.Errorf("key %s last used %v, want %v", k.ID, k.LastUsedAt, want)
		}
		if wantUses := map[string]int64{a.ID: 5, b.ID: 0}[k.ID]; k.Limits.UseCount != wantUses {
			t.Errorf("key %s use count %d, want %d", k.ID, k.Limits.UseCount, wantUses)
		}
	}
	got := map[string]int64{}
	err := e.svc.Usage(e.ctx, apikey.UsageQuery{TenantID: "acme"}, func(c apikey.UsageCount) error {
		got[c.KeyID+" "+c.Outcome] += c.Count
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[a.ID+" valid"] != 5 || got[b.ID+" revoked"] != 1 || len(got) != 702 {
		t.Errorf("usage: a valid %d, b revoked %d, %d rows; want 5, 1, 702", got[a.ID+" valid"], got[b.ID+" revoked"], len(got))
	}
}
