#!/usr/bin/env bash
# fuzz.sh FUZZTIME PKG:FUZZFUNC... — fuzz each target for FUZZTIME.
#
# Go 1.26's fuzz coordinator can fail a run that found nothing with a bare
# "context deadline exceeded" at the end of -fuzztime, when a worker on a
# loaded machine has not answered before the deadline (golang/go#75804,
# fixed in Go 1.27). Such a run is tried again, up to three times; a run
# that writes a failing input, or fails in any other way, fails this script.
set -euo pipefail

fuzztime=$1
shift
go=${GO:-go}

run() { # pkg fn
	"$go" test -run='^$' -fuzz="^$2\$" -fuzztime="$fuzztime" "$1" 2>&1
}

for target in "$@"; do
	pkg=${target%%:*}
	fn=${target##*:}
	for attempt in 1 2 3; do
		echo "fuzz $fn ($pkg) for $fuzztime"
		if out=$(run "$pkg" "$fn"); then
			echo "$out" | tail -n 3
			break
		fi
		echo "$out"
		if [[ $attempt -lt 3 ]] && grep -q 'context deadline exceeded' <<<"$out" &&
			! grep -q 'Failing input written' <<<"$out"; then
			echo "fuzz $fn: the Go fuzz coordinator's deadline race (golang/go#75804), no failing input; again"
			continue
		fi
		exit 1
	done
done
