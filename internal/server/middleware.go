package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// methods dispatches a path's requests by method; HEAD is answered where
// GET is. Any other method gets a JSON 405 naming the allowed ones.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := m[r.Method]
	if !ok && r.Method == http.MethodHead {
		h, ok = m[http.MethodGet]
	}
	if !ok {
		allowed := make([]string, 0, len(m))
		for method := range m {
			allowed = append(allowed, method)
		}
		slices.Sort(allowed)
		allow := strings.Join(allowed, ", ")
		w.Header().Set("Allow", allow)
		writeError(w, apikey.Errorf(codeMethodNotAllowed, "method %s not allowed here: want %s", methodLabel(r.Method), allow))
		return
	}
	h(w, r)
}

// requestInfo is what handlers tell the request log about a request.
type requestInfo struct {
	id      string // X-Request-Id: the client's, when sane, or a new UUID
	keyID   string // the key the request authenticated with
	outcome string // verify: valid or the rejection reason
}

type infoKey struct{}

// info returns the request's log record, which the middleware created.
func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// routeOf is the route pattern that served a request, for logs and metric
// labels: never the raw path, which a client could fill with anything.
func routeOf(r *http.Request) string {
	switch r.Pattern {
	case "", "/":
		return "unmatched"
	}
	return r.Pattern
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware wraps every request: the body limit, panic recovery, metrics
// and one log line. The log line holds the method, route, a scrubbed path,
// status, size, duration, client address and the authenticating key's id;
// never a header, a query string or a body.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inflight.Inc()
		defer s.metrics.inflight.Dec()
		ri := &requestInfo{id: requestID(r)}
		w.Header().Set(headerRequestID, ri.id)
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "route", routeOf(r), "panic", fmt.Sprint(v))
				if sw.status == 0 {
					s.fail(sw, r, apikey.Errorf(apikey.EINTERNAL, "internal error"))
				}
			}
			route, took := routeOf(r), time.Since(start)
			s.metrics.observe(route, r.Method, sw.status, took)
			attrs := []slog.Attr{
				slog.String("method", methodLabel(r.Method)),
				slog.String("route", route),
				slog.String("path", shorten(r.URL.Path, 200)),
				slog.Int("status", sw.status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("took", took),
				slog.String("remote", r.RemoteAddr),
				slog.String("request_id", ri.id),
			}
			if ri.keyID != "" {
				attrs = append(attrs, slog.String("key_id", ri.keyID))
			}
			if ri.outcome != "" {
				attrs = append(attrs, slog.String("outcome", ri.outcome))
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()
		if r.ContentLength > s.cfg.MaxBodyBytes {
			// Refused before a byte of it is read; the connection closes.
			w.Header().Set("Connection", "close")
			s.fail(sw, r, apikey.Errorf(codeTooLarge, "request body of %d bytes over the limit of %d bytes", r.ContentLength, s.cfg.MaxBodyBytes))
			return
		}
		// The server's own writer: past the limit it closes the connection.
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
	})
}

// headerRequestID names a request, in the request and in its answer.
const headerRequestID = "X-Request-Id"

// saneRequestID says whether a client's request id may be used: 1 to 128
// of [A-Za-z0-9._:-], short and safe to echo in a header and a log line.
// (Not a regexp: a counted {1,128} costs every process, serve or not, a
// fraction of a millisecond to compile at start.)
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestID is the request's own X-Request-Id when it gives one sane id,
// else a new random UUID.
func requestID(r *http.Request) string {
	if ids := r.Header.Values(headerRequestID); len(ids) == 1 && saneRequestID(ids[0]) {
		return ids[0]
	}
	return uuid.NewString()
}
