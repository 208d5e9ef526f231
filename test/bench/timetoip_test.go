package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/floatlb/floatlb/test/kubeenv"
)

const config = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: bench
  addresses: [198.19.0.0/16]
`

// burstNamespace holds the measured Services of every run.
const burstNamespace = "lb"

// BenchmarkTimeToIP5000 reports, for 5,000 Services created in one burst by
// 16 clients, each run against a fresh API server:
//
//   - floor-create: the time the API server needs to create them;
//   - floor-status: to create them and have a trivial writer patch each
//     status at floatlb-ccm's default client QPS;
//   - floatlb: the time until floatlb-ccm at its default flags has given
//     every one an address, and the API writes it made per Service;
//   - floatlb-syncs=N, floatlb-qps=N: the same with other flags.
//
// A stock API server has 2,768 node ports: the Services ask for none.
// FLOATLB_BENCH_CCM_FLAGS adds flags to every floatlb run;
// FLOATLB_BENCH_PROFILE=dir saves CPU profiles of floatlb-ccm and
// kube-apiserver over the first 20 s of each floatlb burst there.
func BenchmarkTimeToIP5000(b *testing.B) {
	const n = 5000
	var floor, atDefaults time.Duration
	b.Run("floor-create", func(b *testing.B) {
		for b.Loop() {
			env, client := burstEnv(b, false)
			d, _ := measured(b, env, func() time.Duration { return timeBurst(b, client, burstNamespace, n, nil) })
			reportBurst(b, n, d, nil)
		}
	})
	b.Run("floor-status", func(b *testing.B) {
		for b.Loop() {
			env, client := burstEnv(b, false)
			writerCfg := env.RESTConfig()
			writerCfg.QPS, writerCfg.Burst = defaultCCMQPS, defaultCCMBurst
			writer := kubernetes.NewForConfigOrDie(writerCfg)
			d, writes := measured(b, env, func() time.Duration {
				return timeBurst(b, client, burstNamespace, n, func(ctx context.Context, svc *v1.Service, i int) error {
					patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"ip":"198.19.%d.%d"}]}}}`, i/256, i%256)
					_, err := writer.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
					return err
				})
			})
			reportBurst(b, n, d, writes)
			floor = d
		}
	})
	for _, run := range []struct {
		name  string
		flags []string
	}{
		{"floatlb", nil},
		{"floatlb-syncs=50", []string{"--concurrent-service-syncs=50"}},
		{"floatlb-qps=2000", []string{"--kube-api-qps=2000", "--kube-api-burst=4000"}},
	} {
		b.Run(run.name, func(b *testing.B) {
			profileDir := os.Getenv("FLOATLB_BENCH_PROFILE")
			flags := run.flags
			if profileDir != "" {
				flags = append(slices.Clone(flags), "--authorization-always-allow-paths=/healthz,/readyz,/livez,/debug/pprof/*")
			}
			for b.Loop() {
				env, client := burstEnv(b, profileDir != "")
				if _, err := client.CoreV1().ConfigMaps("floatlb-system").Create(context.Background(), &v1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Namespace: "floatlb-system", Name: "floatlb-config"},
					Data:       map[string]string{"config.yaml": config},
				}, metav1.CreateOptions{}); err != nil {
					b.Fatal(err)
				}
				// One Node, as any cluster has: without, the service
				// controller adds a Warning Event to every sync.
				if _, err := client.CoreV1().Nodes().Create(context.Background(), &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}, metav1.CreateOptions{}); err != nil {
					b.Fatal(err)
				}
				ccm := runCCM(b, env, flags...)
				warmUp(b, client)
				before := ccm.cpu()
				d, writes := measured(b, env, func() time.Duration {
					if profileDir != "" {
						defer saveCPUProfiles(b, filepath.Join(profileDir, run.name), env, ccm.port)()
					}
					return timeUntilAddressed(b, client, burstNamespace, n)
				})
				used := ccm.cpu() - before
				ccm.stop()
				b.ReportMetric(used.Seconds(), "s-ccm-cpu")
				reportBurst(b, n, d, writes)
				if run.name == "floatlb" {
					atDefaults = d
				}
			}
		})
	}
	if floor > 0 && atDefaults > 0 {
		b.Logf("%d Services: floatlb-ccm at its default flags takes %.2f× the create+status floor", n, atDefaults.Seconds()/floor.Seconds())
	}
}

// defaultCCMQPS and defaultCCMBurst are floatlb-ccm's default client rate
// limits (cmd/ccm/app), which the trivial writer of the floor also gets.
const defaultCCMQPS, defaultCCMBurst = 500, 1000

// burstEnv starts a fresh API server, with /debug/pprof when profiling,
// creates the namespaces of a run and returns it with a client fast enough
// not to be what is measured.
func burstEnv(b *testing.B, profiling bool) (*kubeenv.Env, kubernetes.Interface) {
	var opts kubeenv.Options
	if profiling {
		opts.APIServerFlags = []string{"--profiling=true"}
	}
	env := kubeenv.StartT(b, opts)
	cfg := env.RESTConfig()
	cfg.QPS, cfg.Burst = 1000, 2000
	client := kubernetes.NewForConfigOrDie(cfg)
	for _, ns := range []string{"floatlb-system", "warm-up", burstNamespace} {
		if _, err := client.CoreV1().Namespaces().Create(context.Background(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return env, client
}

// saveCPUProfiles starts taking 20 s CPU profiles of kube-apiserver and of
// the floatlb-ccm listening on ccmPort, to prefix-apiserver.pprof and
// prefix-ccm.pprof; the function it returns waits until both are saved.
func saveCPUProfiles(b *testing.B, prefix string, env *kubeenv.Env, ccmPort int) (wait func()) {
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		b.Fatal(err)
	}
	const seconds = "20"
	var wg sync.WaitGroup
	save := func(file string, get func() ([]byte, error)) {
		wg.Go(func() {
			data, err := get()
			if err == nil {
				err = os.WriteFile(file, data, 0o644)
			}
			if err != nil {
				b.Errorf("CPU profile %s: %v", file, err)
			}
		})
	}
	save(prefix+"-apiserver.pprof", func() ([]byte, error) {
		client := kubernetes.NewForConfigOrDie(env.RESTConfig())
		return client.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", seconds).DoRaw(context.Background())
	})
	save(prefix+"-ccm.pprof", func() ([]byte, error) {
		// floatlb-ccm serves a self-signed certificate.
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/debug/pprof/profile?seconds=%s", ccmPort, seconds))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("floatlb-ccm answered %s", resp.Status)
		}
		return io.ReadAll(resp.Body)
	})
	return wg.Wait
}

// apiCounts are the API server's request counters by "VERB resource[/subresource]".
type apiCounts map[string]float64

// burstFigures is what the API server did during a burst.
type burstFigures struct {
	writes apiCounts // writes other than the creates of the burst
	cpu    time.Duration
}

// measured runs burst, which returns how long it took, and returns that
// with what the API server did meanwhile.
func measured(b *testing.B, env *kubeenv.Env, burst func() time.Duration) (time.Duration, *burstFigures) {
	before, cpuBefore := scrapeAPIServer(b, env)
	took := burst()
	// Writes still in flight (Events) land after the last address: count
	// until a second passes without one.
	after, cpuAfter := scrapeAPIServer(b, env)
	for settle := time.Now().Add(time.Minute); time.Now().Before(settle); {
		time.Sleep(time.Second)
		again, cpu := scrapeAPIServer(b, env)
		if writeTotal(again) == writeTotal(after) {
			break
		}
		after, cpuAfter = again, cpu
	}
	writes := apiCounts{}
	for k, v := range after {
		if d := v - before[k]; d > 0 && isWrite(k) && !apiServersOwn[k] {
			writes[k] = d
		}
	}
	return took, &burstFigures{writes: writes, cpu: cpuAfter - cpuBefore}
}

// apiServersOwn are the writes of a burst that are not the CCM's: the
// creates, the ClusterIP each create reserves, the API server's lease.
var apiServersOwn = map[string]bool{"POST services": true, "POST ipaddresses": true, "PUT leases": true}

func writeTotal(c apiCounts) float64 {
	total := 0.0
	for k, v := range c {
		if isWrite(k) {
			total += v
		}
	}
	return total
}

func isWrite(key string) bool {
	verb, _, _ := strings.Cut(key, " ")
	switch verb {
	case "POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION":
		return true
	}
	return false
}

// reportBurst reports the time of a burst of n Services, the API server's
// CPU and its writes per Service.
func reportBurst(b *testing.B, n int, d time.Duration, f *burstFigures) {
	b.ReportMetric(d.Seconds(), "s")
	line := fmt.Sprintf("%d Services in %s", n, d.Round(time.Millisecond))
	if f != nil {
		b.ReportMetric(f.cpu.Seconds(), "s-apiserver-cpu")
		total := 0.0
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(f.writes)) {
			per := f.writes[k] / float64(n)
			total += per
			kinds = append(kinds, fmt.Sprintf("%s %.2f", k, per))
			b.ReportMetric(per, strings.ReplaceAll(strings.ToLower(k), " ", "-")+"/svc")
		}
		b.ReportMetric(total, "writes/svc")
		line += fmt.Sprintf("; API server CPU %s; writes per Service other than the creates: %.2f (%s)", f.cpu.Round(time.Millisecond), total, strings.Join(kinds, ", "))
	}
	b.Log(line)
}

// scrapeAPIServer reads apiserver_request_total by verb and resource, and
// the API server's CPU time, from its /metrics.
func scrapeAPIServer(b *testing.B, env *kubeenv.Env) (apiCounts, time.Duration) {
	client := kubernetes.NewForConfigOrDie(env.RESTConfig())
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("reading the API server's metrics: %v", err)
	}
	counts := apiCounts{}
	var cpu time.Duration
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "process_cpu_seconds_total "); ok {
			f, _ := strconv.ParseFloat(s, 64)
			cpu = time.Duration(f * float64(time.Second))
			continue
		}
		s, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labelText, value, ok := strings.Cut(s, "} ")
		if !ok {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(labelText, ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		key := labels["verb"] + " " + labels["resource"]
		if labels["subresource"] != "" {
			key += "/" + labels["subresource"]
		}
		f, _ := strconv.ParseFloat(value, 64)
		counts[key] += f
	}
	return counts, cpu
}

// warmUp waits until floatlb-ccm gives a first Service an address, so that
// its start is not part of what is measured.
func warmUp(b *testing.B, client kubernetes.Interface) {
	ctx := context.Background()
	if _, err := client.CoreV1().Services("warm-up").Create(ctx, loadBalancer("warm-up", 0), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		svc, err := client.CoreV1().Services("warm-up").Get(ctx, loadBalancer("warm-up", 0).Name, metav1.GetOptions{})
		return err == nil && len(svc.Status.LoadBalancer.Ingress) > 0, nil
	})
	if err != nil {
		b.Fatalf("floatlb-ccm gave no address to a first Service: %v", err)
	}
}

// timeBurst creates n Services in namespace with 16 workers, calling then
// for each after it is created, and returns how long it all took.
func timeBurst(b *testing.B, client kubernetes.Interface, namespace string, n int, then func(context.Context, *v1.Service, int) error) time.Duration {
	start := time.Now()
	createBurst(b, client, namespace, n, then)
	return time.Since(start)
}

// createBurst creates n Services in namespace with 16 workers, calling then
// for each after it is created.
func createBurst(b *testing.B, client kubernetes.Interface, namespace string, n int, then func(context.Context, *v1.Service, int) error) {
	ctx := context.Background()
	next := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range next {
				svc, err := client.CoreV1().Services(namespace).Create(ctx, loadBalancer(namespace, i), metav1.CreateOptions{})
				if err == nil && then != nil {
					err = then(ctx, svc, i)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// timeUntilAddressed creates n Services and returns the time from the first
// create until an informer has seen every one hold an address.
func timeUntilAddressed(b *testing.B, client kubernetes.Interface, namespace string, n int) time.Duration {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace))
	inf := factory.Core().V1().Services().Informer()
	var mu sync.Mutex
	addressed := map[string]bool{}
	done := make(chan struct{})
	count := func(obj any) {
		svc, ok := obj.(*v1.Service)
		if !ok || len(svc.Status.LoadBalancer.Ingress) == 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !addressed[svc.Name] {
			addressed[svc.Name] = true
			if len(addressed) == n {
				close(done)
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: count, UpdateFunc: func(_, o any) { count(o) }}); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	factory.WaitForCacheSync(stop)

	start := time.Now()
	createBurst(b, client, namespace, n, nil)
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		mu.Lock()
		defer mu.Unlock()
		b.Fatalf("only %d of %d Services hold an address after 10 minutes", len(addressed), n)
	}
	return time.Since(start)
}

func loadBalancer(namespace string, i int) *v1.Service {
	no := false
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("svc-%05d", i)},
		Spec: v1.ServiceSpec{
			Type:                          v1.ServiceTypeLoadBalancer,
			AllocateLoadBalancerNodePorts: &no,
			Selector:                      map[string]string{"app": "bench"},
			Ports:                         []v1.ServicePort{{Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

// startCCM starts floatlb-ccm at its default flags, plus extra and those of
// $FLOATLB_BENCH_CCM_FLAGS, and returns a stop function and one that reads
// the CPU time it used so far.
func startCCM(b *testing.B, env *kubeenv.Env, extra ...string) (stop func(), cpu func() time.Duration) {
	p := runCCM(b, env, extra...)
	return p.stop, p.cpu
}

// ccmProcess is a running floatlb-ccm.
type ccmProcess struct {
	stop func()
	cpu  func() time.Duration // CPU time used so far
	port int                  // of its secure serving on 127.0.0.1
}

func runCCM(b *testing.B, env *kubeenv.Env, extra ...string) *ccmProcess {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logPath := filepath.Join(b.TempDir(), "ccm.log")
	out, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"--kubeconfig=" + env.Kubeconfig, "--authentication-skip-lookup",
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port)}
	args = append(args, extra...)
	// FLOATLB_BENCH_CCM_FLAGS adds flags, to compare settings with the defaults.
	args = append(args, strings.Fields(os.Getenv("FLOATLB_BENCH_CCM_FLAGS"))...)
	cmd := exec.Command(ccmBinary, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	b.Cleanup(stop)
	return &ccmProcess{stop: stop, cpu: func() time.Duration { return processCPU(cmd.Process.Pid) }, port: port}
}

// processCPU reads the user+system CPU time of pid from /proc.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(data)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ')' {
			s = s[i+2:]
			break
		}
	}
	var fields [15]string
	n := 0
	start := 0
	for i := 0; i <= len(s) && n < len(fields); i++ {
		if i == len(s) || s[i] == ' ' {
			fields[n] = s[start:i]
			n++
			start = i + 1
		}
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}
