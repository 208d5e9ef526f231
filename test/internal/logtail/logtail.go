// Package logtail reads the end of a log file, for test helpers that show
// why a process they started failed.
package logtail

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// window bounds how much of a large log is read.
const window = 32 << 10

// Tail returns about the last n lines of the file at path, or a note in
// parentheses saying why it could not be read.
func Tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > window {
		if _, err := f.Seek(-window, io.SeekEnd); err != nil {
			return fmt.Sprintf("(reading the log: %v)", err)
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(reading the log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
