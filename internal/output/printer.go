package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Format is an output format.
type Format string

const (
	Table Format = "table"
	JSON  Format = "json"
	YAML  Format = "yaml"
	CSV   Format = "csv"
)

// ParseFormat parses -o.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Table, JSON, YAML, CSV:
		return f, nil
	}
	return "", apikey.Errorf(apikey.EINVALID, "invalid output format %s: want table, json, yaml or csv", apikey.Quote(s))
}

// Printer writes results in the chosen format.
type Printer struct {
	IO     *IOStreams
	Format Format
	Quiet  bool
}

// Column is one table column: a header, a cell, and a priority; when the
// terminal is too narrow, the lowest priorities go first.
type Column[V any] struct {
	Header   string
	Priority int
	// FreeText marks a column of text people chose (a name, a tenant): on a
	// narrow terminal it is cut to freeTextWidth before any column is
	// dropped, and further when the table still does not fit.
	FreeText bool
	Cell     func(V) string
	// Color returns an ANSI colour code for the cell, or "".
	Color func(V) string
}

// View describes how a kind of record is written in every format.
type View[V any] struct {
	Columns   []Column[V]
	CSVHeader []string
	CSVRecord func(V) []string
	// Quiet is what -q prints of a record, or nil to print nothing.
	Quiet func(V) string
}

// List writes records one by one, streaming in every format but table.
// A CSV cell starting with = + - @, a tab or a carriage return gets a
// leading ' (the OWASP rule against formula injection); table cells have
// their control characters replaced (see Sanitize).
type List[V any] struct {
	p     *Printer
	view  View[V]
	csv   *csvWriter
	rows  []V
	count int
}

// NewList starts a list.
func NewList[V any](p *Printer, view View[V]) *List[V] {
	return &List[V]{p: p, view: view}
}

// Add writes one record.
func (l *List[V]) Add(v V) error {
	l.count++
	out := l.p.IO.Out
	if l.p.Quiet {
		if l.view.Quiet != nil {
			_, err := fmt.Fprintln(out, l.view.Quiet(v))
			return err
		}
		return nil
	}
	switch l.p.Format {
	case JSON:
		prefix := ",\n"
		if l.count == 1 {
			prefix = "[\n"
		}
		b, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s  %s", prefix, b)
		return err
	case YAML:
		return writeYAML(out, []V{v})
	case CSV:
		if l.csv == nil {
			l.csv = newCSVWriter(out)
			if err := l.csv.Write(l.view.CSVHeader); err != nil {
				return err
			}
		}
		if err := l.csv.Write(l.view.CSVRecord(v)); err != nil {
			return err
		}
		if l.count%256 == 0 {
			l.csv.Flush()
		}
		return l.csv.Error()
	}
	l.rows = append(l.rows, v)
	return nil
}

// Close ends the list.
func (l *List[V]) Close() error {
	out := l.p.IO.Out
	if l.p.Quiet {
		return nil
	}
	switch l.p.Format {
	case JSON:
		if l.count == 0 {
			_, err := fmt.Fprintln(out, "[]")
			return err
		}
		_, err := fmt.Fprintln(out, "\n]")
		return err
	case YAML:
		if l.count == 0 {
			_, err := fmt.Fprintln(out, "[]")
			return err
		}
		return nil
	case CSV:
		if l.csv == nil {
			l.csv = newCSVWriter(out)
			if err := l.csv.Write(l.view.CSVHeader); err != nil {
				return err
			}
		}
		l.csv.Flush()
		return l.csv.Error()
	}
	return table(l.p, l.view.Columns, l.rows)
}

// Count is how many records were added.
func (l *List[V]) Count() int { return l.count }

// One writes a single record: an object in JSON and YAML, a header and a
// row in CSV, and field-value lines in a table. As in List, CSV cells that
// a spreadsheet would run as a formula get a leading ', and table cells
// have their control characters replaced.
func One[V any](p *Printer, view View[V], v V) error {
	out := p.IO.Out
	if p.Quiet {
		if view.Quiet != nil {
			_, err := fmt.Fprintln(out, view.Quiet(v))
			return err
		}
		return nil
	}
	switch p.Format {
	case JSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case YAML:
		return writeYAML(out, v)
	case CSV:
		w := newCSVWriter(out)
		_ = w.Write(view.CSVHeader)
		_ = w.Write(view.CSVRecord(v))
		w.Flush()
		return w.Error()
	}
	return fields(p, view.Columns, v)
}

// fields writes one record as aligned "Header  value" lines, every column
// whatever the width.
func fields[V any](p *Printer, cols []Column[V], v V) error {
	rows := make([][]string, 0, len(cols))
	for _, c := range cols {
		rows = append(rows, []string{titleCase(c.Header) + ":", cell(p, c, v)})
	}
	return p.render(nil, rows)
}

// table writes records as columns fitted to the terminal width: cells cut
// to fit end in "…"; the other formats and show keep the whole value.
func table[V any](p *Printer, cols []Column[V], records []V) error {
	if len(records) == 0 {
		return nil
	}
	plain := make([][]string, len(records))
	for i, r := range records {
		for _, c := range cols {
			plain[i] = append(plain[i], Sanitize(c.Cell(r)))
		}
	}
	keep, widths := fit(cols, plain, p.IO.TerminalWidth())
	header := make([]string, len(keep))
	for j, i := range keep {
		header[j] = Truncate(cols[i].Header, widths[j])
	}
	rows := make([][]string, len(records))
	for r := range records {
		for j, i := range keep {
			rows[r] = append(rows[r], colored(p, cols[i], records[r], Truncate(plain[r][i], widths[j])))
		}
	}
	return p.render(header, rows)
}

// Widths a table may cut its columns to: free text keeps freeTextWidth
// cells while columns are dropped; on a terminal too narrow for the columns
// that always stay, every column may go down to minWidth.
const (
	freeTextWidth = 20
	minWidth      = 4
)

// fit chooses the columns to show in width (0: any width) and how wide each
// is: it drops the lowest-priority columns until the rest fit with their
// free text cut to freeTextWidth, then shares what room is left, cutting
// the widest cells first. It returns the indexes of the columns kept and
// their widths.
func fit[V any](cols []Column[V], rows [][]string, width int) (keep, widths []int) {
	natural := make([]int, len(cols))
	for i, c := range cols {
		natural[i] = DisplayWidth(c.Header)
		for _, r := range rows {
			natural[i] = max(natural[i], DisplayWidth(r[i]))
		}
	}
	soft := make([]int, len(cols)) // the width while columns are dropped
	for i, c := range cols {
		soft[i] = natural[i]
		if c.FreeText {
			soft[i] = min(natural[i], freeTextWidth)
		}
	}
	for i := range cols {
		keep = append(keep, i)
	}
	pick := func(w []int) []int {
		out := make([]int, len(keep))
		for j, i := range keep {
			out[j] = w[i]
		}
		return out
	}
	if width <= 0 {
		return keep, pick(natural)
	}
	for sum(pick(soft))+colGap*(len(keep)-1) > width {
		drop := -1
		for j, i := range keep {
			if cols[i].Priority > 0 && (drop < 0 || cols[i].Priority < cols[keep[drop]].Priority) {
				drop = j
			}
		}
		if drop < 0 {
			break
		}
		keep = append(keep[:drop], keep[drop+1:]...)
	}
	room := width - colGap*(len(keep)-1)
	freeCut := make([]int, len(cols)) // free text cut to minWidth, the rest whole
	hard := make([]int, len(cols))    // every column cut to minWidth
	for i, c := range cols {
		hard[i] = min(natural[i], minWidth)
		freeCut[i] = natural[i]
		if c.FreeText {
			freeCut[i] = hard[i]
		}
	}
	// From the widest fit to the narrowest: whole cells, with free text
	// cut; free text cut further; every column cut.
	for _, t := range [][2][]int{{soft, natural}, {freeCut, soft}, {hard, soft}} {
		if floor := pick(t[0]); sum(floor) <= room {
			return keep, share(floor, pick(t[1]), room)
		}
	}
	return keep, pick(hard) // too narrow for minWidth a column: it cannot fit
}

// share returns widths between floor and ceil that add up to room (or to
// ceil's sum, if less), narrowing the widest columns first.
func share(floor, ceil []int, room int) []int {
	w := append([]int(nil), ceil...)
	for sum(w) > room {
		widest := -1
		for i := range w {
			if w[i] > floor[i] && (widest < 0 || w[i] > w[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		w[widest]--
	}
	return w
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

const colGap = 2

// cell is a column's text for a record, coloured where colour is on.
func cell[V any](p *Printer, c Column[V], v V) string {
	return colored(p, c, v, Sanitize(c.Cell(v)))
}

// colored is text coloured as c colours v's cell, where colour is on.
func colored[V any](p *Printer, c Column[V], v V, text string) string {
	if c.Color != nil && p.IO.ColorEnabled() {
		if code := c.Color(v); code != "" {
			return code + text + "\x1b[0m"
		}
	}
	return text
}

// render draws a borderless table (header nil: none) and trims the space
// tablewriter leaves at the end of each line.
func (p *Printer) render(header []string, rows [][]string) error {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: strings.Repeat(" ", colGap), Overwrite: true}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	if header != nil {
		t.Header(header)
	}
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimRight(strings.TrimSuffix(line, "\n"), " ")
		line = strings.TrimSuffix(line, "\x1b[0m")
		if _, err := io.WriteString(p.IO.Out, strings.TrimRight(line, " ")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// Sanitize replaces control characters, so nothing stored can move the
// cursor or rewrite a terminal.
func Sanitize(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func titleCase(h string) string {
	if len(h) <= 2 {
		return h // ID
	}
	return h[:1] + strings.ToLower(h[1:])
}
