#!/usr/bin/env bash
# install-deps.sh installs, on a Debian machine as root, the packages that
# floatlb's tests and demo use and that are missing. It is idempotent and
# quick when everything is there. Go itself is expected on PATH (see go.mod).
set -o errexit -o nounset -o pipefail

# command → Debian package
declare -A wanted=(
	[arping]=iputils-arping
	[bird]=bird2
	[birdc]=bird2
	[curl]=curl
	[gcc]=gcc
	[keepalived]=keepalived
	[ip]=iproute2
	[ndisc6]=ndisc6
)

missing=()
for cmd in "${!wanted[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
# go test -race needs cgo: a C compiler and the C library's headers.
[ -e /usr/include/stdio.h ] || missing+=(libc6-dev)
command -v go >/dev/null 2>&1 || {
	echo "install-deps.sh: go is not on PATH; install Go $(sed -n 's/^go //p' "$(dirname "$0")/../go.mod") first" >&2
	exit 1
}
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: missing packages ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
