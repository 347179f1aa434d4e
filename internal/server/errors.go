package server

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Codes of failures that only HTTP has. They ride in apikey.Error like the
// domain's own codes, so that one table below turns every code into a
// status.
const (
	codeForbidden        = apikey.EFORBIDDEN
	codeMethodNotAllowed = "method_not_allowed"
	codeTooLarge         = "too_large"
	codeMediaType        = "unsupported_media_type"
	// reasonMissing is the rejection reason of a request without a key.
	reasonMissing = "missing"
)

// statusOf is the one place where error codes become HTTP statuses. A
// policy refusal is 422: the request is well formed and authorised, but the
// tenant's policy will not have it; 403 stays for authorisation alone.
var statusOf = map[string]int{
	apikey.EINVALID:      http.StatusBadRequest,
	apikey.EREJECTED:     http.StatusUnauthorized,
	codeForbidden:        http.StatusForbidden,
	apikey.ENOTFOUND:     http.StatusNotFound,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	apikey.ECONFLICT:     http.StatusConflict,
	codeTooLarge:         http.StatusRequestEntityTooLarge,
	codeMediaType:        http.StatusUnsupportedMediaType,
	apikey.EPOLICY:       http.StatusUnprocessableEntity,
	apikey.EINTERNAL:     http.StatusInternalServerError,
	apikey.EUNAVAILABLE:  http.StatusServiceUnavailable,
	codeTooManyFailures:  http.StatusTooManyRequests,
	codeAdminRateLimited: http.StatusTooManyRequests,
}

// reasonStatus are the rejections that are not 401: the key is good, but
// what it asks is beyond it (403), or its limits refuse the request.
var reasonStatus = map[string]int{
	apikey.ReasonInsufficient:  http.StatusForbidden,
	apikey.ReasonRateLimited:   http.StatusTooManyRequests,
	apikey.ReasonUsageExceeded: http.StatusTooManyRequests,
	apikey.ReasonIPNotAllowed:  http.StatusForbidden,
}

// titles name each code for people; the detail says what happened.
var titles = map[string]string{
	apikey.EINVALID:            "Invalid request",
	reasonMissing:              "Key missing",
	apikey.ReasonMalformed:     "Key malformed",
	apikey.ReasonUnknown:       "Key unknown",
	apikey.ReasonRevoked:       "Key revoked",
	apikey.ReasonExpired:       "Key expired",
	apikey.ReasonDisabled:      "Key disabled",
	apikey.ReasonInsufficient:  "Insufficient permissions",
	codeForbidden:              "Forbidden",
	apikey.ENOTFOUND:           "Not found",
	codeMethodNotAllowed:       "Method not allowed",
	apikey.ECONFLICT:           "Conflict",
	codeTooLarge:               "Request body too large",
	codeMediaType:              "Unsupported media type",
	apikey.EPOLICY:             "Refused by policy",
	apikey.EINTERNAL:           "Internal error",
	apikey.EUNAVAILABLE:        "Service unavailable",
	apikey.ReasonIPNotAllowed:  "Client address not allowed",
	apikey.ReasonRateLimited:   "Rate limit exceeded",
	apikey.ReasonUsageExceeded: "No uses left",
	codeTooManyFailures:        "Too many failed verifications",
	codeAdminRateLimited:       "Admin API rate limit exceeded",
}

// describe turns an error into its status and the problem shown for it. A
// rejection's code is its reason (malformed, unknown, revoked, …). Server
// failures get a generic detail: their causes (a database host, a driver
// message) are for the log, not for clients.
func describe(err error) (int, problem) {
	code := apikey.ErrorCode(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		code = apikey.EUNAVAILABLE
	}
	status, ok := statusOf[code]
	if !ok {
		code, status = apikey.EINTERNAL, http.StatusInternalServerError
	}
	// Messages quote input; a key pasted where it does not belong stays out.
	detail := apikey.RedactSecrets(worded(err))
	var meta map[string]any
	switch code {
	case apikey.EREJECTED:
		code = apikey.ErrorReason(err)
		if st, ok := reasonStatus[code]; ok {
			// The key is good; what it asks is beyond it or its limits.
			status, meta = st, errorMeta(err)
		}
	case apikey.EINTERNAL:
		detail = "internal error; the server log has the cause"
	case apikey.EUNAVAILABLE:
		detail = "the database is unavailable; try again later"
	}
	title := titles[code]
	if title == "" {
		title = http.StatusText(status)
	}
	p := problem{Code: code, Title: title, Detail: detail, Status: status, Meta: map[string]any{}}
	maps.Copy(p.Meta, meta)
	var src *sourced
	if errors.As(err, &src) {
		p.Source = &src.source
	}
	return status, p
}

// errorMeta is an application error's Meta, or nil.
func errorMeta(err error) map[string]any {
	var e *apikey.Error
	if errors.As(err, &e) {
		return e.Meta
	}
	return nil
}

// sourced is an error that knows the query parameter or body member at
// fault, for the error object's source.
type sourced struct {
	error
	source problemSource
}

func (e *sourced) Unwrap() error { return e.error }

// paramError marks err as the fault of a query parameter.
func paramError(name string, err error) error {
	return &sourced{err, problemSource{Parameter: name}}
}

// pointerError marks err as the fault of a top-level body member.
func pointerError(member string, err error) error {
	return &sourced{err, problemSource{Pointer: "/" + member}}
}

// worded is err's message with each field it names worded as the API
// names it (memberName).
func worded(err error) string {
	var e *apikey.Error
	if errors.As(err, &e) {
		return e.Worded(memberName)
	}
	return apikey.ErrorMessage(err)
}

// fail writes err as an error response, and logs the cause of a 5xx.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if status := writeError(w, err); status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "route", routeOf(r), "err", err)
	}
}

// writeError writes err as an error response and returns its status.
func writeError(w http.ResponseWriter, err error) int {
	status, p := describe(err)
	if id := w.Header().Get(headerRequestID); id != "" {
		p.Meta["requestId"] = id
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="keyadm"`)
	}
	writeJSON(w, status, errorBody{Errors: []problem{p}})
	return status
}

// writeJSON writes v as the response body. Responses may hold a secret (a
// new key), so no cache may keep them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // links keep their & readable
	_ = enc.Encode(v)
}
