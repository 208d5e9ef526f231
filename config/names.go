package config

import (
	"regexp"
	"strings"
	"unicode"
)

// The name rules of Kubernetes (k8s.io/apimachinery/pkg/util/validation),
// restated here to keep this package free of k8s.io imports.
var (
	dns1123LabelRe     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123SubdomainRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelNameRe        = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	secretKeyRe        = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
)

const dnsLabelHint = "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"

// isDNS1123Label reports whether s is a valid Kubernetes name such as a
// namespace's: lowercase letters, digits and '-', at most 63 characters.
func isDNS1123Label(s string) bool {
	return len(s) <= 63 && dns1123LabelRe.MatchString(s)
}

func isDNS1123Subdomain(s string) bool {
	return len(s) <= 253 && dns1123SubdomainRe.MatchString(s)
}

// isLabelKey reports whether s is a valid label key: an optional DNS
// subdomain prefix and '/', then a name of at most 63 characters.
func isLabelKey(s string) bool {
	name := s
	if prefix, n, ok := strings.Cut(s, "/"); ok {
		if !isDNS1123Subdomain(prefix) {
			return false
		}
		name = n
	}
	return len(name) <= 63 && labelNameRe.MatchString(name)
}

// isLabelValue reports whether s is a valid label value; it may be empty.
func isLabelValue(s string) bool {
	return s == "" || (len(s) <= 63 && labelNameRe.MatchString(s))
}

// isSecretKey reports whether s is a valid key of a Secret's data.
func isSecretKey(s string) bool {
	return len(s) <= 253 && secretKeyRe.MatchString(s) && s != "." && s != ".." && !strings.HasPrefix(s, "..")
}

// isInterfaceName reports whether s is a valid Linux interface name, by the
// kernel's dev_valid_name: 1 to 15 bytes, not "." or "..", and no '/', ':'
// or whitespace.
func isInterfaceName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return r == '/' || r == ':' || unicode.IsSpace(r)
	})
}
