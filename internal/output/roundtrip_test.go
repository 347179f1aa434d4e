package output_test

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// hostile are strings a name, a description or a metadata value may hold
// (the last ones only when written to the database by something other
// than keyadm, whose validation refuses control characters).
var hostile = []string{
	"plain", "", "fmt, \"quoted\"", "it's", `"`, `""`, ",", "a,b,c", "semi;colon",
	"=1+1", "+SUM(A1)", "-2", "@cmd", "=HYPERLINK(\"http://evil.example\",\"click\")", "'=already quoted",
	"\tlead tab", "\rlead cr", " lead space", "trail space ", "line\nbreak", "crlf\r\nbreak", "\n", "\r\n",
	"\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "\u009b31m", "nul\x00byte", "\x7f",
	"مفتاح الخدمة", "שלום", "\u202eevil\u202c", "\u200fmark", "🔑", "👩‍💻 dev", "e\u0301", "\ufeffbom", "\u2028\u2029",
	"null", "~", "yes", "no", "true", "0x1F", "1e3", "0o17", ".inf", "- item", "key: value", "# comment",
	"{}", "[]", "&anchor", "*alias", "!tag", "|", ">", "%TAG", "---", "...", "<<",
	strings.Repeat("long ", 30),
}

// FuzzOutputRoundTrip: a key written with output.One and output.List as
// JSON, YAML and CSV parses back to the same fields, whatever its name,
// description, owner and metadata hold. CSV cells that a spreadsheet would
// run as a formula come back with the leading ' the OWASP rule adds, and
// encoding/csv reads a CR LF inside a quoted cell back as LF (the bytes
// written are right; the Go reader normalises them).
func FuzzOutputRoundTrip(f *testing.F) {
	for i, s := range hostile {
		f.Add(s, hostile[(i+1)%len(hostile)], hostile[(i+7)%len(hostile)], "env", hostile[(i+3)%len(hostile)])
	}
	f.Add("n", "d", "o", "odd key, with \"quotes\"", "v")
	f.Add("n", "d", "o", "", "")
	f.Fuzz(func(t *testing.T, name, desc, owner, metaKey, metaValue string) {
		for _, s := range []string{name, desc, owner, metaKey, metaValue} {
			if !utf8.ValidString(s) {
				// Not text: validation refuses it and PostgreSQL cannot
				// store it, and JSON has no way to carry it.
				t.Skip()
			}
		}
		rec := record(name, desc, owner, metaKey, metaValue, "")
		roundTrip(t, output.KeyDetail, rec)
		roundTrip(t, output.NewKey, record(name, desc, owner, metaKey, metaValue, "qapi_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7yEeeby3abP34Oxo48"))
	})
}

var (
	created = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	now     = created.Add(36 * time.Hour)
)

// record makes a revoked, used, rotated key with every optional field set
// from the strings given (or null where one is empty).
func record(name, desc, owner, metaKey, metaValue, secret string) output.KeyRecord {
	expires, revoked, used := created.Add(90*24*time.Hour), created.Add(time.Hour), created.Add(time.Minute)
	k := &apikey.Key{
		ID: "01a2170c-fc0f-7e5d-900b-0013abe1f0c2", TenantID: "acme", TeamID: optional(owner), OwnerID: optional(owner),
		Name: name, Description: optional(desc), Permissions: []string{"read", "billing:write"}, Hint: "qapi_BVjK",
		CreatedAt: created, CreatedBy: owner, UpdatedAt: revoked, ExpiresAt: &expires, RevokedAt: &revoked,
		RevokedBy: optional(name), RevokeReason: optional(desc), LastUsedAt: &used,
		Metadata:    map[string]string{metaKey: metaValue, "name": name},
		RotatedFrom: optional("01a2170c-fc0f-7e5d-900b-0013abe1f0c1"),
	}
	return output.NewKeyRecord(k, now, secret)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// roundTrip writes rec alone (One) and in a list of two (List) in each
// machine format, and parses each back.
func roundTrip(t *testing.T, view output.View[output.KeyRecord], rec output.KeyRecord) {
	t.Helper()
	secret := ""
	if rec.Key != nil {
		secret = *rec.Key
	}
	other := record("other", "", "", "k", "v", secret)
	for _, format := range []output.Format{output.JSON, output.YAML, output.CSV} {
		one := write(t, format, func(p *output.Printer) error { return output.One(p, view, rec) })
		got := parse(t, format, one, true)
		if len(got) != 1 {
			t.Fatalf("%s One: %d records back\n%s", format, len(got), one)
		}
		compare(t, format, "One", got[0], rec, one)

		list := write(t, format, func(p *output.Printer) error {
			l := output.NewList(p, view)
			for _, r := range []output.KeyRecord{rec, other} {
				if err := l.Add(r); err != nil {
					return err
				}
			}
			return l.Close()
		})
		got = parse(t, format, list, false)
		if len(got) != 2 {
			t.Fatalf("%s List: %d records back, want 2\n%s", format, len(got), list)
		}
		compare(t, format, "List", got[0], rec, list)
		compare(t, format, "List", got[1], other, list)
	}
}

func write(t *testing.T, format output.Format, fn func(*output.Printer) error) string {
	t.Helper()
	io, out, _ := output.Test("")
	if err := fn(&output.Printer{IO: io, Format: format}); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return out.String()
}

func parse(t *testing.T, format output.Format, text string, single bool) []output.KeyRecord {
	t.Helper()
	var recs []output.KeyRecord
	var err error
	switch format {
	case output.JSON:
		if single {
			var r output.KeyRecord
			err = strictJSON(text, &r)
			recs = append(recs, r)
		} else {
			err = strictJSON(text, &recs)
		}
	case output.YAML:
		if single {
			var r output.KeyRecord
			err = yaml.Unmarshal([]byte(text), &r)
			recs = append(recs, r)
		} else {
			err = yaml.Unmarshal([]byte(text), &recs)
		}
	case output.CSV:
		recs, err = parseCSV(text)
	}
	if err != nil {
		t.Fatalf("%s output does not parse: %v\n%s", format, err, text)
	}
	return recs
}

func strictJSON(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// parseCSV reads CSV written from KeyRecords back into KeyRecords, by
// header name; an empty cell is null.
func parseCSV(text string) ([]output.KeyRecord, error) {
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		return nil, err
	}
	var recs []output.KeyRecord
	for _, row := range rows[1:] {
		var r output.KeyRecord
		for i, h := range rows[0] {
			cell := row[i]
			opt := optional(cell)
			switch h {
			case "id":
				r.ID = cell
			case "tenantId":
				r.TenantID = cell
			case "teamId":
				r.TeamID = opt
			case "ownerId":
				r.OwnerID = opt
			case "name":
				r.Name = cell
			case "description":
				r.Description = opt
			case "permissions":
				r.Permissions = strings.Fields(cell)
			case "hint":
				r.Hint = cell
			case "status":
				r.Status = apikey.Status(cell)
			case "createdAt":
				r.CreatedAt = cell
			case "createdBy":
				r.CreatedBy = cell
			case "updatedAt":
				r.UpdatedAt = cell
			case "expiresAt":
				r.ExpiresAt = opt
			case "revokedAt":
				r.RevokedAt = opt
			case "revokedBy":
				r.RevokedBy = opt
			case "revokeReason":
				r.RevokeReason = opt
			case "lastUsedAt":
				r.LastUsedAt = opt
			case "metadata":
				if err := json.Unmarshal([]byte(cell), &r.Metadata); err != nil {
					return nil, err
				}
			case "rotatedFrom":
				r.RotatedFrom = opt
			case "disabledAt":
				r.DisabledAt = opt
			case "key":
				r.Key = opt
			case "rateLimits":
				r.RateLimits = strings.Fields(cell)
			case "allowIps":
				r.AllowIPs = strings.Fields(cell)
			case "useCount":
				if r.UseCount, err = strconv.ParseInt(cell, 10, 64); err != nil {
					return nil, err
				}
			case "usesRemaining", "refill", "refillsAt":
				if cell != "" {
					return nil, fmt.Errorf("column %s: %q for a key without credits", h, cell)
				}
			default:
				return nil, fmt.Errorf("unknown CSV column %q", h)
			}
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// compare checks every exported field of got against want; for CSV, want
// passes through the OWASP rule and the reader's CR LF normalisation.
func compare(t *testing.T, format output.Format, how string, got, want output.KeyRecord, text string) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	typ := gv.Type()
	for i := 0; i < typ.NumField(); i++ {
		field := typ.Field(i)
		if !field.IsExported() {
			continue
		}
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if format == output.CSV {
			w = asCSVCell(w)
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s %s: %s = %s, want %s\n%s", format, how, field.Name, show(g), show(w), text)
		}
	}
}

// show formats a field's value for a message, following pointers.
func show(v any) string {
	if p, ok := v.(*string); ok {
		if p == nil {
			return "null"
		}
		return fmt.Sprintf("%q", *p)
	}
	return fmt.Sprintf("%#v", v)
}

// asCSVCell is what a CSV reader gets back for a string field: the value
// with a ' before a leading = + - @ tab or CR, and CR LF read as LF.
func asCSVCell(v any) any {
	cell := func(s string) string {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			s = "'" + s
		}
		return strings.ReplaceAll(s, "\r\n", "\n")
	}
	switch v := v.(type) {
	case string:
		return cell(v)
	case *string:
		if v == nil {
			return v
		}
		s := cell(*v)
		return &s
	case apikey.Status:
		return apikey.Status(cell(string(v)))
	}
	// Permissions are scopes (no space) and metadata is a JSON cell,
	// which never starts with a formula character.
	return v
}

// TestCSVFormulaInjection: the OWASP rule, cell by cell, and only at the
// start of a cell.
func TestCSVFormulaInjection(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1":            "'=1+1",
		"+1":              "'+1",
		"-1":              "'-1",
		"@SUM(A1:A2)":     "'@SUM(A1:A2)",
		"\tx":             "'\tx",
		"\rx":             "'\rx",
		"a=1":             "a=1",
		"'=1":             "'=1",
		" =1":             " =1",
		"billing-sync":    "billing-sync",
		"":                "",
		"＝1 (full width)": "＝1 (full width)",
	} {
		rec := record(in, "", "", "k", "v", "")
		text := write(t, output.CSV, func(p *output.Printer) error { return output.One(p, output.KeyDetail, rec) })
		rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil {
			t.Fatalf("%q: %v\n%s", in, err, text)
		}
		name := -1
		for i, h := range rows[0] {
			if h == "name" {
				name = i
			}
		}
		if got := rows[1][name]; got != want {
			t.Errorf("name %q is written as %q, want %q", in, got, want)
		}
	}
}

// TestMachineFormatsKeepText: JSON and YAML carry hostile text exactly, so
// the OWASP rule is only CSV's; a quick check outside the fuzzer's seeds.
func TestMachineFormatsKeepText(t *testing.T) {
	rec := record("=1+1", "-rm", "@o", "k", "+v", "")
	for _, format := range []output.Format{output.JSON, output.YAML} {
		text := write(t, format, func(p *output.Printer) error { return output.One(p, output.KeyDetail, rec) })
		if strings.Contains(text, "'=1+1") {
			t.Errorf("%s changed the name:\n%s", format, text)
		}
	}
}

// TestYAMLQuotesWhatOtherReadersMisread: strings a YAML 1.1 reader (PyYAML)
// would take for booleans or numbers, and strings with line breaks or tabs,
// are double-quoted; plain text stays plain.
func TestYAMLQuotesWhatOtherReadersMisread(t *testing.T) {
	for in, want := range map[string]string{
		"no":         `name: "no"`,
		"on":         `name: "on"`,
		"Y":          `name: "Y"`,
		"1:20":       `name: "1:20"`,
		"true":       `name: "true"`,
		"012":        `name: "012"`,
		"\t\n":       `name: "\t\n"`,
		"two\nlines": `name: "two\nlines"`,
		"billing":    `name: billing`,
	} {
		text := write(t, output.YAML, func(p *output.Printer) error {
			return output.One(p, output.KeyDetail, record(in, "", "", "k", "v", ""))
		})
		if !strings.Contains(text, "\n"+want+"\n") {
			t.Errorf("name %q: no line %s in\n%s", in, want, text)
		}
	}
}
