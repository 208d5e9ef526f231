package apiclient

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
)

// eventSink writes core/v1 Events for client-go's Event broadcaster, each
// in its own namespace, as client-go's EventSinkImpl does.
type eventSink struct{ c *Client }

var _ record.EventSink = eventSink{}

// EventSink returns the sink of an Event broadcaster.
func (c *Client) EventSink() record.EventSink { return eventSink{c} }

func (s eventSink) Create(e *v1.Event) (*v1.Event, error) {
	out := &v1.Event{}
	err := s.c.core.Post().NamespaceIfScoped(e.Namespace, e.Namespace != "").Resource("events").
		Body(e).Do(context.Background()).Into(out)
	return out, err
}

func (s eventSink) Update(e *v1.Event) (*v1.Event, error) {
	out := &v1.Event{}
	err := s.c.core.Put().NamespaceIfScoped(e.Namespace, e.Namespace != "").Resource("events").Name(e.Name).
		Body(e).Do(context.Background()).Into(out)
	return out, err
}

func (s eventSink) Patch(e *v1.Event, data []byte) (*v1.Event, error) {
	out := &v1.Event{}
	err := s.c.core.Patch(types.StrategicMergePatchType).NamespaceIfScoped(e.Namespace, e.Namespace != "").
		Resource("events").Name(e.Name).Body(data).Do(context.Background()).Into(out)
	return out, err
}
