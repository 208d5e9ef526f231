#!/usr/bin/env bash
# build-tools.sh builds the kube-apiserver, kubectl and etcd binaries that
# floatlb's integration and e2e tests run, from the versions pinned in
# hack/tools/go.mod.
#
# The binaries go to a cache directory outside the work tree, so that fresh
# clones (and CI runs with a cached $HOME/.cache) reuse them:
#
#   ${FLOATLB_TOOLS_DIR:-$HOME/.cache/floatlb/tools}/k8s-<version>-etcd-<version>/
#       kube-apiserver  kubectl  etcd
#
# Nothing is built when all three binaries exist and run. The build goes to a
# temporary directory next to the target, which is then renamed into place, so
# an interrupted build never leaves a half-filled directory behind.
#
# The last line on stdout is the directory holding the binaries; point the
# tests at it with FLOATLB_TOOLS_BIN if it is not the default. Progress goes to
# stderr.
#
# Environment:
#   FLOATLB_TOOLS_DIR  parent of the versioned directory (default $HOME/.cache/floatlb/tools)
#   CGO_ENABLED        default 0: static binaries, as upstream ships them, that run on any
#                      Linux and need no C compiler to build
#   GOFLAGS etc.       passed through to go build
#
# Flags:
#   --force            rebuild even when the binaries are there
set -o errexit -o nounset -o pipefail

force=false
for arg in "$@"; do
	case "$arg" in
	--force) force=true ;;
	-h | --help)
		sed -n '2,/^set -o/{/^set -o/d;s/^# \{0,1\}//;p}' "$0" >&2
		exit 0
		;;
	*)
		echo "build-tools.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

log() { echo "build-tools.sh: $*" >&2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_mod="$root/hack/tools"

command -v go >/dev/null 2>&1 || {
	log "go is not on PATH; install Go (see go.mod for the version) and try again"
	exit 1
}

# The go.mod of hack/tools is the one source of the versions; a go.work in a
# parent directory must not change what gets built.
export GOWORK=off
cd "$tools_mod"
k8s_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
etcd_version="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"

parent="${FLOATLB_TOOLS_DIR:-${HOME:?HOME is not set; set FLOATLB_TOOLS_DIR}/.cache/floatlb/tools}"
dir="$parent/k8s-$k8s_version-etcd-$etcd_version"

runs() { # runs DIR: all binaries exist and tell their version
	[[ -x "$1/kube-apiserver" && -x "$1/etcd" && -x "$1/kubectl" ]] || return 1
	"$1/kube-apiserver" --version >/dev/null 2>&1 &&
		"$1/etcd" --version >/dev/null 2>&1 &&
		"$1/kubectl" version --client >/dev/null 2>&1
}

if ! $force && runs "$dir"; then
	log "up to date: $dir"
	echo "$dir"
	exit 0
fi

mkdir -p "$parent"
tmp="$(mktemp -d "$parent/.build-XXXXXX")"
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

# Stamp the Kubernetes version as upstream's build does, so /version and
# `kubectl version` report v1.x.y rather than v0.0.0-master.
minor="${k8s_version#v*.}"
minor="${minor%%.*}"
major="${k8s_version#v}"
major="${major%%.*}"
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

export CGO_ENABLED="${CGO_ENABLED:-0}"
log "building kube-apiserver and kubectl $k8s_version, etcd $etcd_version (CGO_ENABLED=$CGO_ENABLED); the first build takes a while"
# -buildvcs=false: hack/tools sits in the floatlb repository, whose VCS state
# says nothing about these binaries (and git may refuse a checkout owned by
# another user).
go build -buildvcs=false -ldflags "$ldflags" -o "$tmp/" \
	go.etcd.io/etcd/server/v3 \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kubectl
mv "$tmp/server" "$tmp/etcd" # the etcd main package is go.etcd.io/etcd/server/v3

runs "$tmp" || {
	log "the freshly built binaries do not run"
	exit 1
}

chmod 0755 "$tmp"
# Swap the new directory in. rename(2) cannot replace a non-empty directory,
# so a stale one is moved aside first and removed afterwards. mv -T never
# moves into an existing directory: if a parallel run won the race, keep its
# result.
if [[ -e "$dir" ]]; then
	old="$(mktemp -d "$parent/.old-XXXXXX")"
	mv -T "$dir" "$old/dir" 2>/dev/null || true
	trap 'cleanup; rm -rf "$old"' EXIT
fi
if ! mv -T "$tmp" "$dir" 2>/dev/null; then
	runs "$dir" || {
		log "cannot move the build to $dir"
		exit 1
	}
	log "a parallel run built $dir first; using it"
fi
log "built: $dir"
echo "$dir"
