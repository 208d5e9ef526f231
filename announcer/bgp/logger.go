package bgp

import (
	"github.com/go-logr/logr"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

// logger adapts GoBGP's logger to logr: GoBGP's errors and warnings stay
// visible, its info at V(2) and debug at V(4).
type logger struct {
	l     logr.Logger
	level gobgplog.LogLevel
}

var _ gobgplog.Logger = &logger{}

func fields(f gobgplog.Fields) []any {
	kv := make([]any, 0, 2*len(f))
	for k, v := range f {
		kv = append(kv, k, v)
	}
	return kv
}

func (g *logger) Panic(msg string, f gobgplog.Fields) { g.l.Error(nil, msg, fields(f)...); panic(msg) }
func (g *logger) Fatal(msg string, f gobgplog.Fields) {
	g.l.Error(nil, "GoBGP fatal: "+msg, fields(f)...)
}
func (g *logger) Error(msg string, f gobgplog.Fields) { g.l.Error(nil, msg, fields(f)...) }
func (g *logger) Warn(msg string, f gobgplog.Fields)  { g.l.Info(msg, fields(f)...) }
func (g *logger) Info(msg string, f gobgplog.Fields)  { g.l.V(2).Info(msg, fields(f)...) }
func (g *logger) Debug(msg string, f gobgplog.Fields) { g.l.V(4).Info(msg, fields(f)...) }
func (g *logger) SetLevel(level gobgplog.LogLevel)    { g.level = level }
func (g *logger) GetLevel() gobgplog.LogLevel         { return gobgplog.DebugLevel }
