// Package config is the schema of floatlb's configuration, the YAML document
// stored under the key config.yaml of the ConfigMap floatlb-system/floatlb-config:
// Parse and Load decode it strictly (unknown fields are refused), fill in the
// defaults, and validate it, returning every problem at once with the path of
// the field at fault, so that an invalid config is refused whole and never
// half-applied.
package config
