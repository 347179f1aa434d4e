package storetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestListFilters: each filter selects exactly the keys it names.
func (s *Suite) TestListFilters(t *testing.T) {
	e := s.env(t)
	start := e.clock.Now()
	mk := func(name string, in apikey.CreateInput) string {
		in.Name = name
		c := e.create(in)
		e.clock.Advance(time.Minute)
		return c.Key.ID
	}
	old := mk("old-unused", apikey.CreateInput{TenantID: "a", OwnerID: "alice"})
	oldUsed := mk("old-used", apikey.CreateInput{TenantID: "a", TeamID: "t1"})
	expiring := mk("expiring", apikey.CreateInput{TenantID: "a", Expiry: apikey.Expiry{In: new(10 * apikey.Day)}})
	revoked := mk("revoked", apikey.CreateInput{TenantID: "a", TeamID: "t1"})
	other := mk("other-tenant", apikey.CreateInput{TenantID: "b", OwnerID: "alice"})
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{revoked}, "", "x"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(100 * apikey.Day)
	oldUsedSecret := e.create(apikey.CreateInput{TenantID: "a", Name: "fresh-used"})
	fresh := oldUsedSecret.Key.ID
	if _, _, err := e.svc.Verify(e.ctx, "", oldUsedSecret.Secret.String()); err != nil {
		t.Fatal(err)
	}
	_ = start
	// oldUsed was used long ago: touch it directly in the past.
	if err := e.store.Update(e.ctx, func(tx apikey.Tx) error {
		return tx.RecordActivity(apikey.Activity{Uses: map[string]time.Time{oldUsed: start.Add(time.Hour)}})
	}); err != nil {
		t.Fatal(err)
	}
	expiredKey := mk("short", apikey.CreateInput{TenantID: "a", Expiry: apikey.Expiry{In: new(time.Minute)}})
	e.clock.Advance(time.Minute)

	list := func(in apikey.ListInput) []string {
		t.Helper()
		p, err := e.svc.List(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range p.Keys {
			ids = append(ids, k.ID)
		}
		sort.Strings(ids)
		return ids
	}
	want := func(name string, got []string, ids ...string) {
		t.Helper()
		sort.Strings(ids)
		if !slices.Equal(got, ids) {
			t.Fatalf("%s: got %v, want %v", name, got, ids)
		}
	}
	a := apikey.KeyFilter{TenantID: "a"}
	want("tenant a", list(apikey.ListInput{Filter: a}), old, oldUsed, expiring, revoked, fresh, expiredKey)
	want("all", list(apikey.ListInput{}), old, oldUsed, expiring, revoked, other, fresh, expiredKey)
	want("team", list(apikey.ListInput{Filter: apikey.KeyFilter{TeamID: "t1"}}), oldUsed, revoked)
	want("owner", list(apikey.ListInput{Filter: apikey.KeyFilter{OwnerID: "alice"}}), old, other)
	want("active", list(apikey.ListInput{Filter: apikey.KeyFilter{TenantID: "a", Status: apikey.StatusActive}}), old, oldUsed, fresh)
	want("expired", list(apikey.ListInput{Filter: apikey.KeyFilter{Status: apikey.StatusExpired}}), expiring, expiredKey)
	want("revoked", list(apikey.ListInput{Filter: apikey.KeyFilter{Status: apikey.StatusRevoked}}), revoked)
	want("never used", list(apikey.ListInput{Filter: apikey.KeyFilter{TenantID: "a", NeverUsed: true}}), old, expiring, revoked, expiredKey)
	want("unused for 90d", list(apikey.ListInput{Filter: a, UnusedFor: new(90 * apikey.Day)}), old, oldUsed, expiring, revoked)
	want("unused active", list(apikey.ListInput{Filter: apikey.KeyFilter{Status: apikey.StatusActive}, UnusedFor: new(90 * apikey.Day)}), old, oldUsed, other)

	e2 := s.env(t)
	n := e2.clock.Now()
	soon := e2.create(apikey.CreateInput{Expiry: apikey.Expiry{In: new(3 * apikey.Day)}}).Key.ID
	e2.create(apikey.CreateInput{Expiry: apikey.Expiry{In: new(30 * apikey.Day)}})
	e2.create(apikey.CreateInput{})
	gone := e2.create(apikey.CreateInput{Expiry: apikey.Expiry{At: new(n.Add(2 * apikey.Day))}}).Key.ID
	if _, _, err := e2.svc.Revoke(e2.ctx, "", []string{gone}, "", "x"); err != nil {
		t.Fatal(err)
	}
	p, err := e2.svc.List(e2.ctx, apikey.ListInput{ExpiringWithin: new(14 * apikey.Day)})
	if err != nil || len(p.Keys) != 1 || p.Keys[0].ID != soon {
		t.Fatalf("expiring within 14d: %v %v", p, err)
	}
}

// pageForward lists every page after in.After, checking that each cut
// page is full, and returns the ids in order.
func (e *env) pageForward(t *testing.T, in apikey.ListInput) []string {
	t.Helper()
	var got []string
	for {
		p, err := e.svc.List(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, idsOf(p.Keys)...)
		if !p.More {
			return got
		}
		if len(p.Keys) != in.Limit {
			t.Fatalf("a cut page has %d keys, limit %d", len(p.Keys), in.Limit)
		}
		in.After = p.Keys[len(p.Keys)-1].ID
	}
}

// pageBack lists every page before in.Before and returns the ids in order.
func (e *env) pageBack(t *testing.T, in apikey.ListInput) []string {
	t.Helper()
	var back []string
	for {
		p, err := e.svc.List(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		back = append(idsOf(p.Keys), back...)
		if !p.More {
			return back
		}
		in.Before = p.Keys[0].ID
	}
}

// TestListOrderAndPages: for every sort field and direction, the full list
// is in order, and paging forward with After and back with Before visits
// the same keys in the same order, with More set on every cut page.
func (s *Suite) TestListOrderAndPages(t *testing.T) {
	e := s.env(t)
	names := []string{"delta", "alpha", "Charlie", "bravo", "alpha", "echo", "_x", "Zulu", "alpha", "émile", "foxtrot"}
	var secrets []apikey.Secret
	var ids []string
	for i, name := range names {
		in := apikey.CreateInput{TenantID: "p", Name: name}
		switch i % 3 {
		case 0:
			in.Expiry = apikey.Expiry{In: new(time.Duration(i+1) * time.Hour)}
		case 1:
			in.Expiry = apikey.Expiry{In: new(time.Duration(20-i) * time.Hour)}
		}
		c := e.create(in)
		secrets, ids = append(secrets, c.Secret), append(ids, c.Key.ID)
		if i%4 != 1 {
			e.clock.Advance(time.Second) // some keys share a creation time
		}
	}
	e.create(apikey.CreateInput{TenantID: "q", Name: "elsewhere"})
	for _, i := range []int{2, 5, 7} {
		if _, _, err := e.svc.Verify(e.ctx, "", secrets[i].String()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{ids[3], ids[8]}, "", "x"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(4 * time.Hour) // some keys expire

	for _, field := range []apikey.SortField{apikey.SortCreated, apikey.SortName, apikey.SortStatus, apikey.SortLastUsed, apikey.SortExpires, apikey.SortUses} {
		for _, desc := range []bool{false, true} {
			sortBy := apikey.Sort{Field: field, Desc: desc}
			t.Run(sortBy.String(), func(t *testing.T) {
				filter := apikey.KeyFilter{TenantID: "p"}
				full, err := e.svc.List(e.ctx, apikey.ListInput{Filter: filter, Sort: sortBy})
				if err != nil {
					t.Fatal(err)
				}
				if len(full.Keys) != len(names) || full.More {
					t.Fatalf("full list: %d keys, more=%v", len(full.Keys), full.More)
				}
				now := full.Now
				if !sort.SliceIsSorted(full.Keys, func(i, j int) bool {
					return less(full.Keys[i], full.Keys[j], sortBy, now)
				}) {
					t.Fatalf("not in %s order: %v", sortBy, keyNames(full.Keys))
				}
				want := idsOf(full.Keys)
				for _, limit := range []int{1, 3, 4} {
					got := e.pageForward(t, apikey.ListInput{Filter: filter, Sort: sortBy, Limit: limit})
					if !slices.Equal(got, want) {
						t.Fatalf("limit %d forward: %v\nwant %v", limit, got, want)
					}
					// Back from the last key.
					back := e.pageBack(t, apikey.ListInput{Filter: filter, Sort: sortBy, Before: want[len(want)-1], Limit: limit})
					if !slices.Equal(back, want[:len(want)-1]) {
						t.Fatalf("limit %d backward: %v\nwant %v", limit, back, want[:len(want)-1])
					}
				}
			})
		}
	}
}

// less is the documented order: the field, then the id; never-used keys
// sort as the oldest use, never-expiring keys as the latest expiry, and
// status as active, expired, revoked. Names compare byte-wise.
func less(a, b *apikey.Key, s apikey.Sort, now time.Time) bool {
	c := compare(a, b, s.Field, now)
	if c == 0 {
		c = cmpString(a.ID, b.ID)
	}
	if s.Desc {
		return c > 0
	}
	return c < 0
}

func compare(a, b *apikey.Key, f apikey.SortField, now time.Time) int {
	switch f {
	case apikey.SortName:
		return cmpString(a.Name, b.Name)
	case apikey.SortStatus:
		rank := map[apikey.Status]int{apikey.StatusActive: 0, apikey.StatusExpired: 1, apikey.StatusRevoked: 2}
		return rank[a.StatusAt(now)] - rank[b.StatusAt(now)]
	case apikey.SortLastUsed:
		return cmpTime(a.LastUsedAt, b.LastUsedAt, time.Unix(-1<<40, 0))
	case apikey.SortExpires:
		return cmpTime(a.ExpiresAt, b.ExpiresAt, time.Unix(1<<40, 0))
	case apikey.SortUses:
		return cmp.Compare(a.Limits.UseCount, b.Limits.UseCount)
	}
	return a.CreatedAt.Compare(b.CreatedAt)
}

func cmpTime(a, b *time.Time, missing time.Time) int {
	x, y := missing, missing
	if a != nil {
		x = *a
	}
	if b != nil {
		y = *b
	}
	return x.Compare(y)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func idsOf(keys []*apikey.Key) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

func keyNames(keys []*apikey.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Name)
	}
	return out
}

func sameKey(a, b *apikey.Key) bool { return dump(a) == dump(b) }

func dump(k *apikey.Key) string {
	b, err := json.Marshal(k)
	if err != nil {
		return fmt.Sprint(err)
	}
	return string(b)
}
