package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"go.yaml.in/yaml/v3"

	"github.com/keyadm/keyadm/internal/cli"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// TestMain lets scripts run the real keyadm: the test binary becomes it
// when a script execs "keyadm". Only here can KEYADM_TEST_NOW set the clock.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"keyadm": func() {
			f := &cli.Factory{}
			if s := os.Getenv("KEYADM_TEST_NOW"); s != "" {
				now, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					fmt.Fprintln(os.Stderr, "bad KEYADM_TEST_NOW:", err)
					os.Exit(99)
				}
				f.Now = func() time.Time { return now }
			}
			// Processes racing in a test wait for one start time, so that
			// they overlap however long each took to start.
			if s := os.Getenv("KEYADM_TEST_START_AT"); s != "" {
				at, _ := strconv.ParseInt(s, 10, 64)
				time.Sleep(time.Until(time.Unix(0, at)))
			}
			os.Exit(cli.Main(f, os.Args[1:]))
		},
	})
}

// TestScripts runs testdata/script/*.txtar against SQLite.
func TestScripts(t *testing.T) {
	testscript.Run(t, params(t, "sqlite"))
}

// TestScriptsPostgres runs the same scripts against PostgreSQL, each in a
// fresh schema.
func TestScriptsPostgres(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip(storetest.PostgresSkipMessage)
	}
	testscript.Run(t, params(t, "postgres"))
}

func params(t *testing.T, engine string) testscript.Params {
	return testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("XDG_DATA_HOME", "")
			env.Setenv("XDG_CONFIG_HOME", "")
			env.Setenv("NO_COLOR", "")
			env.Setenv("KEYADM_ACTOR", "tester")
			env.Setenv("ENGINE", engine)
			env.Setenv("GOVERSION", runtime.Version())
			if engine == "postgres" {
				u, drop, err := storetest.NewSchema(os.Getenv(storetest.PostgresEnv))
				if err != nil {
					return err
				}
				env.Defer(drop)
				env.Setenv("KEYADM_DB", u)
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "sqlite", "postgres":
				return cond == engine, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"capture":  cmdCapture,
			"envfile":  cmdEnvfile,
			"field":    cmdField,
			"nosecret": cmdNosecret,
			"count":    cmdCount,
			"exits":    cmdExits,
		},
	}
}

// capture VAR REGEXP: set VAR to the first group (or the whole match) of
// REGEXP in the last stdout.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture VAR REGEXP")
	}
	re := regexp.MustCompile(args[1])
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if m == nil {
		ts.Fatalf("capture: no match for %q in stdout", args[1])
	}
	ts.Setenv(args[0], m[len(m)-1])
}

// envfile VAR FILE: write $VAR, with a newline, to FILE (to feed stdin).
func cmdEnvfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile VAR FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(ts.Getenv(args[0])+"\n"), 0o600))
}

// field FORMAT PATH VALUE: parse the last stdout as json, yaml or csv and
// check the value at PATH (dot-separated keys and indexes; for csv, the
// row index then the column name).
func cmdField(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: field json|yaml|csv PATH VALUE")
	}
	got, err := lookup(args[0], ts.ReadFile("stdout"), args[1])
	if err != nil {
		ts.Fatalf("field: %v", err)
	}
	if (got == args[2]) == neg {
		ts.Fatalf("field %s %s = %q, want %s%q", args[0], args[1], got, map[bool]string{true: "not ", false: ""}[neg], args[2])
	}
}

func lookup(format, text, path string) (string, error) {
	var doc any
	switch format {
	case "json":
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return "", fmt.Errorf("stdout is not JSON: %v", err)
		}
		if dec.More() {
			return "", fmt.Errorf("stdout holds more than one JSON value")
		}
	case "yaml":
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			return "", fmt.Errorf("stdout is not YAML: %v", err)
		}
	case "csv":
		rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil {
			return "", fmt.Errorf("stdout is not CSV: %v", err)
		}
		if len(rows) == 0 {
			return "", fmt.Errorf("no CSV header")
		}
		var recs []any
		for _, r := range rows[1:] {
			m := map[string]any{}
			for i, h := range rows[0] {
				m[h] = r[i]
			}
			recs = append(recs, m)
		}
		doc = recs
	default:
		return "", fmt.Errorf("unknown format %q", format)
	}
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		switch v := doc.(type) {
		case map[string]any:
			var ok bool
			if doc, ok = v[part]; !ok {
				return "", fmt.Errorf("no field %q", part)
			}
		case []any:
			if part == "len" {
				return strconv.Itoa(len(v)), nil
			}
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				return "", fmt.Errorf("no index %q in a list of %d", part, len(v))
			}
			doc = v[i]
		default:
			return "", fmt.Errorf("cannot index %T with %q", doc, part)
		}
	}
	switch v := doc.(type) {
	case nil:
		return "null", nil
	case string:
		return v, nil
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b), nil
	}
	return fmt.Sprint(doc), nil
}

// nosecret VAR PATH...: fail if $VAR appears in any file at PATH (a file,
// or every file below a folder).
func cmdNosecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: nosecret VAR PATH...")
	}
	secret := []byte(ts.Getenv(args[0]))
	if len(secret) < 20 {
		ts.Fatalf("nosecret: $%s is not a key", args[0])
	}
	checked := 0
	for _, p := range args[1:] {
		err := filepath.Walk(ts.MkAbs(p), func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			checked++
			if bytes.Contains(b, secret) {
				ts.Fatalf("the plaintext key is in %s", path)
			}
			return nil
		})
		ts.Check(err)
	}
	if checked == 0 {
		ts.Fatalf("nosecret: no files checked")
	}
}

// exits N CMD ARGS...: run CMD, which must exit with status N.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N CMD ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	ts.Logf("[exit status %d]", got)
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// count N REGEXP: the last stdout has exactly N lines matching REGEXP.
func cmdCount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: count N REGEXP")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	re := regexp.MustCompile(args[1])
	n := 0
	for _, line := range strings.Split(ts.ReadFile("stdout"), "\n") {
		if re.MatchString(line) {
			n++
		}
	}
	if n != want {
		ts.Fatalf("%d lines match %q, want %d", n, args[1], want)
	}
}
