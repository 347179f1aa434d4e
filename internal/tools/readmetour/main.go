// Command readmetour re-runs the shell sessions in README.md and writes
// their real output back, so that the README shows what this build does:
//
//	go run ./internal/tools/readmetour -bin bin README.md
//
// A session is a fenced block whose first line starts with "$ ". Its "$ "
// lines are commands and the other lines their output. Every command of
// every session runs, in order, in one bash with a new, empty home folder
// (so a new default database) as its working folder; each command's
// output (stdout and stderr, interleaved as written) replaces the lines
// that followed it. Blocks that do not start with "$ " are left alone.
//
// Key ids differ on every run, and commands name the ids earlier output
// showed: the n-th id in a command's old output is taken to be the n-th in
// its new output (same command, same shape), and later commands get the
// new ids in place of the old. KEYADM_REPO names the checkout it runs
// from. The temporary home folder's path is written
// as /home/alice, the user the README's sessions act as.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	prompt       = "$ "
	shownHome    = "/home/alice"
	cmdTimeout   = 2 * time.Minute
	markerPrefix = "\x1e readmetour done "
)

func main() {
	bin := flag.String("bin", "bin", "folder holding the keyadm binary to run (put first on PATH)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: readmetour [-bin DIR] README.md")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *bin); err != nil {
		fmt.Fprintln(os.Stderr, "readmetour:", err)
		os.Exit(1)
	}
}

func run(readme, bin string) error {
	src, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	binDir, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(binDir, "keyadm")); err != nil {
		return fmt.Errorf("no keyadm in %s (make build first): %w", binDir, err)
	}
	home, err := os.MkdirTemp("", "readmetour")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	sh, err := startShell(home, binDir)
	if err != nil {
		return err
	}
	defer sh.close()
	ids := idMap{}
	out, err := rewrite(string(src), func(command, old string) (string, string, error) {
		command = ids.apply(command)
		fmt.Fprintln(os.Stderr, prompt+command)
		output, code, err := sh.run(command)
		if err != nil {
			return "", "", err
		}
		if code != 0 {
			fmt.Fprintf(os.Stderr, "  (exit %d)\n", code)
		}
		if err := ids.learn(old, output); err != nil {
			fmt.Fprintf(os.Stderr, "readmetour: warning: %v; later commands naming them keep the old ids\n", err)
		}
		return command, strings.ReplaceAll(output, home, shownHome), nil
	})
	if err != nil {
		return err
	}
	return os.WriteFile(readme, []byte(out), 0o644)
}

// idMap takes ids in the README as it was to the same keys in this run.
type idMap map[string]string

// apply puts this run's ids in a command.
func (m idMap) apply(command string) string {
	return uuidRE.ReplaceAllStringFunc(command, func(id string) string {
		if now, ok := m[id]; ok {
			return now
		}
		return id
	})
}

// learn pairs the ids of a command's old output with its new output's, in
// order; when their numbers differ the output changed shape, and nothing
// is paired.
func (m idMap) learn(old, output string) error {
	was, now := uuidRE.FindAllString(old, -1), uuidRE.FindAllString(output, -1)
	if len(was) != len(now) {
		return fmt.Errorf("the output held %d ids and now holds %d", len(was), len(now))
	}
	for i, id := range was {
		if _, seen := m[id]; !seen {
			m[id] = now[i]
		}
	}
	return nil
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// rewrite replaces every session of a markdown text with the commands and
// outputs exec returns, given each command and the output shown for it.
func rewrite(text string, exec func(command, old string) (string, string, error)) (string, error) {
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		b.WriteString(line)
		if !strings.HasPrefix(line, "```") || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], prompt) {
			if strings.HasPrefix(line, "```") {
				// Skip to the closing fence, so a fence is never taken
				// for an opening one.
				for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "```") {
					i++
					b.WriteString(lines[i])
				}
				if i+1 < len(lines) {
					i++
					b.WriteString(lines[i])
				}
			}
			continue
		}
		var commands, olds []string
		for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "```") {
			i++
			switch {
			case strings.HasPrefix(lines[i], prompt):
				commands = append(commands, strings.TrimSuffix(strings.TrimPrefix(lines[i], prompt), "\n"))
				olds = append(olds, "")
			case olds[len(olds)-1] == "" && strings.HasSuffix(commands[len(commands)-1], "\\"):
				// A command continued on the next line (curl … \).
				commands[len(commands)-1] += "\n" + strings.TrimSuffix(lines[i], "\n")
			default:
				olds[len(olds)-1] += lines[i]
			}
		}
		if i+1 >= len(lines) {
			return "", errors.New("a session's fence is never closed")
		}
		for n, command := range commands {
			command, output, err := exec(command, olds[n])
			if err != nil {
				return "", fmt.Errorf("%q: %w", command, err)
			}
			b.WriteString(prompt + command + "\n")
			if output = strings.TrimRight(output, "\n"); output != "" {
				b.WriteString(output + "\n")
				if n < len(commands)-1 {
					b.WriteString("\n")
				}
			}
		}
		i++
		b.WriteString(lines[i]) // the closing fence
	}
	return b.String(), nil
}

// shell is one bash, fed commands on stdin, its stdout and stderr on one
// pipe so their lines come back in the order they were written.
type shell struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startShell(home, binDir string) (*shell, error) {
	repo, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", "--norc", "--noprofile")
	cmd.Dir = home
	cmd.Env = []string{
		"HOME=" + home,
		// The checkout the tour runs from, for commands that need its
		// files (make cluster-up).
		"KEYADM_REPO=" + repo,
		"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"LANG=C.UTF-8",
		"TERM=dumb",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w.Close()
	return &shell{cmd: cmd, stdin: stdin, out: bufio.NewReader(r)}, nil
}

// run runs one command and returns what it printed and its exit code.
func (s *shell) run(command string) (string, int, error) {
	// The marker follows a newline of its own, so output without a final
	// newline still ends before it.
	// Commands read nothing from the shell's own stdin, which carries the
	// commands that follow.
	script := "{ " + command + "\n} </dev/null\nprintf '\\n" + markerPrefix + "%d\\n' $?\n"
	if _, err := io.WriteString(s.stdin, script); err != nil {
		return "", 0, err
	}
	type result struct {
		output string
		code   int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var buf bytes.Buffer
		for {
			line, err := s.out.ReadString('\n')
			if rest, ok := strings.CutPrefix(line, markerPrefix); ok {
				code, _ := strconv.Atoi(strings.TrimSpace(rest))
				done <- result{strings.TrimRight(buf.String(), "\n"), code, nil}
				return
			}
			buf.WriteString(line)
			if err != nil {
				done <- result{err: fmt.Errorf("the shell ended: %w", err)}
				return
			}
		}
	}()
	select {
	case r := <-done:
		return r.output, r.code, r.err
	case <-time.After(cmdTimeout):
		return "", 0, fmt.Errorf("still running after %s", cmdTimeout)
	}
}

// close ends the shell and anything it left running in the background.
func (s *shell) close() {
	s.stdin.Close()
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	_ = s.cmd.Wait()
}
