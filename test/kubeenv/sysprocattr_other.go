//go:build unix && !linux

package kubeenv

import "syscall"

// sysProcAttr puts a child in its own process group, so a Ctrl-C on the
// terminal reaches only the test binary, which then stops the child in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
