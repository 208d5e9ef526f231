package kubeenv

import "syscall"

// sysProcAttr puts a child in its own process group, so a Ctrl-C on the
// terminal reaches only the test binary (which then stops the child in
// order), and has the kernel SIGKILL it if the test binary dies without
// cleaning up (a panic, a -timeout, SIGKILL).
//
// Pdeathsig fires when the thread that forked exits, not the process. The Go
// runtime only ends threads of goroutines that exit while locked to them
// (runtime.LockOSThread); the children are started from ordinary goroutines.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
