package config

import (
	"errors"
	"fmt"
)

// fieldError is one problem of a config document, at the field path such as
// "pools[1].addresses[0]".
type fieldError struct {
	path, msg string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

// fieldErrors collects every problem of a document in a deterministic order,
// so that the user sees them all at once.
type fieldErrors []error

func (l *fieldErrors) add(path, format string, args ...any) {
	*l = append(*l, &fieldError{path: path, msg: fmt.Sprintf(format, args...)})
}

// err returns the problems one per line, or nil if there is none.
func (l fieldErrors) err() error {
	return errors.Join(l...)
}

// Field paths as the user reads them: pools[0].bgp.peers[1], nodeSelector["zone"].

func field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

func key(path, k string) string {
	return fmt.Sprintf("%s[%q]", path, k)
}
