package bench

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropFilePages asks the kernel to reclaim the pages of pid's mappings of
// its own executable (text and read-only data), as it would under memory
// pressure (process_madvise MADV_PAGEOUT, Linux 5.10, root). Pages the
// process goes on using fault back in, so its RssFile some time later is
// the working set of the binary, as opposed to everything the 64 KiB
// fault-around mapped while the packages' init functions ran at start.
// It changes nothing the process sees; it is how the benchmark measures.
func dropFilePages(pid int) error {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return err
	}
	syscall.Sync() // a freshly built binary's dirty pages cannot be reclaimed
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return err
	}
	defer f.Close()
	// struct iovec of the other process's address space: never dereferenced here.
	type iovec struct{ base, len uintptr }
	var iovs []iovec
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		var lo, hi uintptr
		if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err != nil {
			return err
		}
		iovs = append(iovs, iovec{lo, hi - lo})
	}
	if len(iovs) == 0 {
		return fmt.Errorf("no read-only mapping of %s in process %d", exe, pid)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	if _, _, errno := unix.Syscall6(unix.SYS_PROCESS_MADVISE, uintptr(pidfd), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)), unix.MADV_PAGEOUT, 0, 0); errno != 0 {
		return fmt.Errorf("process_madvise MADV_PAGEOUT: %w", errno)
	}
	return nil
}
