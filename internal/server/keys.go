package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Page sizes of GET /v1/api-keys.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// listParams is a parsed GET /v1/api-keys query.
type listParams struct {
	limit         int
	sort          apikey.Sort
	sortText      string
	status        apikey.Status
	createdByUser string
	sub           string
	after         string
	before        string
}

// listQuery names the parameters of GET /v1/api-keys.
var listQuery = []string{"limit", "sort", "status", "createdByUser", "sub", "startingAfter", "endingBefore"}

// sortFields maps the seed's sort names (and keyadm's own) to the domain's.
var sortFields = map[string]apikey.SortField{
	"created":       apikey.SortCreated,
	"createdByUser": apikey.SortCreatedBy,
	"sub":           apikey.SortOwner,
	"status":        apikey.SortStatus,
	"description":   apikey.SortDescription,
	"name":          apikey.SortName,
	"lastUsed":      apikey.SortLastUsed,
	"expires":       apikey.SortExpires,
}

// sortNames lists sortFields' names in the order the errors give them.
var sortNames = []string{"created", "createdByUser", "sub", "status", "description", "name", "lastUsed", "expires"}

// parseSort reads the seed's sort: a name with an optional + (ascending,
// the default) or - (descending). A + written as is in a query string
// arrives as a space (form encoding), and counts as the +: ?sort=+name is
// how the seed's documents write it.
func parseSort(v string) (apikey.Sort, error) {
	var s apikey.Sort
	name := v
	switch {
	case strings.HasPrefix(v, "-"):
		s.Desc, name = true, v[1:]
	case strings.HasPrefix(v, "+"), strings.HasPrefix(v, " "):
		name = v[1:]
	}
	f, ok := sortFields[name]
	if !ok {
		return s, paramError("sort", apikey.Errorf(apikey.EINVALID, "invalid sort %s: want one of %s, with + or - before it for ascending or descending", apikey.Quote(v), strings.Join(sortNames, ", ")))
	}
	s.Field = f
	return s, nil
}

func parseListParams(m query) (listParams, error) {
	p := listParams{limit: DefaultPageSize, sort: apikey.DefaultSort, sortText: "-created"}
	var err error
	if v, ok := m["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, paramError("limit", apikey.Errorf(apikey.EINVALID, "invalid limit %s: want a whole number from 1 to %d", apikey.Quote(v), MaxPageSize))
		}
		p.limit = n
	}
	if v, ok := m["sort"]; ok {
		if p.sort, err = parseSort(v); err != nil {
			return p, err
		}
		p.sortText = v
	}
	if v, ok := m["status"]; ok {
		if p.status, err = apikey.ParseStatus(v); err != nil {
			return p, paramError("status", err)
		}
	}
	p.createdByUser, p.sub = m["createdByUser"], m["sub"]
	// The Service checks the cursors (key ids, not both).
	p.after, p.before = m["startingAfter"], m["endingBefore"]
	return p, nil
}

// link is the absolute URL of the page with these parameters and the
// given cursor, on the path and host the request came by.
func (p listParams) link(r *http.Request, after, before string) *link {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(p.limit))
	q.Set("sort", p.sortText)
	if p.status != "" {
		q.Set("status", string(p.status))
	}
	if p.createdByUser != "" {
		q.Set("createdByUser", p.createdByUser)
	}
	if p.sub != "" {
		q.Set("sub", p.sub)
	}
	if after != "" {
		q.Set("startingAfter", after)
	}
	if before != "" {
		q.Set("endingBefore", before)
	}
	return &link{Href: baseURL(r) + r.URL.Path + "?" + q.Encode()}
}

// baseURL is the scheme and host a request was sent to.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// listKeys answers one page of the caller's tenant's keys (a caller
// without admin rights sees its own owner's only), with links to the
// pages on either side, absent where no key lies that way.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, c caller, q query) {
	p, err := parseListParams(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := apikey.KeyFilter{TenantID: c.key.TenantID, Status: p.status, OwnerID: p.sub, CreatedBy: p.createdByUser}
	if !c.admin {
		if p.sub != "" && p.sub != c.owner() {
			s.fail(w, r, apikey.Errorf(codeForbidden, "key %s may only list the keys of its own owner", c.key.ID))
			return
		}
		f.OwnerID = c.owner()
	}
	in := apikey.ListInput{Filter: f, Sort: p.sort, After: p.after, Before: p.before, Limit: p.limit}
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
	resp := listPage{Data: make([]keyRecord, 0, len(page.Keys)), Links: listLinks{Self: *p.link(r, p.after, p.before)}}
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
			resp.Links.Next = p.link(r, last, "")
		}
		if prev {
			resp.Links.Prev = p.link(r, "", first)
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

// input turns the request into the Service's input for the caller's
// tenant. The subject defaults to the caller's owner, as the seed's does
// to the requesting user; a caller without admin rights may name no other
// (see caller.confine).
func (req *createRequest) input(c caller) (apikey.CreateInput, error) {
	in := apikey.CreateInput{
		TenantID: c.key.TenantID, TeamID: req.TeamID, OwnerID: req.Sub, Name: req.Name,
		Description: req.Description, Permissions: req.Permissions, Metadata: req.Metadata,
		SubType: req.SubType, Actor: actor(c.key),
	}
	if in.Name == "" {
		in.Name = req.Description
	}
	if in.OwnerID == "" {
		in.OwnerID = c.owner()
	}
	if req.TenantID != "" && req.TenantID != c.key.TenantID {
		return in, apikey.Errorf(codeForbidden, "key %s may only create keys in tenant %q", c.key.ID, c.key.TenantID)
	}
	if err := c.confine(&in); err != nil {
		return in, err
	}
	// Only parsing is done here; the Service checks the expiry (longer
	// than zero, within policy).
	if req.Expiry != nil {
		d, err := apikey.ParseDuration(*req.Expiry)
		if err != nil {
			return in, pointerError("expiry", apikey.Errorf(apikey.EINVALID, "%s: %s", apikey.Field("expiry"), apikey.ErrorMessage(err)))
		}
		in.Expiry.In = &d
	}
	return in, nil
}

// createKey makes a key in the caller's tenant and answers 201 with its
// record and, this once, its secret as token.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, c caller, _ query) {
	var req createRequest
	if err := decodeJSON(r, &req, mediaJSON); err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := req.input(c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	made, err := s.svc.Create(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Committed: only now may the secret be sent.
	w.Header().Set("Location", r.URL.Path+"/"+made.Key.ID)
	writeJSON(w, http.StatusCreated, newKeyRecord(made.Key, made.Key.CreatedAt, made.Secret.String()))
}

// getKey answers one of the caller's tenant's keys; another tenant's is
// not found.
func (s *Server) getKey(w http.ResponseWriter, r *http.Request, c caller, _ query) {
	k, now, err := s.svc.Get(r.Context(), c.key.TenantID, r.PathValue("id"))
	if err == nil {
		err = c.mayManage(k)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newKeyRecord(k, now, ""))
}

// ownKey checks that the caller may manage the key the path names.
func (s *Server) ownKey(r *http.Request, c caller) error {
	if c.admin {
		return nil
	}
	k, _, err := s.svc.Get(r.Context(), c.key.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return c.mayManage(k)
}

// patchKey applies a JSON Patch of replace operations on /description
// (the seed's path) and /name, and answers 204.
func (s *Server) patchKey(w http.ResponseWriter, r *http.Request, c caller, _ query) {
	ops, err := decodePatch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in := apikey.UpdateInput{Actor: actor(c.key)}
	for _, op := range ops {
		member, err := op.member([]string{"replace"}, []string{"description", "name"})
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
	if err := s.ownKey(r, c); err != nil {
		s.fail(w, r, err)
		return
	}
	if _, _, err := s.svc.Update(r.Context(), c.key.TenantID, r.PathValue("id"), in); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteKey answers 204 once a key is gone: a caller with admin rights
// revokes it (its record stays), its owner deletes it, as the seed does.
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, c caller, _ query) {
	ids := []string{r.PathValue("id")}
	var err error
	if c.admin {
		_, _, err = s.svc.Revoke(r.Context(), c.key.TenantID, ids, "", actor(c.key))
	} else if err = s.ownKey(r, c); err == nil {
		_, err = s.svc.Delete(r.Context(), c.key.TenantID, ids, actor(c.key))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
