package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
)

// The footprint benchmarks (BenchmarkAnnouncerBGP5000, …L25000, …VRRP5000)
// share one timeline, measureFootprint: the announcers' memory with no
// Service, a burst of footprintServices Services, idle after the burst
// has settled, then a change of footprintChange of them (deleted, then
// created again).
const (
	footprintServices = 5000
	footprintChange   = 1000
	// footprintSettle follows the burst before idle is measured: the
	// announcers send an Event per Service they began to announce, at
	// their client's 50 QPS (about 100 s for 5,000 on one node).
	footprintSettle = 120 * time.Second
	// footprintIdle is the window idle CPU is measured over.
	footprintIdle = 30 * time.Second
	// footprintWindow is the window the CPU of a change is measured over,
	// from its first request (longer if the change takes longer to apply).
	footprintWindow = 30 * time.Second
	// footprintPoll is how often the benchmark counts what is announced:
	// a count may scrape the announcers' /metrics, which their CPU figures
	// would include.
	footprintPoll = 100 * time.Millisecond
)

// footprintBed is what measureFootprint needs of a mode's lab.
type footprintBed struct {
	mode       string
	client     kubernetes.Interface
	announcers []*lab.Process
	// address is the address of the i-th Service.
	address func(i int) netip.Addr
	// create makes a LoadBalancer Service name holding ip in its status,
	// in namespace bench.
	create func(ctx context.Context, name string, ip netip.Addr) error
	// announced counts the pool's addresses that are announced, as the
	// network sees them where it can (the router's routes, the nodes'
	// interfaces), else as the announcers report them.
	announced func(ctx context.Context) (int, error)
	// describe, optional, says what an announcer holds ("owns 1,660
	// addresses"), for the log.
	describe func(h *lab.Host) string
	// variants, optional, are config changes after the run; idle CPU is
	// measured again after each.
	variants []footprintVariant
}

// footprintVariant is a config change after which idle CPU is measured
// again, reported as "%cpu-idle-<name>".
type footprintVariant struct {
	name   string
	config string
}

// footprintService names the i-th Service.
func footprintService(i int) string { return fmt.Sprintf("svc-%05d", i) }

// footprintAddress is the i-th of 5,000 addresses in 198.19.<third>.0 and
// the next 19 /24s, .1 to .250 of each.
func footprintAddress(third byte) func(i int) netip.Addr {
	return func(i int) netip.Addr {
		return netip.AddrFrom4([4]byte{198, 19, third + byte(i/250), byte(1 + i%250)})
	}
}

// measureFootprint runs the footprint timeline on bed and reports, per
// announcer in the log and as metrics the largest over the announcers
// (the only one in bgp mode): RSS with no Service (MiB-rss-empty); the
// time until all Services are announced (s-all-announced) and the CPU
// until then (s-cpu-burst); idle CPU after the burst settled (%cpu-idle);
// RSS then (MiB-rss, -anon, -file); for the deletion of 1,000 Services
// and for their creation again, the time until the network shows it
// (s-delete1000, s-create1000) and the CPU over the 30 s from the first
// request (%cpu-delete1000, %cpu-create1000); the peak RSS at the end
// (MiB-rss-peak); the working set of the binary (MiB-rss-file-ws, see
// dropFilePages); and idle CPU after each variant (%cpu-idle-<name>).
// FLOATLB_BENCH_PROFILES=dir saves heap profiles (empty-* before the
// Services, heap.* at the end), a CPU profile at idle (cpu.pprof) and
// one during the deletion (delete-cpu.pprof), each file prefixed with
// the node's name when there are several announcers.
func measureFootprint(b *testing.B, bed footprintBed) {
	ctx := context.Background()
	procs := bed.announcers
	dir := os.Getenv("FLOATLB_BENCH_PROFILES")
	profiles := func(prefix string, cpu bool) {
		if dir == "" {
			return
		}
		for _, p := range procs {
			saveProfiles(b, dir, p.Host, bed.profilePrefix(p.Host)+prefix, cpu)
		}
	}
	// Baseline: synced, nothing to announce.
	time.Sleep(10 * time.Second)
	empty := readMemories(procs)
	profiles("empty-", false)

	start := time.Now()
	ids := make([]int, footprintServices)
	for i := range ids {
		ids[i] = i
	}
	inParallel(b, ids, func(i int) error { return bed.create(ctx, footprintService(i), bed.address(i)) })
	written := time.Since(start)
	took := bed.waitAnnounced(b, ctx, footprintServices)
	burst := readCPUs(procs)

	time.Sleep(footprintSettle)
	idle := idleCPU(procs)
	idleLoad := loadAverage()
	mem := readMemories(procs)

	changed := ids[:footprintChange]
	del := bed.change(b, ctx, "delete", footprintServices-footprintChange, dir, func() {
		inParallel(b, changed, func(i int) error {
			return bed.client.CoreV1().Services("bench").Delete(ctx, footprintService(i), metav1.DeleteOptions{})
		})
	})
	add := bed.change(b, ctx, "create", footprintServices, "", func() {
		inParallel(b, changed, func(i int) error { return bed.create(ctx, footprintService(i), bed.address(i)) })
	})
	end := readMemories(procs)
	profiles("", true)

	// What the binary really keeps using: its pages reclaimed, then 35 s
	// of idle (one resync of every Service included).
	var ws []memory
	var dropErr error
	for _, p := range procs {
		if dropErr = dropFilePages(p.PID()); dropErr != nil {
			b.Logf("binary working set not measured: %v", dropErr)
			break
		}
	}
	if dropErr == nil {
		time.Sleep(35 * time.Second)
		ws = readMemories(procs)
	}

	variantIdle := make([][]float64, len(bed.variants))
	for i, v := range bed.variants {
		if _, err := fixture.SetConfig(ctx, bed.client, v.config); err != nil {
			b.Fatal(err)
		}
		// The change restarts what announces; wait until it all is again.
		time.Sleep(5 * time.Second)
		bed.waitAnnounced(b, ctx, footprintServices)
		time.Sleep(footprintSettle)
		variantIdle[i] = idleCPU(procs)
	}

	// Go keeps only the first ten lines of a benchmark's log without -v:
	// the summary first, then one line per announcer.
	b.Logf("%s: %d statuses written in %s, all announced %s later; 1,000 deleted in %s, applied in %s; created again in %s, applied in %s; load average after idle %s, at the end %s",
		bed.mode, footprintServices, written.Round(time.Millisecond), took.Round(time.Millisecond),
		del.requests.Round(time.Millisecond), del.applied.Round(time.Millisecond), add.requests.Round(time.Millisecond), add.applied.Round(time.Millisecond), idleLoad, loadAverage())
	for i, p := range procs {
		line := fmt.Sprintf("%s announcer on %s", bed.mode, p.Host.Name)
		if bed.describe != nil {
			line += " (" + bed.describe(p.Host) + ")"
		}
		line += fmt.Sprintf(": no Services: %s; 5,000 addresses: CPU until all announced %s, idle %.2f%% of a core, %s; delete 1,000: %.2f%% of a core over %s (%s CPU until applied); create 1,000: %.2f%% over %s (%s CPU until applied); at the end peak %.1f MiB",
			empty[i], burst[i].Round(10*time.Millisecond), idle[i]*100, mem[i],
			del.cpu[i]*100, del.window.Round(time.Second), del.applyCPU[i].Round(10*time.Millisecond),
			add.cpu[i]*100, add.window.Round(time.Second), add.applyCPU[i].Round(10*time.Millisecond), mib(end[i].peak))
		if ws != nil {
			line += fmt.Sprintf("; after its binary's pages were reclaimed and 35 s of idle: %s (the binary's working set: %.1f MiB)", ws[i], mib(ws[i].file))
		}
		for j, v := range bed.variants {
			line += fmt.Sprintf("; idle with %s: %.2f%% of a core", v.name, variantIdle[j][i]*100)
		}
		b.Log(line)
	}

	most := func(ms []memory, field func(memory) int64) float64 {
		var m int64
		for _, x := range ms {
			m = max(m, field(x))
		}
		return mib(m)
	}
	rss := func(m memory) int64 { return m.rss }
	b.ReportMetric(most(empty, rss), "MiB-rss-empty")
	b.ReportMetric(most(mem, rss), "MiB-rss")
	b.ReportMetric(most(mem, func(m memory) int64 { return m.anon }), "MiB-rss-anon")
	b.ReportMetric(most(mem, func(m memory) int64 { return m.file }), "MiB-rss-file")
	b.ReportMetric(most(end, func(m memory) int64 { return m.peak }), "MiB-rss-peak")
	if ws != nil {
		b.ReportMetric(most(ws, func(m memory) int64 { return m.file }), "MiB-rss-file-ws")
	}
	b.ReportMetric(slices.Max(burst).Seconds(), "s-cpu-burst")
	b.ReportMetric((written + took).Seconds(), "s-all-announced")
	b.ReportMetric(100*slices.Max(idle), "%cpu-idle")
	b.ReportMetric(del.applied.Seconds(), "s-delete1000")
	b.ReportMetric(100*slices.Max(del.cpu), "%cpu-delete1000")
	b.ReportMetric(add.applied.Seconds(), "s-create1000")
	b.ReportMetric(100*slices.Max(add.cpu), "%cpu-create1000")
	for j, v := range bed.variants {
		b.ReportMetric(100*slices.Max(variantIdle[j]), "%cpu-idle-"+v.name)
	}
}

// profilePrefix names an announcer's profiles when there are several.
func (bed footprintBed) profilePrefix(h *lab.Host) string {
	if len(bed.announcers) == 1 {
		return ""
	}
	return h.Name + "-"
}

// waitAnnounced waits until bed.announced counts want addresses, and
// returns how long that took.
func (bed footprintBed) waitAnnounced(b *testing.B, ctx context.Context, want int) time.Duration {
	b.Helper()
	const timeout = 10 * time.Minute
	start := time.Now()
	for {
		got, err := bed.announced(ctx)
		if err == nil && got == want {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			b.Fatalf("%d %s addresses announced: not within %s (last count %d, err %v)", want, bed.mode, timeout, got, err)
		}
		time.Sleep(footprintPoll)
	}
}

// changeFigures are the figures of one change, per announcer.
type changeFigures struct {
	requests time.Duration   // from the first request until the last was answered
	applied  time.Duration   // from the first request until the network shows it
	window   time.Duration   // the CPU window: footprintWindow, or applied if longer
	applyCPU []time.Duration // CPU from the first request until applied
	cpu      []float64       // CPU per second over the window
}

// change runs do, which changes Services, and waits until want addresses
// are announced. With dir, it saves a CPU profile of each announcer
// during the change there, named <name>-cpu.pprof.
func (bed footprintBed) change(b *testing.B, ctx context.Context, name string, want int, dir string, do func()) changeFigures {
	var profiling sync.WaitGroup
	if dir != "" {
		for _, p := range bed.announcers {
			profiling.Go(func() {
				fetchProfile(b, p.Host, "/debug/pprof/profile?seconds=20", filepath.Join(dir, bed.profilePrefix(p.Host)+name+"-cpu.pprof"))
			})
		}
	}
	cpu0 := readCPUs(bed.announcers)
	start := time.Now()
	do()
	var f changeFigures
	f.requests = time.Since(start)
	f.applied = f.requests + bed.waitAnnounced(b, ctx, want)
	f.applyCPU = sub(readCPUs(bed.announcers), cpu0)
	f.window = max(footprintWindow, f.applied)
	time.Sleep(time.Until(start.Add(f.window)))
	for _, c := range sub(readCPUs(bed.announcers), cpu0) {
		f.cpu = append(f.cpu, c.Seconds()/f.window.Seconds())
	}
	profiling.Wait()
	return f
}

// inParallel runs fn for each of ids from 16 goroutines, as 16 clients of
// the API server would.
func inParallel(b *testing.B, ids []int, fn func(i int) error) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
}

// idleCPU returns each process's CPU per second over footprintIdle.
func idleCPU(procs []*lab.Process) []float64 {
	cpu0 := readCPUs(procs)
	time.Sleep(footprintIdle)
	var out []float64
	for _, c := range sub(readCPUs(procs), cpu0) {
		out = append(out, c.Seconds()/footprintIdle.Seconds())
	}
	return out
}

func readCPUs(procs []*lab.Process) []time.Duration {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		out[i] = processCPU(p.PID())
	}
	return out
}

func readMemories(procs []*lab.Process) []memory {
	out := make([]memory, len(procs))
	for i, p := range procs {
		out[i] = readMemory(p.PID())
	}
	return out
}

func sub(a, b []time.Duration) []time.Duration {
	out := make([]time.Duration, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

// loadAverage is the machine's 1-, 5- and 15-minute load average.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

// memory is a process's resident memory, in bytes, from /proc/<pid>/status.
type memory struct {
	rss, anon, file, peak int64 // VmRSS, RssAnon, RssFile + RssShmem, VmHWM
}

func (m memory) String() string {
	return fmt.Sprintf("RSS %.1f MiB (anon %.1f, file %.1f), peak %.1f MiB", mib(m.rss), mib(m.anon), mib(m.file), mib(m.peak))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// readMemory reads the resident memory of pid.
func readMemory(pid int) memory {
	var m memory
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			m.rss = kb << 10
		case "RssAnon":
			m.anon = kb << 10
		case "RssFile", "RssShmem":
			m.file += kb << 10
		case "VmHWM":
			m.peak = kb << 10
		}
	}
	return m
}

// saveProfiles fetches the announcer's heap profile (in use and allocated;
// heap.txt ends with the runtime's MemStats) into dir, each file name
// prefixed with prefix, and with cpu a 10 s CPU profile.
func saveProfiles(b *testing.B, dir string, node *lab.Host, prefix string, cpu bool) {
	files := map[string]string{"heap.pprof": "/debug/pprof/heap", "heap.txt": "/debug/pprof/heap?debug=1"}
	if cpu {
		files["cpu.pprof"] = "/debug/pprof/profile?seconds=10"
	}
	for name, path := range files {
		fetchProfile(b, node, path, filepath.Join(dir, prefix+name))
	}
}

// fetchProfile saves what the announcer on node serves at path in file.
func fetchProfile(b *testing.B, node *lab.Host, path, file string) {
	resp, err := http.Get("http://" + node.Mgmt4.String() + ":7475" + path)
	if err != nil {
		b.Logf("profile %s: %v", file, err)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	_ = os.WriteFile(file, data, 0o644)
}
