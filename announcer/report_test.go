package announcer

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/floatlb/floatlb/config"
)

// testAnnouncer returns the announcer of node with Services default/<name>
// for each of names, whose Events the returned recorder keeps.
func testAnnouncer(t *testing.T, node string, names ...string) (*Announcer, *testRecorder) {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, n := range names {
		if err := idx.Add(&v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	rec := &testRecorder{}
	a := New(Options{NodeName: node, Registerer: prometheus.NewRegistry()})
	a.log = logr.Discard()
	a.recorder = rec
	a.services = corelisters.NewServiceLister(idx)
	return a, rec
}

// testRecorder keeps Events as "namespace/name type reason message".
type testRecorder struct {
	mu     sync.Mutex
	events []string
}

var _ record.EventRecorder = &testRecorder{}

func (r *testRecorder) Event(obj runtime.Object, eventtype, reason, message string) {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s/%s %s %s %s", m.GetNamespace(), m.GetName(), eventtype, reason, message))
}

func (r *testRecorder) Eventf(obj runtime.Object, eventtype, reason, format string, args ...any) {
	r.Event(obj, eventtype, reason, fmt.Sprintf(format, args...))
}

func (r *testRecorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventtype, reason, format string, args ...any) {
	r.Event(obj, eventtype, reason, fmt.Sprintf(format, args...))
}

// recorded takes the Events recorded so far.
func recorded(rec *testRecorder) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := rec.events
	rec.events = nil
	return out
}

// TestReportFlappingNode: a node that takes and loses a Service's address
// every 20 s sends that Service eventBurst Events, then one per eventEvery;
// once it stops flapping, the state it ends in is told (a held-back Event
// is not lost), once. Another Service's Events are not held back.
func TestReportFlappingNode(t *testing.T) {
	a, rec := testAnnouncer(t, "node2", "web", "calm")
	ip, calm := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("198.51.100.8")
	took := func(why string) announcement {
		return announcement{service: "default/web", mode: config.ModeL2, ip: ip, message: ip.String() + " now announced by node2 (was node1: " + why + ")"}
	}
	t0 := time.Unix(1000, 0)
	a.reportAt(nil, t0) // the first plan is not reported
	const flaps, every = 60, 10 * time.Second
	now := t0
	var got []string
	calmEvents := 0
	for i := range flaps {
		now = now.Add(every)
		var anns []announcement
		if i%2 == 0 {
			anns = append(anns, took("lease expired"))
		}
		if i >= flaps/2 {
			anns = append(anns, announcement{service: "default/calm", mode: config.ModeL2, ip: calm, message: calm.String() + " now announced by node2"})
		}
		a.reportAt(anns, now)
		for _, e := range recorded(rec) {
			if !strings.HasPrefix(e, "default/calm ") {
				got = append(got, e)
				continue
			}
			calmEvents++
			if i != flaps/2 {
				t.Errorf("plan %d: the other Service's Event %q, want it at plan %d", i, e, flaps/2)
			}
		}
	}
	if calmEvents != 1 {
		t.Errorf("the other Service got %d Events, want 1", calmEvents)
	}
	most := eventBurst + int(flaps*every/eventEvery) + 1
	if len(got) < eventBurst || len(got) > most {
		t.Fatalf("%d flaps in %s: %d Events, want %d to %d:\n%s", flaps/2, flaps*every, len(got), eventBurst, most, strings.Join(got, "\n"))
	}

	// The node ends up owning the address, for another reason than any
	// Event so far said; plans come at least every resync (30 s).
	last := took("rebalanced")
	var after []string
	for range 2 * eventEvery / (30 * time.Second) {
		now = now.Add(30 * time.Second)
		a.reportAt([]announcement{last}, now)
		after = append(after, recorded(rec)...)
	}
	want := "default/web Normal floatlb.io/Announced " + last.message
	if len(after) != 1 || after[0] != want {
		t.Errorf("after the flapping: Events %q, want just %q", after, want)
	}
}

// TestReportWithdrawnHeldBack: a Withdrawn Event held back by the budget is
// sent by a later plan; the one for a Service announced again meanwhile is
// not sent at all.
func TestReportWithdrawnHeldBack(t *testing.T) {
	a, rec := testAnnouncer(t, "node2", "web")
	ann := announcement{service: "default/web", mode: config.ModeBGP, ip: netip.MustParseAddr("198.51.100.7")}
	now := time.Unix(1000, 0)
	a.reportAt(nil, now)
	for i := range eventBurst {
		now = now.Add(time.Second)
		if i%2 == 0 {
			a.reportAt([]announcement{ann}, now)
		} else {
			a.reportAt(nil, now)
		}
	}
	if got := recorded(rec); len(got) != eventBurst {
		t.Fatalf("%d Events in the burst, want %d: %q", len(got), eventBurst, got)
	}
	// The last was a Withdrawn; the next Announced waits.
	now = now.Add(time.Second)
	a.reportAt([]announcement{ann}, now)
	if got := recorded(rec); len(got) != 0 {
		t.Fatalf("Events beyond the burst: %q", got)
	}
	now = now.Add(eventEvery)
	a.reportAt(nil, now) // back to withdrawn, which the last Event said
	if got := recorded(rec); len(got) != 0 {
		t.Errorf("Events that repeat the last one: %q", got)
	}
	a.reportAt([]announcement{ann}, now)
	want := "default/web Normal floatlb.io/Announced node2 announces 198.51.100.7 by bgp"
	if got := recorded(rec); len(got) != 1 || got[0] != want {
		t.Errorf("with budget back: Events %q, want %q", got, want)
	}
	a.reportAt(nil, now.Add(time.Second))
	if got := recorded(rec); len(got) != 0 {
		t.Errorf("Events with the budget spent: %q", got)
	}
	a.reportAt(nil, now.Add(eventEvery))
	want = "default/web Normal floatlb.io/Withdrawn node2 no longer announces this Service"
	if got := recorded(rec); len(got) != 1 || got[0] != want {
		t.Errorf("with budget back: Events %q, want %q", got, want)
	}
}
