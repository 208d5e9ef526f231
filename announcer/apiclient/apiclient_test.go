package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// request is what the fake API server saw of one request.
type request struct {
	Method, Path, Query, ContentType string
	// Sent is "apiVersion kind name" of an object sent, or the body.
	Sent string
	body map[string]any
}

// fakeServer records requests and answers each with reply.
type fakeServer struct {
	mu       sync.Mutex
	requests []request
	reply    func(w http.ResponseWriter, r *http.Request)
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type")}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		var m metav1.PartialObjectMetadata
		if json.Unmarshal(b, &m) == nil && m.Kind != "" {
			req.Sent = m.APIVersion + " " + m.Kind + " " + m.Name
		} else {
			req.Sent = string(b)
		}
		_ = json.Unmarshal(b, &req.body)
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	f.reply(w, r)
}

func (f *fakeServer) seen() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

func newFake(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) (*Client, *fakeServer) {
	t.Helper()
	f := &fakeServer{reply: reply}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(&rest.Config{Host: srv.URL, QPS: 50, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

// echo answers with an object of the kind the path names.
func echo(w http.ResponseWriter, r *http.Request) {
	kinds := map[string]string{
		"/api/v1/namespaces/ns/secrets/s":                          `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"cHc="}}`,
		"/apis/coordination.k8s.io/v1/namespaces/ns/leases":        `{"apiVersion":"coordination.k8s.io/v1","kind":"LeaseList","items":[{"metadata":{"name":"l"}}]}`,
		"/apis/coordination.k8s.io/v1/namespaces/ns/leases/l":      `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l","resourceVersion":"2"}}`,
		"/api/v1/namespaces/ns/events":                             `{"apiVersion":"v1","kind":"Event","metadata":{"name":"e"}}`,
		"/api/v1/namespaces/ns/events/e":                           `{"apiVersion":"v1","kind":"Event","metadata":{"name":"e"}}`,
		"/apis/coordination.k8s.io/v1/namespaces/ns/leases/absent": ``,
	}
	body, ok := kinds[r.URL.Path]
	if r.Method == http.MethodPost && r.URL.Path == "/apis/coordination.k8s.io/v1/namespaces/ns/leases" {
		body = kinds[r.URL.Path+"/l"]
	}
	if !ok || body == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

// TestRequests checks the verb and path of each request, which the
// announcer's RBAC allows, and that the answer decodes.
func TestRequests(t *testing.T) {
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", ResourceVersion: "1"}}
	event := &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"}}
	for _, tc := range []struct {
		name string
		do   func(context.Context, *Client) (string, error) // returns the name of what it got
		want request
	}{
		{"secret", func(ctx context.Context, c *Client) (string, error) {
			s, err := c.Secret(ctx, "ns", "s")
			return s.Name + "=" + string(s.Data["k"]), err
		}, request{Method: "GET", Path: "/api/v1/namespaces/ns/secrets/s"}},
		{"lease get", func(ctx context.Context, c *Client) (string, error) {
			l, err := c.Leases("ns").Get(ctx, "l")
			return l.Name, err
		}, request{Method: "GET", Path: "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l"}},
		{"lease list", func(ctx context.Context, c *Client) (string, error) {
			l, err := c.Leases("ns").List(ctx)
			if err != nil {
				return "", err
			}
			return l.Items[0].Name, nil
		}, request{Method: "GET", Path: "/apis/coordination.k8s.io/v1/namespaces/ns/leases"}},
		{"lease create", func(ctx context.Context, c *Client) (string, error) {
			l, err := c.Leases("ns").Create(ctx, lease)
			return l.Name, err
		}, request{Method: "POST", Path: "/apis/coordination.k8s.io/v1/namespaces/ns/leases", ContentType: "application/json",
			Sent: "coordination.k8s.io/v1 Lease l"}},
		{"lease update", func(ctx context.Context, c *Client) (string, error) {
			l, err := c.Leases("ns").Update(ctx, lease)
			return l.Name, err
		}, request{Method: "PUT", Path: "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l", ContentType: "application/json",
			Sent: "coordination.k8s.io/v1 Lease l"}},
		{"event create", func(_ context.Context, c *Client) (string, error) {
			e, err := c.EventSink().Create(event)
			return e.Name, err
		}, request{Method: "POST", Path: "/api/v1/namespaces/ns/events", ContentType: "application/json",
			Sent: "v1 Event e"}},
		{"event patch", func(_ context.Context, c *Client) (string, error) {
			e, err := c.EventSink().Patch(event, []byte(`{"count":2}`))
			return e.Name, err
		}, request{Method: "PATCH", Path: "/api/v1/namespaces/ns/events/e", ContentType: "application/strategic-merge-patch+json",
			Sent: `{"count":2}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f := newFake(t, echo)
			got, err := tc.do(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if got == "" {
				t.Error("the answer decoded to an object without a name")
			}
			if diff := cmp.Diff([]request{tc.want}, f.seen(), cmpopts.IgnoreUnexported(request{})); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	c, _ := newFake(t, echo)
	_, err := c.Leases("ns").Get(t.Context(), "absent")
	if !apierrors.IsNotFound(err) {
		t.Errorf("Get of a missing Lease: %v, want a NotFound status error", err)
	}
}

// TestEventRecorder records an Event about a Service from an informer
// (no kind set) through client-go's broadcaster: the scheme must name its
// kind, and the Event go to the Service's namespace.
func TestEventRecorder(t *testing.T) {
	c, f := newFake(t, echo)
	b := record.NewBroadcaster(record.WithContext(t.Context()))
	defer b.Shutdown()
	b.StartRecordingToSink(c.EventSink())
	rec := b.NewRecorder(c.Scheme(), v1.EventSource{Component: "test"})
	rec.Event(&v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u"}}, v1.EventTypeNormal, "Announced", "hello")
	deadline := time.Now().Add(10 * time.Second)
	for len(f.seen()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := f.seen()
	if len(got) != 1 {
		t.Fatalf("got %d requests, want 1", len(got))
	}
	if got[0].Method != "POST" || got[0].Path != "/api/v1/namespaces/ns/events" {
		t.Errorf("request %s %s, want POST /api/v1/namespaces/ns/events", got[0].Method, got[0].Path)
	}
	want := map[string]any{"apiVersion": "v1", "kind": "Service", "name": "web", "namespace": "ns", "uid": "u"}
	if diff := cmp.Diff(want, got[0].body["involvedObject"]); diff != "" {
		t.Errorf("involvedObject (-want +got):\n%s", diff)
	}
}

// TestInformer runs a ConfigMap informer against a server that answers
// a watch-list request (client-go's default) or, if the client does not
// ask for one, a list and a watch, and checks the selector, the namespace
// and the transform.
func TestInformer(t *testing.T) {
	const cm = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"floatlb","namespace":"ns","resourceVersion":"5","managedFields":[{"manager":"kubectl"}]}}`
	c, f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		q := r.URL.Query()
		if q.Get("watch") != "true" {
			fmt.Fprintf(w, `{"apiVersion":"v1","kind":"ConfigMapList","metadata":{"resourceVersion":"5"},"items":[%s]}`, cm)
			return
		}
		if q.Get("sendInitialEvents") == "true" {
			fmt.Fprintf(w, `{"type":"ADDED","object":%s}`+"\n", cm)
			fmt.Fprint(w, `{"type":"BOOKMARK","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"resourceVersion":"5","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n")
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	inf, err := c.Informer(ConfigMaps, InformerOptions{
		Namespace:     "ns",
		FieldSelector: fields.OneTermEqualSelector("metadata.name", "floatlb"),
		Transform: func(obj any) (any, error) {
			obj.(*v1.ConfigMap).ManagedFields = nil
			return obj, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); inf.RunWithContext(ctx) }()
	defer func() { cancel(); <-done }()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the informer did not sync")
	}
	obj, ok, err := inf.GetIndexer().GetByKey("ns/floatlb")
	if err != nil || !ok {
		t.Fatalf("the cache has no ns/floatlb: %v", err)
	}
	if mf := obj.(*v1.ConfigMap).ManagedFields; mf != nil {
		t.Errorf("the transform did not run: managedFields %v", mf)
	}
	if _, err := inf.GetIndexer().Index(cache.NamespaceIndex, obj); err != nil {
		t.Errorf("no namespace index: %v", err)
	}
	seen := f.seen()
	if q, _ := url.ParseQuery(seen[0].Query); q.Get("sendInitialEvents") != "true" {
		t.Errorf("first request %s is not a watch-list request; client-go's WatchListClient feature is on by default", seen[0].Query)
	}
	for _, r := range seen {
		if r.Path != "/api/v1/namespaces/ns/configmaps" {
			t.Errorf("request to %s, want /api/v1/namespaces/ns/configmaps", r.Path)
		}
		if q, _ := url.ParseQuery(r.Query); q.Get("fieldSelector") != "metadata.name=floatlb" {
			t.Errorf("request %s without the field selector", r.Query)
		}
	}
}
