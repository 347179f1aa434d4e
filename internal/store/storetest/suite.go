// Package storetest is the conformance suite every apikey.Store engine
// passes: behaviour is defined here once, and a second engine proves itself
// by passing the same tests.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// Clock is a settable clock shared by a test and its store.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at a fixed time.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Suite runs the conformance tests against an engine. Open returns a fresh,
// empty, migrated store using the given clock.
type Suite struct {
	Open func(t testing.TB, now func() time.Time) apikey.Store
}

// env is what each test gets: a service on a fresh store, and its clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *Clock
	store apikey.Store
	svc   *apikey.Service
}

func (s *Suite) env(t *testing.T) *env {
	clock := NewClock()
	st := s.Open(t, clock.Now)
	return &env{t: t, ctx: context.Background(), clock: clock, store: st, svc: &apikey.Service{Store: st}}
}

// RunTests runs every Test method of the suite as a subtest.
func (s *Suite) RunTests(t *testing.T) { runMethods(s, "Test", t) }

// runMethods runs each method of s named prefix… as a subtest or
// sub-benchmark of t, named without the prefix.
func runMethods[T interface{ Run(string, func(T)) bool }](s *Suite, prefix string, t T) {
	v := reflect.ValueOf(s)
	typ := v.Type()
	for i := 0; i < typ.NumMethod(); i++ {
		m := typ.Method(i)
		if !strings.HasPrefix(m.Name, prefix) {
			continue
		}
		t.Run(strings.TrimPrefix(m.Name, prefix), func(t T) {
			v.Method(i).Call([]reflect.Value{reflect.ValueOf(t)})
		})
	}
}

// create makes a key or fails the test.
func (e *env) create(in apikey.CreateInput) *apikey.Created {
	e.t.Helper()
	if in.Name == "" {
		in.Name = "k"
	}
	if in.Actor == "" {
		in.Actor = "tester"
	}
	c, err := e.svc.Create(e.ctx, in)
	if err != nil {
		e.t.Fatalf("create %+v: %v", in, err)
	}
	return c
}

func (e *env) setConfig(tenant, name, value string) {
	e.t.Helper()
	if _, err := e.svc.SetConfig(e.ctx, tenant, name, value, "tester"); err != nil {
		e.t.Fatalf("config set %s %s=%s: %v", tenant, name, value, err)
	}
}

func (e *env) events(q apikey.EventQuery) []*apikey.AuditEvent {
	e.t.Helper()
	var out []*apikey.AuditEvent
	if err := e.svc.Events(e.ctx, q, func(ev *apikey.AuditEvent) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		e.t.Fatalf("events: %v", err)
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := apikey.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func asError(err error, target **apikey.Error) bool { return errors.As(err, target) }

// Migrated finishes an engine's Open for a test: it fails the test on the
// open's error, closes the store when the test ends, gives it the clock and
// migrates it.
func Migrated(t testing.TB, db *sqlstore.DB, err error, now func() time.Time) *sqlstore.DB {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = now
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}
