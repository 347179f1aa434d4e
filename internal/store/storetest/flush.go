package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestFlushBatches: serve's flush writes last uses and usage counts of
// many keys in a few statements (more than one batch here), each key's row
// once for both: a last use never moves backwards, a key counted but not
// used keeps its last use (in a batch, and alone: one key takes the
// prepared statement), deleted and unknown keys are skipped, and
// counts of the same key, hour and outcome add up, in key_usage and in the
// key's use count (valid ones only).
func (s *Suite) TestFlushBatches(t *testing.T) {
	e := s.env(t)
	a := e.create(apikey.CreateInput{TenantID: "acme"}).Key
	b := e.create(apikey.CreateInput{TenantID: "acme"}).Key
	c := e.create(apikey.CreateInput{TenantID: "acme"}).Key
	gone := e.create(apikey.CreateInput{TenantID: "acme"}).Key
	if _, err := e.svc.Delete(e.ctx, "acme", []string{gone.ID}, "tester"); err != nil {
		t.Fatal(err)
	}
	t0 := e.clock.Now()
	if err := e.svc.RecordActivity(e.ctx, apikey.Activity{Uses: map[string]time.Time{a.ID: t0.Add(2 * time.Hour), c.ID: t0}}); err != nil {
		t.Fatal(err)
	}
	uses := map[string]time.Time{a.ID: t0.Add(time.Hour), b.ID: t0.Add(3 * time.Hour), gone.ID: t0}
	counts := []apikey.UsageCount{
		{KeyID: a.ID, TenantID: "acme", Hour: t0, Outcome: apikey.OutcomeValid, Count: 2},
		{KeyID: b.ID, TenantID: "acme", Hour: t0, Outcome: apikey.ReasonRevoked, Count: 1},
		{KeyID: a.ID, TenantID: "acme", Hour: t0.Add(time.Minute), Outcome: apikey.OutcomeValid, Count: 3},
		{KeyID: c.ID, TenantID: "acme", Hour: t0, Outcome: apikey.OutcomeValid, Count: 4},
	}
	for range 700 {
		id := uuid.Must(uuid.NewV7()).String()
		uses[id] = t0
		counts = append(counts, apikey.UsageCount{KeyID: id, TenantID: "acme", Hour: t0, Outcome: apikey.OutcomeValid, Count: 1})
	}
	if err := e.svc.RecordActivity(e.ctx, apikey.Activity{Uses: uses, Counts: counts}); err != nil {
		t.Fatal(err)
	}
	alone := []apikey.UsageCount{{KeyID: c.ID, TenantID: "acme", Hour: t0, Outcome: apikey.OutcomeValid, Count: 2}}
	if err := e.svc.RecordActivity(e.ctx, apikey.Activity{Counts: alone}); err != nil {
		t.Fatal(err)
	}

	type state struct {
		lastUsed time.Time
		uses     int64
	}
	for key, want := range map[*apikey.Key]state{a: {t0.Add(2 * time.Hour), 5}, b: {t0.Add(3 * time.Hour), 0}, c: {t0, 6}} {
		k, _, err := e.svc.Get(e.ctx, "acme", key.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got state
		if k.LastUsedAt != nil {
			got.lastUsed = *k.LastUsedAt
		}
		if got.uses = k.Limits.UseCount; !got.lastUsed.Equal(want.lastUsed) || got.uses != want.uses {
			t.Errorf("key %s last used %v, use count %d; want %v, %d", k.ID, got.lastUsed, got.uses, want.lastUsed, want.uses)
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
	if got[a.ID+" valid"] != 5 || got[b.ID+" revoked"] != 1 || len(got) != 703 {
		t.Errorf("usage: a valid %d, b revoked %d, %d rows; want 5, 1, 703", got[a.ID+" valid"], got[b.ID+" revoked"], len(got))
	}
}
