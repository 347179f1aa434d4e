package output

import (
	"encoding/csv"
	"io"
)

// csvWriter is encoding/csv with the OWASP rule against formula injection:
// a cell that starts with '=', '+', '-', '@', a tab or a carriage return
// is prefixed with a single quote ('), so a spreadsheet that opens the file
// shows the text instead of evaluating it. A stored name such as
// "=HYPERLINK(…)" reaches a spreadsheet as "'=HYPERLINK(…)".
type csvWriter struct {
	w *csv.Writer
}

func newCSVWriter(out io.Writer) *csvWriter {
	return &csvWriter{w: csv.NewWriter(out)}
}

// Write writes one record, each cell made inert.
func (c *csvWriter) Write(record []string) error {
	cells := make([]string, len(record))
	for i, s := range record {
		cells[i] = inertCell(s)
	}
	return c.w.Write(cells)
}

// Flush writes buffered records out.
func (c *csvWriter) Flush() { c.w.Flush() }

// Error reports an error of an earlier Write or Flush.
func (c *csvWriter) Error() error { return c.w.Error() }

// inertCell applies the OWASP CSV injection rule to one cell.
func inertCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
