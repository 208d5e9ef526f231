package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// checkSchema compares the document doc (JSON, converted from the YAML) with
// the Go types of Config and reports, with their paths, every field that
// Config does not have and every value of the wrong shape. It runs before
// the typed decoding, whose errors name neither the path nor all problems.
//
// Field names match exactly (encoding/json would also take "Pools" for
// "pools"). Numbers and booleans are fine where a string is expected:
// sigs.k8s.io/yaml turns them into strings when decoding.
func checkSchema(doc []byte) error {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	var errs fieldErrors
	switch v.(type) {
	case nil, map[string]any:
		checkValue(&errs, "", v, reflect.TypeFor[Config]())
	default:
		errs.add("", "the config must be a mapping with apiVersion, kind and pools, not %s", show(v))
	}
	return errs.err()
}

func checkValue(errs *fieldErrors, path string, v any, t reflect.Type) {
	if v == nil {
		return // null leaves the field unset
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		raw, err := json.Marshal(v)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw)
		}
		if err != nil {
			errs.add(path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkValue(errs, path, v, t.Elem())
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			errs.add(path, "must be a mapping, not %s", show(v))
			return
		}
		checkStruct(errs, path, obj, t)
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			errs.add(path, "must be a mapping, not %s", show(v))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			checkValue(errs, key(path, k), obj[k], t.Elem())
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			errs.add(path, "must be a list, not %s", show(v))
			return
		}
		for i, e := range list {
			checkValue(errs, index(path, i), e, t.Elem())
		}
	case reflect.String:
		switch v.(type) {
		case string, json.Number, bool:
		default:
			errs.add(path, "must be a string, not %s", show(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			errs.add(path, "must be true or false, not %s", show(v))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		checkInt(errs, path, v, t.Bits(), false)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		checkInt(errs, path, v, t.Bits(), true)
	default:
		errs.add(path, "has a type the config schema does not handle: %s", t)
	}
}

// checkStruct reports the keys of obj that t has no field for, then checks
// the known fields in the order t declares them.
func checkStruct(errs *fieldErrors, path string, obj map[string]any, t reflect.Type) {
	fields := make(map[string]reflect.Type, t.NumField())
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if _, ok := fields[k]; ok {
			continue
		}
		if i := slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(n, k) }); i >= 0 {
			errs.add(field(path, k), "unknown field; did you mean %q?", names[i])
		} else {
			errs.add(field(path, k), "unknown field")
		}
	}
	for _, name := range names {
		if v, ok := obj[name]; ok {
			checkValue(errs, field(path, name), v, fields[name])
		}
	}
}

func checkInt(errs *fieldErrors, path string, v any, bits int, unsigned bool) {
	n, ok := v.(json.Number)
	if !ok {
		errs.add(path, "must be a whole number, not %s", show(v))
		return
	}
	var err error
	if unsigned {
		digits, negative := strings.CutPrefix(n.String(), "-")
		_, err = strconv.ParseUint(digits, 10, bits)
		if negative && (err == nil || errors.Is(err, strconv.ErrRange)) {
			err = strconv.ErrRange
		}
	} else {
		_, err = strconv.ParseInt(n.String(), 10, bits)
	}
	switch {
	case errors.Is(err, strconv.ErrRange):
		var lo, hi string
		if unsigned {
			lo, hi = "0", strconv.FormatUint(math.MaxUint64>>(64-bits), 10)
		} else {
			lo = strconv.FormatInt(math.MinInt64>>(64-bits), 10)
			hi = strconv.FormatInt(math.MaxInt64>>(64-bits), 10)
		}
		errs.add(path, "%s is out of range (%s..%s)", n, lo, hi)
	case err != nil:
		errs.add(path, "must be a whole number, not %s", n)
	}
}

// show renders a value of the document for an error message, cut short.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "an invalid value"
	}
	const limit = 60
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}
