package storetest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestRecordingUsesConcurrently: many verifies of a few keys at once, as
// keyadm verify processes and serve's flushes do, each recording a last
// use and a use count, with a clock that moves so that some last uses are
// written and some are not. None fails (PostgreSQL once deadlocked here:
// a verify that had written a key's last use waited for a usage row that
// another held while it waited for the key), and every use is counted.
func (s *Suite) TestRecordingUsesConcurrently(t *testing.T) {
	e := s.env(t)
	var secrets []string
	for range 4 {
		secrets = append(secrets, e.create(apikey.CreateInput{Name: "busy"}).Secret.String())
	}
	var n atomic.Int64 // spreads the keys
	got := race(t, 16, 20, func() error {
		e.clock.Advance(time.Millisecond)
		_, _, err := e.svc.Verify(e.ctx, "", secrets[n.Add(1)%int64(len(secrets))])
		return err
	})
	if got[""] != 16*20 {
		t.Fatalf("outcomes %v, want %d successes", got, 16*20)
	}
	keys, err := e.svc.List(e.ctx, apikey.ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, k := range keys.Keys {
		total += int(k.UseCount)
	}
	if total != 16*20 {
		t.Errorf("use counts add to %d, want %d", total, 16*20)
	}
}
