// Package output owns the terminal: the standard streams, whether they are
// terminals, their width and colour, and the formats keyadm writes.
package output

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// IOStreams are the standard streams and what is known about them. No
// command touches os.Stdout or asks whether it is a terminal itself.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	inTTY, outTTY, errTTY bool
	colorDisabled         bool
	width                 int
	reader                *bufio.Reader
}

// System returns the process's streams.
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	s.inTTY = isTerminal(os.Stdin)
	s.outTTY = isTerminal(os.Stdout)
	s.errTTY = isTerminal(os.Stderr)
	s.width = columns(os.Getenv("COLUMNS"), func() int {
		if s.outTTY {
			if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
				return w
			}
		}
		return 0
	})
	return s
}

// columns is the width tables fit: COLUMNS when it is a positive number
// (as POSIX has it, the user's word beats the terminal's, and it fits a
// table written to a pipe too), else the terminal's width (0: not a
// terminal). Another value of COLUMNS, not keyadm's own setting, is passed
// over as ls passes it over.
func columns(env string, terminal func() int) int {
	if n, err := strconv.Atoi(env); err == nil && n > 0 {
		return n
	}
	return terminal()
}

// Test returns streams on buffers, none of them a terminal.
func Test(in string) (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: strings.NewReader(in), Out: out, ErrOut: errOut}, out, errOut
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// SetTTY overrides terminal detection, for tests.
func (s *IOStreams) SetTTY(in, out bool, width int) {
	s.inTTY, s.outTTY, s.errTTY, s.width = in, out, out, width
}

// CanPrompt reports whether a person can answer a question.
func (s *IOStreams) CanPrompt() bool { return s.inTTY && (s.errTTY || s.outTTY) }

// DisableColor turns colour off (--no-color).
func (s *IOStreams) DisableColor() { s.colorDisabled = true }

// ColorEnabled reports whether output may be coloured: on a terminal and
// never under NO_COLOR or --no-color.
func (s *IOStreams) ColorEnabled() bool { return s.outTTY && !s.colorDisabled }

// TerminalWidth is the width tables fit: COLUMNS or the output terminal's,
// 0 when neither.
func (s *IOStreams) TerminalWidth() int { return s.width }

// Confirm asks a yes/no question on stderr and reads the answer from stdin.
func (s *IOStreams) Confirm(question string) (bool, error) {
	fmt.Fprintf(s.ErrOut, "%s [y/N] ", question)
	line, err := s.ReadLine()
	if err != nil && line == "" {
		fmt.Fprintln(s.ErrOut)
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// ReadLine reads one line from stdin, without its line ending.
func (s *IOStreams) ReadLine() (string, error) {
	if s.reader == nil {
		s.reader = bufio.NewReader(s.In)
	}
	line, err := s.reader.ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// ReadSecret reads a secret from stdin without echoing it on a terminal.
func (s *IOStreams) ReadSecret(prompt string) (string, error) {
	if f, ok := s.In.(*os.File); ok && s.inTTY {
		fmt.Fprint(s.ErrOut, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.ErrOut)
		return string(b), err
	}
	// A pipe: read up to 64 KiB, more than any key, so a huge input cannot
	// exhaust memory.
	b, err := io.ReadAll(io.LimitReader(s.In, 64<<10))
	return string(b), err
}

// Notice writes a line for people on stderr, so it never mixes with data.
func (s *IOStreams) Notice(msg string) { fmt.Fprintln(s.ErrOut, msg) }

// ProgressBar returns a progress bar on stderr when stderr is a terminal,
// and nil elsewhere, so pipes and logs get no drawing.
func (s *IOStreams) ProgressBar(what string) *progressbar.ProgressBar {
	if !s.errTTY {
		return nil
	}
	return progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(s.ErrOut),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}
