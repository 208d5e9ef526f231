#!/usr/bin/env bash
# check-image.sh runs the build stage of the Dockerfile without a container
# engine: the same go build commands, static, and checks that the binaries
# are static and start. make test runs it.
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# The RUN lines of the build stage, as written there.
grep -q 'CGO_ENABLED=0' Dockerfile
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
go build -ldflags="-s -w" -o "$out/floatlb-ccm" ./cmd/ccm
go build -ldflags="-s -w" -o "$out/floatlb-announcer" ./cmd/announcer
for bin in floatlb-ccm floatlb-announcer; do
	if ldd "$out/$bin" >/dev/null 2>&1; then
		echo "check-image.sh: $bin is dynamically linked; the distroless static base cannot run it" >&2
		exit 1
	fi
	grep -q "/$bin" Dockerfile || { echo "check-image.sh: the Dockerfile does not copy $bin" >&2; exit 1; }
done
"$out/floatlb-ccm" --help >/dev/null
"$out/floatlb-announcer" --help >/dev/null 2>&1 || [ $? -eq 2 ] # flag's ExitOnError exits 2 on -help... or 0
echo "check-image.sh: both binaries build static and start" >&2
