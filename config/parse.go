package config

import (
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Parse decodes a config document, fills in the defaults and validates it.
// Unknown fields are refused. The error lists every problem, one per line,
// each with the path of its field, such as
//
//	pools[1].addresses[0]: "198.51.100.300-198.51.100.310" is not a valid range: "198.51.100.300" is not an IP address
//
// The returned Config has every default filled in, Pool.Ranges and Peer.Addr
// included.
func Parse(data []byte) (*Config, error) {
	doc, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	if hasMoreDocuments(data) {
		return nil, errors.New("the config holds more than one YAML document; keep only the floatlb config")
	}
	if err := checkSchema(doc); err != nil {
		return nil, err
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		// checkSchema has let through something that the decoder refuses.
		return nil, fmt.Errorf("decoding config: %w", err)
	}
	setDefaults(&c)
	if err := validate(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Load parses the config from the data of the ConfigMap that holds it, under
// the key config.yaml (ConfigKey).
func Load(data map[string]string) (*Config, error) {
	s, ok := data[ConfigKey]
	if !ok {
		return nil, fmt.Errorf("the ConfigMap has no key %q; put the floatlb config there", ConfigKey)
	}
	return Parse([]byte(s))
}
