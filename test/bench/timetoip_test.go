package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// BenchmarkTimeToIP1000 reports, for 1,000 Services created in one burst:
// the time the API server needs to create them (floor-create), to create
// them and have a trivial writer patch each status at floatlb-ccm's default
// QPS (floor-create+status), and the time until floatlb-ccm at its default
// flags has given every one an address (floatlb).
func BenchmarkTimeToIP1000(b *testing.B) { benchTimeToIP(b, 1000) }

func benchTimeToIP(b *testing.B, n int) {
	for b.Loop() {
		env := kubeenv.StartT(b, kubeenv.Options{})
		cfg := env.RESTConfig()
		cfg.QPS, cfg.Burst = 1000, 2000 // the creator is not what is measured
		client := kubernetes.NewForConfigOrDie(cfg)
		writerCfg := env.RESTConfig()
		writerCfg.QPS, writerCfg.Burst = 500, 1000 // floatlb-ccm's defaults
		writer := kubernetes.NewForConfigOrDie(writerCfg)
		for _, ns := range []string{"floatlb-system", "floor", "status", "floatlb"} {
			if _, err := client.CoreV1().Namespaces().Create(context.Background(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}

		floor := timeBurst(b, client, "floor", n, nil)
		withStatus := timeBurst(b, client, "status", n, func(ctx context.Context, svc *v1.Service, i int) error {
			patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"ip":"198.18.%d.%d"}]}}}`, i/256, i%256)
			_, err := writer.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
			return err
		})

		if _, err := client.CoreV1().ConfigMaps("floatlb-system").Create(context.Background(), &v1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: "floatlb-system", Name: "floatlb-config"},
			Data:       map[string]string{"config.yaml": config},
		}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		stop, cpu := startCCM(b, env)
		withCCM := timeUntilAddressed(b, client, "floatlb", n)
		used := cpu()
		stop()

		b.ReportMetric(floor.Seconds(), "s-floor-create")
		b.ReportMetric(withStatus.Seconds(), "s-floor-create+status")
		b.ReportMetric(withCCM.Seconds(), "s-floatlb")
		b.ReportMetric(used.Seconds(), "s-ccm-cpu")
		b.Logf("%d Services: API server creates them in %s, creates and patches status in %s; floatlb-ccm (default flags) gives all an address in %s using %s of CPU (%.2f× the create+status floor)",
			n, floor.Round(time.Millisecond), withStatus.Round(time.Millisecond), withCCM.Round(time.Millisecond), used.Round(time.Millisecond), withCCM.Seconds()/withStatus.Seconds())
	}
}

// timeBurst creates n Services in namespace with 16 workers, calling then
// for each after it is created, and returns how long it all took.
func timeBurst(b *testing.B, client kubernetes.Interface, namespace string, n int, then func(context.Context, *v1.Service, int) error) time.Duration {
	start := time.Now()
	createBurst(b, client, namespace, n, then)
	return time.Since(start)
}

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
// create until every one holds an address, watched with an informer.
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

// startCCM starts floatlb-ccm at its default flags and returns a stop
// function and one that reads the CPU time it used so far.
func startCCM(b *testing.B, env *kubeenv.Env) (stop func(), cpu func() time.Duration) {
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
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	cpu = func() time.Duration { return processCPU(cmd.Process.Pid) }
	b.Cleanup(stop)
	return stop, cpu
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
