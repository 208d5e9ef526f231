package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Exec runs name with args inside host's network namespace
// (`ip netns exec`) and returns its standard output. The error names the
// command line and carries its output. A name without a slash is looked up
// on PATH and then in the sbin directories (bird, ip), which root's PATH
// may lack.
func (l *Lab) Exec(ctx context.Context, host *Host, name string, args ...string) ([]byte, error) {
	return run(ctx, l.ip, append([]string{"netns", "exec", host.NS, resolve(name)}, args...)...)
}

// Command returns a command that runs name with args inside host's network
// namespace, for the caller to run as it likes. It runs in its own process
// group and gets SIGKILL if the thread that started it dies (see
// StartProcess, which also stops it on Close).
func (l *Lab) Command(host *Host, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(l.ip, append([]string{"netns", "exec", host.NS, resolve(name)}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// ipIn runs `ip -n ns args…`, or `ip args…` in the caller's namespace when ns
// is "".
func (l *Lab) ipIn(ctx context.Context, ns string, args ...string) error {
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	_, err := run(ctx, l.ip, args...)
	return err
}

// run runs a short command and returns its standard output. On failure the
// error names the command line and carries its output.
func run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		out := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		if out != "" {
			out = ": " + out
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w%s", commandLine(bin, args), err, out)
	}
	return stdout.Bytes(), nil
}

func commandLine(bin string, args []string) string {
	return strings.Join(append([]string{filepath.Base(bin)}, args...), " ")
}

// resolve returns the path of command name if lookPath finds it, else
// name.
func resolve(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	if p, err := lookPath(name); err == nil {
		return p
	}
	return name
}

// lookPath finds a command on PATH or, as root's PATH may lack them, in
// the sbin directories. A missing command is an ErrPrerequisite naming the
// Debian package that has it.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: the %s command (Debian package %s; hack/install-deps.sh installs it)",
		ErrPrerequisite, name, debianPackage(name))
}

// debianPackage names the Debian package that provides a command the lab
// uses.
func debianPackage(command string) string {
	switch command {
	case "ip", "bridge":
		return "iproute2"
	case "bird", "birdc":
		return "bird2"
	case "arping":
		return "iputils-arping"
	case "ndisc6", "rdisc6":
		return "ndisc6"
	default:
		return command
	}
}
