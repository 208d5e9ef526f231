package announcer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floatlb/floatlb/announcer/apiclient"
)

// Options configure an Announcer.
type Options struct {
	// Client reaches the API server.
	Client *apiclient.Client
	// NodeName is the Node this announcer runs on.
	NodeName string
	// ConfigNamespace and ConfigName locate the floatlb ConfigMap; Secrets
	// with BGP passwords are read from ConfigNamespace too.
	ConfigNamespace, ConfigName string
	// Registerer takes the announcer's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}
