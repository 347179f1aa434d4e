package store

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:hunter2@db:5432/keys":                 "postgres://u:xxxxx@db:5432/keys",
		"postgres://u@db/keys?sslmode=disable":              "postgres://u@db/keys?sslmode=disable",
		"postgresql://db/keys?password=hunter2&sslmode=off": "postgresql://db/keys?password=xxxxx&sslmode=off",
		"/var/lib/keyadm/keys.db":                           "/var/lib/keyadm/keys.db",
		"sqlite:///tmp/k.db":                                "sqlite:///tmp/k.db",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(Redact(in), "hunter2") {
			t.Errorf("Redact(%q) leaks the password", in)
		}
	}
	if got := Redact("postgres://u:hunter2@db:%zz/keys"); strings.Contains(got, "hunter2") {
		t.Errorf("an unparsable URL leaks the password: %q", got)
	}
}
