package apiclient

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Resource is a kind of object the announcer watches.
type Resource int

// The resources the announcer watches.
const (
	Services Resource = iota
	EndpointSlices
	Nodes
	ConfigMaps
	Leases
)

func (r Resource) String() string {
	switch r {
	case Services:
		return "services"
	case EndpointSlices:
		return "endpointslices"
	case Nodes:
		return "nodes"
	case ConfigMaps:
		return "configmaps"
	case Leases:
		return "leases"
	}
	return fmt.Sprintf("Resource(%d)", int(r))
}

// InformerOptions narrow what an informer watches and keeps.
type InformerOptions struct {
	// Namespace limits the informer to one namespace; empty: all.
	Namespace string
	// FieldSelector limits the objects; nil: all.
	FieldSelector fields.Selector
	// Transform, if set, changes each object before the cache stores it.
	Transform cache.TransformFunc
}

// Informer returns an informer of r, not started, that never resyncs.
// Namespaced resources get the namespace index, as the informers of
// client-go's factory do, so that their listers list a namespace without
// reading every object.
func (c *Client) Informer(r Resource, opts InformerOptions) (cache.SharedIndexInformer, error) {
	var (
		client     *rest.RESTClient
		object     runtime.Object
		namespaced = true
	)
	switch r {
	case Services:
		client, object = c.core, &v1.Service{}
	case EndpointSlices:
		client, object = c.discovery, &discoveryv1.EndpointSlice{}
	case Nodes:
		client, object, namespaced = c.core, &v1.Node{}, false
	case ConfigMaps:
		client, object = c.core, &v1.ConfigMap{}
	case Leases:
		client, object = c.coordination, &coordinationv1.Lease{}
	default:
		return nil, fmt.Errorf("no informer for %s", r)
	}
	var indexers cache.Indexers
	if namespaced {
		indexers = cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
	}
	inf := cache.NewSharedIndexInformerWithOptions(listWatch(client, r.String(), opts), object,
		cache.SharedIndexInformerOptions{Indexers: indexers})
	if opts.Transform != nil {
		if err := inf.SetTransform(opts.Transform); err != nil {
			return nil, fmt.Errorf("transform of the %s informer: %w", r, err)
		}
	}
	return inf, nil
}

// listWatch lists and watches resource through client. The reflector uses
// a watch-list stream instead of a list where the WatchListClient feature
// of client-go is on (its default) and the API server supports it, as for
// the informers of client-go's factory.
func listWatch(client *rest.RESTClient, resource string, opts InformerOptions) *cache.ListWatch {
	narrow := func(o *metav1.ListOptions) {
		if opts.FieldSelector != nil {
			o.FieldSelector = opts.FieldSelector.String()
		}
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			narrow(&o)
			return client.Get().Namespace(opts.Namespace).Resource(resource).
				VersionedParams(&o, metav1.ParameterCodec).Do(ctx).Get()
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			narrow(&o)
			o.Watch = true
			return client.Get().Namespace(opts.Namespace).Resource(resource).
				VersionedParams(&o, metav1.ParameterCodec).Watch(ctx)
		},
	}
}
