// Package docs holds floatlb's operator documentation. Its tests keep the
// reference pages from drifting away from the code: every metric, Event
// reason and annotation the Go sources define is in reference.md, every field
// and default of the config schema is in config.md, and neither page names
// one the code does not have.
package docs

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/floatlb/floatlb/config"
)

// root is the repository, seen from this package's directory.
const root = ".."

var (
	// Metric names are string literals (prometheus and component-base
	// options take them as Name).
	metricInCode = regexp.MustCompile(`"(floatlb_[a-z0-9_]+)"`)
	// Event reasons are CamelCase after the prefix; a literal followed by
	// + is the start of a reason built at run time ("floatlb.io/VRRP" +
	// the new state).
	reasonInCode = regexp.MustCompile(`"(floatlb\.io/[A-Z][A-Za-z]*)"(\s*\+)?`)
	// Annotations are lowercase with dashes.
	annotationInCode = regexp.MustCompile(`"(floatlb\.io/[a-z][a-z0-9-]*)"`)
	// The config's apiVersion (floatlb.io/v1alpha1) looks like an annotation.
	apiVersion = regexp.MustCompile(`^floatlb\.io/v[0-9]+((alpha|beta)[0-9]+)?$`)

	metricInDoc     = regexp.MustCompile("`(floatlb_[a-z0-9_]+)[`{]")
	reasonInDoc     = regexp.MustCompile("`(floatlb\\.io/[A-Z][A-Za-z]*)`")
	annotationInDoc = regexp.MustCompile("`(floatlb\\.io/[a-z][a-z0-9-]*)`")
)

// names is what the Go sources define, each with the file that says so.
type names struct {
	metrics, reasons, reasonPrefixes, annotations map[string]string
}

// scanSources reads every non-test Go file of the binaries' code: not test/,
// hack/ or testdata.
func scanSources(t *testing.T) names {
	t.Helper()
	n := names{
		metrics:        map[string]string{},
		reasons:        map[string]string{},
		reasonPrefixes: map[string]string{},
		annotations:    map[string]string{},
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "bin":
				return filepath.SkipDir
			}
			// Tests, benchmarks, the demo and hack/tools (a module of its
			// own) may name metrics and reasons they read; only the
			// binaries' code defines them.
			if rel, _ := filepath.Rel(root, path); rel == "test" || rel == "hack" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range metricInCode.FindAllSubmatch(b, -1) {
			n.metrics[string(m[1])] = rel
		}
		for _, m := range reasonInCode.FindAllSubmatch(b, -1) {
			if len(m[2]) > 0 {
				n.reasonPrefixes[string(m[1])] = rel
			} else {
				n.reasons[string(m[1])] = rel
			}
		}
		for _, m := range annotationInCode.FindAllSubmatch(b, -1) {
			if !apiVersion.Match(m[1]) {
				n.annotations[string(m[1])] = rel
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the Go sources: %v", err)
	}
	if len(n.metrics) == 0 || len(n.reasons) == 0 || len(n.annotations) == 0 {
		t.Fatalf("found %d metrics, %d Event reasons and %d annotations in the sources; the patterns of this test no longer match the code",
			len(n.metrics), len(n.reasons), len(n.annotations))
	}
	return n
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return string(b)
}

func found(re *regexp.Regexp, doc string) map[string]bool {
	out := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		out[m[1]] = true
	}
	return out
}

// TestReferenceCoversCode fails for every metric, Event reason and
// annotation of the code that reference.md does not document in backticks.
func TestReferenceCoversCode(t *testing.T) {
	n := scanSources(t)
	doc := readDoc(t, "reference.md")
	check := func(kind string, code map[string]string, documented map[string]bool) {
		for _, name := range slices.Sorted(maps.Keys(code)) {
			if !documented[name] {
				t.Errorf("%s %s (%s) is not documented in docs/reference.md", kind, name, code[name])
			}
		}
	}
	check("metric", n.metrics, found(metricInDoc, doc))
	check("Event reason", n.reasons, found(reasonInDoc, doc))
	check("annotation", n.annotations, found(annotationInDoc, doc))

	// A reason built at run time: reference.md must list at least one
	// reason with that prefix besides the fixed ones.
	reasons := found(reasonInDoc, doc)
	for _, prefix := range slices.Sorted(maps.Keys(n.reasonPrefixes)) {
		ok := false
		for r := range reasons {
			if strings.HasPrefix(r, prefix) && r != prefix && n.reasons[r] == "" {
				ok = true
			}
		}
		if !ok {
			t.Errorf("Event reasons starting with %s are built at run time (%s); docs/reference.md lists none of them",
				prefix, n.reasonPrefixes[prefix])
		}
	}
}

// TestReferenceNamesOnlyWhatExists fails for names in reference.md that the
// code does not define, so that a rename leaves no stale entry behind.
func TestReferenceNamesOnlyWhatExists(t *testing.T) {
	n := scanSources(t)
	doc := readDoc(t, "reference.md")
	for name := range found(metricInDoc, doc) {
		if n.metrics[name] == "" {
			t.Errorf("docs/reference.md documents the metric %s, which no Go source defines", name)
		}
	}
	for name := range found(annotationInDoc, doc) {
		if n.annotations[name] == "" {
			t.Errorf("docs/reference.md documents the annotation %s, which no Go source defines", name)
		}
	}
	for name := range found(reasonInDoc, doc) {
		if n.reasons[name] != "" {
			continue
		}
		prefixed := false
		for p := range n.reasonPrefixes {
			prefixed = prefixed || strings.HasPrefix(name, p)
		}
		if !prefixed {
			t.Errorf("docs/reference.md documents the Event reason %s, which no Go source emits", name)
		}
	}
}

// configPaths returns the path of every field of t as config.md writes
// it: "pools[].bgp.peers", "bgp.peers[].passwordSecret.name".
func configPaths(prefix string, t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		out = append(out, path)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if reflect.PointerTo(ft).Implements(reflect.TypeFor[json.Unmarshaler]()) {
			continue // a leaf written as one value, such as a Duration
		}
		switch ft.Kind() {
		case reflect.Struct:
			out = append(out, configPaths(path, ft)...)
		case reflect.Slice:
			if e := ft.Elem(); e.Kind() == reflect.Struct {
				out = append(out, configPaths(path+"[]", e)...)
			}
		}
	}
	return out
}

// TestConfigDocCoversSchema fails for every field of config.Config and its
// nested types that docs/config.md does not name in backticks.
func TestConfigDocCoversSchema(t *testing.T) {
	doc := readDoc(t, "config.md")
	paths := configPaths("", reflect.TypeFor[config.Config]())
	if len(paths) < 10 {
		t.Fatalf("found only %d config fields: %v", len(paths), paths)
	}
	for _, p := range paths {
		if !strings.Contains(doc, "`"+p+"`") {
			t.Errorf("config field %s is not documented in docs/config.md (write it as `%s`)", p, p)
		}
	}
}

// defaultDoc says how config.md states a default constant: its value as
// written in the config, and the field whose table row must carry it ("" for
// anywhere in the page).
type defaultDoc struct {
	value any
	field string
}

// defaults lists the default constants of config/types.go. A new one fails
// TestConfigDocStatesDefaults until it is added here and to config.md.
var defaults = map[string]defaultDoc{
	"DefaultPeerPort":        {config.DefaultPeerPort, "bgp.peers[].port"},
	"DefaultHoldTime":        {config.DefaultHoldTime, "bgp.peers[].holdTime"},
	"DefaultLeaseDuration":   {config.DefaultLeaseDuration, "l2.leaseDuration"},
	"DefaultAdvertInterval":  {config.DefaultAdvertInterval, "vrrp.advertInterval"},
	"DefaultReservedVRID":    {config.DefaultReservedVRID, "vrrp.reservedVRIDs"},
	"DefaultListenPort":      {config.DefaultListenPort, "bgp.listenPort"},
	"DefaultMode":            {config.DefaultMode, "pools[].mode"},
	"DefaultConfigNamespace": {config.DefaultConfigNamespace, ""},
	"DefaultConfigName":      {config.DefaultConfigName, ""},
	"ConfigKey":              {config.ConfigKey, ""},
}

// written renders a default as the config (and config.md) writes it.
func written(v any) string {
	if d, ok := v.(time.Duration); ok && d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprint(v)
}

// TestConfigDocStatesDefaults fails for every default constant of
// config/types.go whose value docs/config.md does not state.
func TestConfigDocStatesDefaults(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(root, "config", "types.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parsing config/types.go: %v", err)
	}
	var consts []string
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			for _, id := range spec.(*ast.ValueSpec).Names {
				if strings.HasPrefix(id.Name, "Default") || id.Name == "ConfigKey" {
					consts = append(consts, id.Name)
				}
			}
		}
	}
	if len(consts) == 0 {
		t.Fatal("found no Default constants in config/types.go")
	}

	doc := readDoc(t, "config.md")
	rows := map[string]string{}
	for _, line := range strings.Split(doc, "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			if field, _, ok := strings.Cut(rest, "`"); ok {
				rows[field] = line
			}
		}
	}
	for _, name := range consts {
		d, ok := defaults[name]
		if !ok {
			t.Errorf("config/types.go has the default %s, which this test does not know: add it to defaults here and state it in docs/config.md", name)
			continue
		}
		want := "`" + written(d.value) + "`"
		where, text := "docs/config.md", doc
		if d.field != "" {
			where, text = fmt.Sprintf("the row of `%s` in docs/config.md", d.field), rows[d.field]
		}
		if !strings.Contains(text, want) {
			t.Errorf("%s = %s is not stated in %s", name, want, where)
		}
	}
}
