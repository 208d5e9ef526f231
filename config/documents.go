package config

import (
	"bytes"
	"strings"
)

// hasMoreDocuments reports whether data holds a second YAML document with
// content, which the YAML decoder would silently drop. A line that starts
// with "---" or "..." followed by a space or nothing is always a document
// marker: YAML forbids such lines inside scalars, and block scalars are
// indented. An empty document after the first is fine.
func hasMoreDocuments(data []byte) bool {
	content, next := false, false // content in this document; past the first
	for l := range bytes.Lines(data) {
		line := strings.TrimRight(string(l), "\r\n")
		if rest, ok := marker(line, "---"); ok {
			next = next || content
			line = rest // "--- {a: 1}" starts a document with content
		} else if _, ok := marker(line, "..."); ok {
			next = next || content
			continue
		}
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(line, "%") {
			if next {
				return true
			}
			content = true
		}
	}
	return false
}

// marker reports whether line is the document marker m, and returns what
// follows it.
func marker(line, m string) (rest string, ok bool) {
	rest, ok = strings.CutPrefix(line, m)
	return rest, ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}
