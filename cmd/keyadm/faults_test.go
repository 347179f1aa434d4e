package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store"
	"github.com/keyadm/keyadm/internal/store/sqlite"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// --- verification without the database ----------------------------------------------

// TestMalformedKeyNeedsNoDatabase: a key with a bad checksum is rejected
// as malformed by Check and Verify on a store that is closed, so the
// rejection cannot have read it; a well-formed key on the same closed
// store fails with a database error, which shows the store is unusable.
func TestMalformedKeyNeedsNoDatabase(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "keyadm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	svc := &apikey.Service{Store: st}
	c, err := svc.Create(ctx, apikey.CreateInput{Name: "k", Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.Close())
	good := c.Secret.String()
	last := good[len(good)-1:]
	bad := good[:len(good)-1] + map[bool]string{true: "1", false: "0"}[last == "0"]
	for _, key := range []string{bad, good[:len(good)-1], "qapi_", "hunter2"} {
		_, _, err := svc.Check(ctx, key)
		if apikey.ErrorCode(err) != apikey.EREJECTED || apikey.ErrorReason(err) != apikey.ReasonMalformed {
			t.Errorf("Check(%q) on a closed store: %v (code %q), want rejected as malformed", key, err, apikey.ErrorCode(err))
		}
		_, _, err = svc.Verify(ctx, "", key)
		if apikey.ErrorCode(err) != apikey.EREJECTED || apikey.ErrorReason(err) != apikey.ReasonMalformed {
			t.Errorf("Verify(%q) on a closed store: %v (code %q), want rejected as malformed", key, err, apikey.ErrorCode(err))
		}
	}
	if _, _, err := svc.Check(ctx, good); apikey.ErrorCode(err) == apikey.EREJECTED || err == nil {
		t.Fatalf("Check of a good key on a closed store: %v; the store is not closed", err)
	}
}

// TestVerifyLooksUpByHashOnly: verify finds a key by the SHA-256 of the
// whole key, in SQL, through the unique index: the --debug trace of every
// statement it runs shows no other lookup of api_keys, and no statement
// reads a stored hash back for a comparison in Go, where it could leak
// timing (docs/security.md).
func TestVerifyLooksUpByHashOnly(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			code, out, errOut := keyadm(db, "", "create", "-q", "--name", "k")
			if code != 0 {
				t.Fatal(errOut)
			}
			good := strings.TrimSpace(out)
			unknown := apikey.Secret{}
			for unknown.String() == "" || unknown.String() == good {
				var err error
				if unknown, err = apikey.GenerateSecret(nil, "qapi"); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				key  string
				code int
			}{{good, 0}, {unknown.String(), 5}} {
				code, _, trace := keyadm(db, c.key+"\n", "verify", "-q", "--debug")
				if code != c.code {
					t.Fatalf("verify: exit %d, want %d: %s", code, c.code, trace)
				}
				// The first statement on api_keys finds the key by the hash
				// of the secret alone; none reads a stored hash back; once
				// a key has matched, its id may be used (to record its use).
				statements := regexp.MustCompile(`msg=(?:query|exec) sql="([^"]*)"`).FindAllStringSubmatch(trace, -1)
				var keys []string
				for _, m := range statements {
					if strings.Contains(m[1], "api_keys") {
						keys = append(keys, m[1])
					}
				}
				if len(keys) == 0 || !regexp.MustCompile(`^SELECT .* WHERE k\.key_hash = \+?\?$`).MatchString(keys[0]) {
					t.Fatalf("verify does not start by looking the key up by its hash alone:\n%s", trace)
				}
				if c.code != 0 && len(keys) != 1 {
					t.Errorf("an unknown key led to %d statements on api_keys, want the one lookup:\n%s", len(keys), trace)
				}
				for _, q := range keys {
					if sel, _, _ := strings.Cut(q, " WHERE "); strings.Contains(sel, "key_hash") {
						t.Errorf("a statement reads stored hashes back: %s", q)
					}
					if q != keys[0] && !regexp.MustCompile(`WHERE (k\.)?id = \+?\?`).MatchString(q) {
						t.Errorf("after the match, a statement finds keys other than by id: %s", q)
					}
				}
			}
		})
	}
}

// --- text that validation would refuse, written by another tool ---------------------

// TestStoredControlCharacters: keyadm refuses control characters in names,
// descriptions and metadata (exit 2, nothing written), but the tables are
// shared with other tools; a name, description, owner, metadata and an
// audit actor holding escape sequences, put straight into the database,
// reach the terminal from no command's table output, nor from an error.
func TestStoredControlCharacters(t *testing.T) {
	db := filepath.Join(t.TempDir(), "keyadm.db")
	const esc = "\x1b[2J\x1b[31mowned\x1b]0;title\x07\u009b1m"
	createRefusesControlCharacters(t, db, esc)
	secrets, ids := seedControlCharacters(t, db, esc)

	commands := []struct {
		stdin string
		args  []string
		shows bool // stdout shows the stored text (sanitised)
	}{
		{"", []string{"list"}, true},
		{"", []string{"show", ids[0]}, true},
		{secrets[0].String() + "\n", []string{"verify"}, true},
		{"", []string{"update", ids[0], "--expires-in", "30d"}, true},
		{"", []string{"rotate", ids[0]}, true},
		{"", []string{"audit"}, true},
		{"", []string{"revoke", "--unused-for", "1d", "--dry-run"}, true},
		{"", []string{"revoke", ids[1], "--yes", "--reason", "r"}, true},
		{"", []string{"delete", ids[2], "--yes"}, true},
	}
	for _, c := range commands {
		code, out, errOut := keyadm(db, c.stdin, c.args...)
		if code != 0 && c.shows {
			t.Errorf("%v: exit %d: %q", c.args, code, errOut)
		}
		if c.shows && !strings.Contains(out, "owned") {
			t.Errorf("%v: the stored text is not shown at all: %q", c.args, out)
		}
		for _, stream := range []string{out, errOut} {
			if !strings.ContainsAny(stream, "\x1b\x07\u009b") {
				continue
			}
			if (c.args[0] == "revoke" || c.args[0] == "delete") && c.args[1] != "--unused-for" {
				// BUG (known, reported): revoke and delete print "Revoked
				// key ID (NAME)" with the stored name as it is
				// (internal/cli/destroy.go, printChanged).
				t.Errorf("%v: a control character reached the terminal: %q", c.args, stream)
				continue
			}
			t.Errorf("%v: a control character reached the terminal: %q", c.args, stream)
		}
	}
}

// createRefusesControlCharacters: a create with esc in its name,
// description, metadata or owner exits 2, prints nothing, echoes no escape,
// and makes no database.
func createRefusesControlCharacters(t *testing.T, db, esc string) {
	t.Helper()
	for _, args := range [][]string{
		{"create", "--name", esc},
		{"create", "--name", "n", "--description", esc},
		{"create", "--name", "n", "--meta", "note=" + esc},
		{"create", "--name", "n", "--owner", esc},
	} {
		code, out, errOut := keyadm(db, "", args...)
		if code != 2 || out != "" || strings.ContainsAny(errOut, "\x1b\x07\u009b") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing, and no escape", args, code, out, errOut)
		}
	}
	// Refused before the database was opened: not even the file exists.
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused create made the database: %v", err)
	}
}

// seedControlCharacters puts three keys straight into the database, two
// days old, with esc in every text, and a key.update event by esc; it
// returns their secrets and ids.
func seedControlCharacters(t *testing.T, db, esc string) ([]apikey.Secret, []string) {
	t.Helper()
	ctx := context.Background()
	// Two days old, so a sweep's dry run lists them too.
	st, err := store.Open(ctx, db, store.Options{Migrate: true, Now: func() time.Time { return time.Now().Add(-48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	secrets := make([]apikey.Secret, 3)
	ids := make([]string, 3)
	err = storetest.Seed(ctx, st, 3, func(i int, k *apikey.Key, _ []byte) []byte {
		secret, genErr := apikey.GenerateSecret(nil, "qapi")
		if genErr != nil {
			t.Fatal(genErr)
		}
		secrets[i], ids[i] = secret, k.ID
		owner, desc := esc, esc
		k.Name, k.OwnerID, k.TeamID, k.Description = fmt.Sprintf("%s-%d", esc, i), &owner, nil, &desc
		k.CreatedBy = esc
		k.Metadata = map[string]string{"note": esc}
		return secrets[i].Hash()
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx apikey.Tx) error {
		return tx.AppendEvent(&apikey.AuditEvent{Time: tx.Now(), Actor: esc, Action: apikey.ActionKeyUpdate, TenantID: apikey.DefaultTenant,
			KeyID: &ids[0], Details: map[string]any{"note": esc}})
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	return secrets, ids
}

// TestSecretToClosedPipe: a create whose reader has gone (keyadm create |
// true) does not die silently of SIGPIPE: it says which key to revoke.
func TestSecretToClosedPipe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	r, w, err := os.Pipe()
	must(t, err)
	must(t, r.Close())
	cmd := exec.Command("keyadm", "--db", db, "--actor", "tester", "create", "--name", "piped")
	cmd.Stdout = w
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	must(t, w.Close())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("create into a closed pipe: %v (want exit 1), stderr %q", err, stderr.String())
	}
	m := regexp.MustCompile(`\Akeyadm: key ([0-9a-f-]{36}) was created, but printing its secret failed \(write /dev/stdout: broken pipe\); nobody has the secret, so revoke the key: keyadm revoke ([0-9a-f-]{36})\n\z`).
		FindStringSubmatch(stderr.String())
	if m == nil || m[1] != m[2] {
		t.Fatalf("stderr %q", stderr.String())
	}
}
