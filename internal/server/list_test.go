package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

type listPage struct {
	Data  []map[string]any `json:"data"`
	Links struct {
		Self pageLink  `json:"self"`
		Next *pageLink `json:"next"`
		Prev *pageLink `json:"prev"`
	} `json:"links"`
}

// pageLink is a link of the seed's shape, {"href": absolute URL}.
type pageLink struct {
	Href string `json:"href"`
}

func (p listPage) ids() []string {
	ids := make([]string, len(p.Data))
	for i, k := range p.Data {
		ids[i], _ = k["id"].(string)
	}
	return ids
}

// seedForList gives tenant p keys that differ in every sort field (names,
// expiries, revocations, last uses, shared creation times), and tenant q a
// few that must never show.
func seedForList(t *testing.T, h *harness) {
	ctx := context.Background()
	names := []string{"delta", "alpha", "Charlie", "bravo", "alpha", "echo", "_x", "Zulu", "alpha", "émile"}
	var revoke []string
	uses := map[string]time.Time{}
	for i := range 23 {
		in := apikey.CreateInput{TenantID: "p", Name: fmt.Sprintf("%s-%d", names[i%len(names)], i%4)}
		if i%4 != 0 { // some keys have no owner, some no description
			in.OwnerID = names[(i+3)%len(names)]
		}
		if i%3 != 2 {
			in.Description = names[(i+5)%len(names)]
		}
		if i%3 == 0 {
			d := time.Duration(i+1) * time.Hour
			in.Expiry.In = &d
		}
		id, _ := h.key(in)
		switch {
		case i%5 == 0:
			revoke = append(revoke, id)
		case i%4 == 1:
			uses[id] = h.clock.Now()
		}
		if i%3 != 1 {
			h.clock.Advance(time.Second) // some keys share a creation time
		}
	}
	for range 3 {
		h.key(apikey.CreateInput{TenantID: "q"})
	}
	if _, _, err := h.svc.Revoke(ctx, "p", revoke, "", "tester"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RecordActivity(ctx, apikey.Activity{Uses: uses}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(5 * time.Hour) // some keys expire
}

// TestListPagination: following next from the first page, then prev from
// the last, visits every key of the tenant in order, for each sort and
// filter; the ends have no link that way; each item is the key's record.
func TestListPagination(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("p")
		seedForList(t, h)
		for _, sort := range []string{"-created", "created", "+created", "name", "-name", "status", "-status", "lastUsed", "-lastUsed",
			"expires", "-expires", "sub", "-sub", "+description", "-description", "createdByUser", "-createdByUser"} {
			for _, status := range []apikey.Status{"", apikey.StatusActive, apikey.StatusRevoked} {
				t.Run(sort+"/"+string(status), func(t *testing.T) {
					want := listOrder(t, h, sort, status)
					const limit = 4
					first := fmt.Sprintf("/v1/api-keys?limit=%d&sort=%s", limit, url.QueryEscape(sort))
					if status != "" {
						first += "&status=" + string(status)
					}
					last := listForward(t, h, admin, first, limit, want)
					listBackward(t, h, admin, last, limit, want)
				})
			}
		}
		checkListEnds(t, h, admin)
	})
}

// listGet gets a page at link (a path, or a link an answer gave), whose
// self link must be that link.
func listGet(t *testing.T, h *harness, admin, link string) listPage {
	t.Helper()
	var p listPage
	link = strings.TrimPrefix(link, h.base)
	h.do("GET", link, withKey(admin)).want(t, http.StatusOK, &p)
	if p.Links.Self.Href != h.base+link {
		t.Fatalf("self %q, want %q", p.Links.Self.Href, h.base+link)
	}
	return p
}

// listOrder is the ids of tenant p's keys of that status, in the order of
// that sort, as the service lists them (checked against the seed's sorts).
func listOrder(t *testing.T, h *harness, sort string, status apikey.Status) []string {
	t.Helper()
	// The seed's sorts, with keyadm's; + is ascending, as no sign is.
	seedSorts := map[string]apikey.SortField{"sub": apikey.SortOwner, "description": apikey.SortDescription, "createdByUser": apikey.SortCreatedBy}
	name := strings.TrimLeft(sort, "+-")
	s, err := apikey.ParseSort(strings.TrimPrefix(sort, "+"))
	if f, ok := seedSorts[name]; ok {
		s, err = apikey.Sort{Field: f, Desc: strings.HasPrefix(sort, "-")}, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	full, err := h.svc.List(context.Background(), apikey.ListInput{
		Filter: apikey.KeyFilter{TenantID: "p", Status: status}, Sort: s})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, k := range full.Keys {
		want = append(want, k.ID)
		// The seed's sorts order by the text, byte-wise;
		// none (no owner, no description) first.
		if _, ok := seedSorts[name]; ok && i > 0 {
			a, b := seedValue(name, full.Keys[i-1]), seedValue(name, k)
			if s.Desc {
				a, b = b, a
			}
			if a > b {
				t.Fatalf("%s: %q before %q", sort, seedValue(name, full.Keys[i-1]), seedValue(name, k))
			}
		}
	}
	return want
}

// listForward follows next links from the first page, which has no prev
// link, to the last, and wants the keys of want in order; it returns the
// last page.
func listForward(t *testing.T, h *harness, admin, first string, limit int, want []string) listPage {
	t.Helper()
	var got []string
	page := listGet(t, h, admin, first)
	if page.Links.Prev != nil {
		t.Fatalf("the first page has a prev link: %s", page.Links.Prev.Href)
	}
	for {
		got = append(got, page.ids()...)
		if page.Links.Next == nil {
			break
		}
		if len(page.Data) != limit {
			t.Fatalf("a page before the last has %d keys", len(page.Data))
		}
		if len(got) > len(want) {
			t.Fatalf("next links go past the end: %v", got)
		}
		page = listGet(t, h, admin, page.Links.Next.Href)
		if page.Links.Prev == nil {
			t.Fatal("a page after the first has no prev link")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("forward\n%v\nwant\n%v", got, want)
	}
	return page
}

// listBackward follows prev links from the last page to the first, and
// wants the keys of want in order.
func listBackward(t *testing.T, h *harness, admin string, page listPage, limit int, want []string) {
	t.Helper()
	var back []string
	for {
		back = append(page.ids(), back...)
		if page.Links.Prev == nil {
			break
		}
		if len(back) > len(want) {
			t.Fatalf("prev links go past the start: %v", back)
		}
		page = listGet(t, h, admin, page.Links.Prev.Href)
		if len(page.Data) != limit {
			t.Fatalf("a page reached backwards has %d keys", len(page.Data))
		}
		if page.Links.Next == nil {
			t.Fatal("a page before the last has no next link")
		}
	}
	if !slices.Equal(back, want) {
		t.Fatalf("backward\n%v\nwant\n%v", back, want)
	}
}

// checkListEnds: the default page, links at the seed's base path, a page
// of all keys, the empty page past the last key, and refused queries.
func checkListEnds(t *testing.T, h *harness, admin string) {
	t.Helper()
	var page listPage
	h.do("GET", "/v1/api-keys", withKey(admin)).want(t, http.StatusOK, &page)
	if page.Links.Self.Href != h.base+"/v1/api-keys?limit=20&sort=-created" || len(page.Data) != 20 || page.Links.Next == nil {
		t.Fatalf("default page: self %s, %d keys", page.Links.Self.Href, len(page.Data))
	}
	// At the seed's base path, the links keep to it.
	h.do("GET", "/api/v1/api-keys?limit=2&sort=%2Bcreated", withKey(admin)).want(t, http.StatusOK, &page)
	if page.Links.Self.Href != h.base+"/api/v1/api-keys?limit=2&sort=%2Bcreated" ||
		page.Links.Next == nil || !strings.HasPrefix(page.Links.Next.Href, h.base+"/api/v1/api-keys?") {
		t.Fatalf("links at /api/v1: %+v", page.Links)
	}
	for _, item := range page.Data {
		id, _ := item["id"].(string)
		h.wantRecord(t, item, id, "")
	}
	var all listPage
	h.do("GET", "/v1/api-keys?limit=100", withKey(admin)).want(t, http.StatusOK, &all)
	if len(all.Data) != 24 || all.Links.Next != nil || all.Links.Prev != nil {
		t.Fatalf("limit 100: %d keys, links %+v", len(all.Data), all.Links)
	}
	// Past the last key: an empty page, no way on.
	last := all.ids()[len(all.Data)-1]
	page = listPage{}
	h.do("GET", "/v1/api-keys?startingAfter="+last, withKey(admin)).want(t, http.StatusOK, &page)
	if len(page.Data) != 0 || page.Links.Next != nil || page.Links.Prev != nil {
		t.Fatalf("past the end: %+v", page)
	}
	if page.Data == nil {
		t.Fatal(`an empty page has "data": null, want []`)
	}

	for _, q := range []string{
		"limit=0", "limit=101", "limit=-1", "limit=ten", "limit=", "limit=5&limit=6", "sort=size", "sort=--name", "sort=+-name", "sort=createdAt", "createdByUser=a&createdByUser=b",
		"status=gone", "startingAfter=nope", "endingBefore=" + last + "&startingAfter=" + last, "page=2",
		"starting_after=" + last, "startingAfter=0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61",
	} {
		h.do("GET", "/v1/api-keys?"+q, withKey(admin)).wantError(t, http.StatusBadRequest, "invalid")
	}
}

// seedValue is what the seed's sort of that name orders a key by.
func seedValue(sort string, k *apikey.Key) string {
	text := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	switch sort {
	case "sub":
		return text(k.OwnerID)
	case "description":
		return text(k.Description)
	}
	return k.CreatedBy
}
