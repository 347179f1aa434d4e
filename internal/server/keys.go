package server

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Page sizes of GET /v1/api-keys.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// listPath is the collection's path, the base of its links.
const listPath = "/v1/api-keys"

// listParams is a parsed GET /v1/api-keys query.
type listParams struct {
	limit  int
	sort   apikey.Sort
	status apikey.Status
	after  string
	before string
}

// listQuery names the parameters of GET /v1/api-keys.
var listQuery = []string{"limit", "sort", "status", "startingAfter", "endingBefore"}

func parseListParams(m query) (listParams, error) {
	p := listParams{limit: DefaultPageSize, sort: apikey.DefaultSort}
	var err error
	if v, ok := m["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, apikey.Errorf(apikey.EINVALID, "invalid limit %s: want a whole number from 1 to %d", apikey.Quote(v), MaxPageSize)
		}
		p.limit = n
	}
	if v, ok := m["sort"]; ok {
		if p.sort, err = apikey.ParseSort(v); err != nil {
			return p, err
		}
	}
	if v, ok := m["status"]; ok {
		if p.status, err = apikey.ParseStatus(v); err != nil {
			return p, err
		}
	}
	// The Service checks the cursors (key ids, not both).
	p.after, p.before = m["startingAfter"], m["endingBefore"]
	return p, nil
}

// link is the URL (a path and query, relative to the server) of the page
// with these parameters and the given cursor.
func (p listParams) link(after, before string) string {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(p.limit))
	q.Set("sort", p.sort.String())
	if p.status != "" {
		q.Set("status", string(p.status))
	}
	if after != "" {
		q.Set("startingAfter", after)
	}
	if before != "" {
		q.Set("endingBefore", before)
	}
	return listPath + "?" + q.Encode()
}

// listKeys answers one page of the admin's tenant's keys, with links to
// the pages on either side: null where no key lies that way.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, admin *apikey.Key, q query) {
	p, err := parseListParams(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := apikey.ListInput{
		Filter: apikey.KeyFilter{TenantID: admin.TenantID, Status: p.status},
		Sort:   p.sort, After: p.after, Before: p.before, Limit: p.limit,
	}
	if !isAdmin(admin) {
		in.Filter.OwnerID = *admin.OwnerID // its owner's keys only
	}
	ctx := r.Context()
	page, err := s.svc.List(ctx, in)
	if apikey.ErrorCode(err) == apikey.ENOTFOUND {
		// Only a cursor can be missing: a key deleted, or another tenant's.
		err = apikey.Errorf(apikey.EINVALID, "invalid cursor: %s", apikey.ErrorMessage(err))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := listPage{Data: make([]keyRecord, 0, len(page.Keys)), Links: listLinks{Self: p.link(p.after, p.before)}}
	for _, k := range page.Keys {
		resp.Data = append(resp.Data, newKeyRecord(k, page.Now, ""))
	}
	if n := len(page.Keys); n > 0 {
		first, last := page.Keys[0].ID, page.Keys[n-1].ID
		// The way the page was read, List says whether more keys lie; the
		// other way, a one-key read past the page's edge tells. A first
		// page has nothing before it.
		next, prev := page.More, false
		switch {
		case p.before != "":
			prev = page.More
			next, err = s.anyKey(r, in, last, "")
		case p.after != "":
			prev, err = s.anyKey(r, in, "", first)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if next {
			resp.Links.Next = ptr(p.link(last, ""))
		}
		if prev {
			resp.Links.Prev = ptr(p.link("", first))
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// anyKey reports whether the list holds a key after (or before) a key.
func (s *Server) anyKey(r *http.Request, in apikey.ListInput, after, before string) (bool, error) {
	in.After, in.Before, in.Limit = after, before, 1
	page, err := s.svc.List(r.Context(), in)
	if apikey.ErrorCode(err) == apikey.ENOTFOUND {
		return false, nil // the edge key was deleted meanwhile
	} else if err != nil {
		return false, err
	}
	return len(page.Keys) > 0, nil
}

func ptr[T any](v T) *T { return &v }

// input turns the request into the Service's input for the admin's tenant.
func (c *createRequest) input(admin *apikey.Key) (apikey.CreateInput, error) {
	in := apikey.CreateInput{
		TenantID: admin.TenantID, TeamID: c.TeamID, OwnerID: c.OwnerID, Name: c.Name,
		Description: c.Description, Permissions: c.Permissions, Metadata: c.Metadata, Actor: actor(admin),
	}
	if c.TenantID != "" && c.TenantID != admin.TenantID {
		return in, apikey.Errorf(codeForbidden, "key %s may only create keys in tenant %q", admin.ID, admin.TenantID)
	}
	if err := confineCreate(admin, &in); err != nil {
		return in, err
	}
	// Only parsing is done here; the Service checks the expiry (one of the
	// two, longer than zero, within policy).
	if c.ExpiresIn != nil {
		d, err := apikey.ParseDuration(*c.ExpiresIn)
		if err != nil {
			return in, apikey.Errorf(apikey.EINVALID, "%s: %s", apikey.Field("expiresIn"), apikey.ErrorMessage(err))
		}
		in.Expiry.In = &d
	}
	if c.ExpiresAt != nil {
		t, err := apikey.ParseTime(*c.ExpiresAt)
		if err != nil {
			return in, apikey.Errorf(apikey.EINVALID, "%s: %s", apikey.Field("expiresAt"), apikey.ErrorMessage(err))
		}
		in.Expiry.At = &t
	}
	return in, nil
}

// createKey makes a key in the admin's tenant and answers 201 with its
// record and, this once, its secret.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, admin *apikey.Key, _ query) {
	var req createRequest
	if err := decodeJSON(r, &req, mediaJSON); err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := req.input(admin)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.svc.Create(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Committed: only now may the secret be sent.
	w.Header().Set("Location", listPath+"/"+c.Key.ID)
	writeJSON(w, http.StatusCreated, newKeyRecord(c.Key, c.Key.CreatedAt, c.Secret.String()))
}

// getKey answers one of the admin's tenant's keys; another tenant's is
// not found.
func (s *Server) getKey(w http.ResponseWriter, r *http.Request, admin *apikey.Key, _ query) {
	if _, err := s.confine(r, admin, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	k, now, err := s.svc.Get(r.Context(), admin.TenantID, r.PathValue("id"))
	s.answerKey(w, r, k, now, err)
}

// patchKey applies a JSON Patch of replace operations on /name and
// /description.
func (s *Server) patchKey(w http.ResponseWriter, r *http.Request, admin *apikey.Key, _ query) {
	ops, err := decodePatch(r)
	if err == nil {
		_, err = s.confine(r, admin, r.PathValue("id"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := apikey.UpdateInput{Actor: actor(admin)}
	for _, op := range ops {
		member, err := op.member([]string{"replace"}, []string{"name", "description"})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		val, err := op.value()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		text, ok := val.(string)
		switch {
		case member == "name" && ok:
			in.Name = &text
		case member == "description" && (ok || val == nil):
			in.Description = &text // null: no description
		default:
			s.fail(w, r, op.badValue("a string"))
			return
		}
	}
	k, now, err := s.svc.Update(r.Context(), admin.TenantID, r.PathValue("id"), in)
	s.answerKey(w, r, k, now, err)
}

// answerKey writes a key's record, or the error that stood in its way.
func (s *Server) answerKey(w http.ResponseWriter, r *http.Request, k *apikey.Key, now time.Time, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newKeyRecord(k, now, ""))
}
