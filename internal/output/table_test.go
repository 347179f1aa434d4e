package output

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// keysToFit are keys whose free text is far wider than a terminal: plain
// letters, wide CJK characters and emoji (two cells each).
func keysToFit(now time.Time) []KeyRecord {
	names := []string{
		strings.Repeat("n", 100),
		strings.Repeat("日本語", 20),
		strings.Repeat("🔑", 40),
		"short",
	}
	var out []KeyRecord
	for i, n := range names {
		k := &apikey.Key{
			ID: "01a228cf-55f3-7236-9101-52802e04cf7" + string(rune('0'+i)), TenantID: strings.Repeat("テナント", 10),
			Name: n, Permissions: []string{"read", "write", "billing:refunds:create"}, Hint: "qapi_AbCd",
			CreatedAt: now.Add(-time.Hour), UpdatedAt: now,
		}
		out = append(out, NewKeyRecord(k, now, ""))
	}
	return out
}

// TestTableFitsTerminal: however long the names, a list is no wider than
// the width IOStreams reports, measured in terminal cells; cut cells end
// in "…", and the columns that always stay do.
func TestTableFitsTerminal(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, width := range []int{40, 60, 80, 120} {
		for _, color := range []bool{false, true} {
			io, out, _ := Test("")
			io.SetTTY(false, true, width)
			if !color {
				io.DisableColor()
			}
			list := NewList(&Printer{IO: io, Format: Table}, KeyList)
			for _, r := range keysToFit(now) {
				if err := list.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := list.Close(); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if color != strings.Contains(text, "\x1b[") {
				t.Errorf("width %d: colour %v, output %q", width, color, text)
			}
			lines := strings.Split(strings.TrimSuffix(ansi.ReplaceAllString(text, ""), "\n"), "\n")
			if len(lines) != 5 {
				t.Fatalf("width %d: %d lines, want a header and 4 rows:\n%s", width, len(lines), text)
			}
			for _, l := range lines {
				if w := DisplayWidth(l); w > width {
					t.Errorf("width %d: a line of %d cells: %q", width, w, l)
				}
			}
			header := strings.Join(strings.Fields(lines[0]), " ")
			for _, h := range []string{"ID", "NAME", "STATUS"} {
				if !strings.Contains(header, h) {
					t.Errorf("width %d: header %q lacks %s", width, header, h)
				}
			}
			if !strings.Contains(lines[1], "…") || !strings.Contains(lines[4], "short") {
				t.Errorf("width %d: long names not cut or short one cut:\n%s", width, text)
			}
			if width >= 80 && !strings.Contains(lines[1], "01a228cf-55f3-7236-9101-52802e04cf70") {
				t.Errorf("width %d: the id is cut while names could be:\n%s", width, text)
			}
		}
	}
}

// TestWholeValuesElsewhere: without a width, and in show and JSON at any
// width, every value is whole.
func TestWholeValuesElsewhere(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	long := keysToFit(now)[1]
	for _, tc := range []struct {
		width  int
		format Format
		one    bool
	}{{0, Table, false}, {40, Table, true}, {40, JSON, false}, {40, YAML, true}, {40, CSV, false}} {
		io, out, _ := Test("")
		io.SetTTY(false, true, tc.width)
		p := &Printer{IO: io, Format: tc.format}
		if tc.one {
			if err := One(p, KeyDetail, long); err != nil {
				t.Fatal(err)
			}
		} else {
			list := NewList(p, KeyList)
			_ = list.Add(long)
			if err := list.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.Contains(out.String(), long.Name) {
			t.Errorf("%+v: name not whole:\n%s", tc, out.String())
		}
	}
}

// TestColumns: COLUMNS, when a positive number, is the width; anything
// else leaves it to the terminal.
func TestColumns(t *testing.T) {
	term := func() int { return 132 }
	for env, want := range map[string]int{"80": 80, "40": 40, "": 132, "0": 132, "-3": 132, "wide": 132, "80x": 132} {
		if got := columns(env, term); got != want {
			t.Errorf("COLUMNS=%q: width %d, want %d", env, got, want)
		}
	}
}
