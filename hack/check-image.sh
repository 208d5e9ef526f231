#!/usr/bin/env bash
# check-image.sh runs the build stage of the Dockerfile without a container
# engine: its ENV and its RUN lines that call go build, read from the
# Dockerfile (not a copy of them), in the repository (WORKDIR /src after
# COPY . .), with /out/ mapped to a temporary directory. Then it checks that
# the final stage copies binaries the build made, that they are static and
# start, and that .dockerignore keeps none of the build's input files out of
# the context. make test runs it.
#
# It runs the commands in place rather than in a copy of the build context,
# so that they share the build cache with make build and the tests (a copy
# elsewhere would recompile the module: the Dockerfile builds without
# -trimpath, and the directory is part of Go's cache key).
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

fail() {
	echo "check-image.sh: $*" >&2
	exit 1
}

# The Dockerfile's instructions, one per line: continuation lines joined,
# comment lines dropped (as docker does), stages marked by their FROM.
instructions() {
	awk '
		/^[ \t]*#/ { next }
		{
			line = line $0
			if (sub(/\\[ \t]*$/, "", line)) { next }
			if (line ~ /[^ \t]/) { print line }
			line = ""
		}
	' Dockerfile
}

# The build stage: from "FROM ... AS build" to the next FROM.
stage="$(instructions | awk '
	toupper($1) == "FROM" { inside = (toupper($(NF-1)) == "AS" && $NF == "build"); next }
	inside
')"
[ -n "$stage" ] || fail "the Dockerfile has no stage 'AS build'"
grep -q '^WORKDIR /src$' <<<"$stage" || fail "the build stage's WORKDIR is not /src, where this script expects COPY . . to put the repository"

while read -r keyword args; do
	case "${keyword^^}" in
	ENV)
		[[ "$args" == *=* ]] || fail "ENV without key=value: $args"
		eval "export $args"
		;;
	RUN)
		[[ "$args" == *"go build"* ]] || continue # go mod download: the local module cache serves
		cmd="${args//\/out\//$out/}"
		echo "check-image.sh: $cmd" >&2
		sh -c "$cmd" || fail "the build stage's RUN failed: $args"
		built=1
		;;
	esac
done <<<"$stage"
[ -n "${built:-}" ] || fail "the build stage has no RUN with go build"
[ "${CGO_ENABLED:-}" = 0 ] || fail "the build stage does not set CGO_ENABLED=0; the distroless static base needs static binaries"

# What the final stage copies from the build stage.
copied="$(instructions | awk '
	toupper($1) == "COPY" && $2 == "--from=build" { for (i = 3; i < NF; i++) print $i }
')"
for bin in floatlb-ccm floatlb-announcer; do
	grep -qx "/out/$bin" <<<"$copied" || fail "the Dockerfile's final stage does not copy /out/$bin"
done
for src in $copied; do
	[[ "$src" == /out/* ]] || fail "the final stage copies $src, which this script does not map"
	bin="$out/${src#/out/}"
	[ -f "$bin" ] || fail "the final stage copies $src, which the build stage did not make"
	if ldd "$bin" >/dev/null 2>&1; then
		fail "$src is dynamically linked; the distroless static base cannot run it"
	fi
done
"$out/floatlb-ccm" --help >/dev/null
"$out/floatlb-announcer" --help >/dev/null 2>&1 || [ $? -eq 2 ] # flag's ExitOnError exits 2 on -help... or 0

# The build's input files (go.mod, go.sum and the module's own sources and
# embedded files, under the ENV above) must be in the context.
# git check-ignore stands in for docker's matching; for the plain patterns
# of .dockerignore the two agree.
if [ -f .dockerignore ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	inputs="$( (
		echo go.mod
		echo go.sum
		go list -deps -f '{{if and .Module .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}' ./cmd/ccm ./cmd/announcer | sed "s|^$PWD/||"
	) | grep .)"
	rc=0
	hidden="$(git -c core.excludesFile="$PWD/.dockerignore" check-ignore --no-index --stdin <<<"$inputs")" || rc=$?
	case $rc in
	0) fail ".dockerignore keeps build inputs out of the context: $(tr '\n' ' ' <<<"$hidden")" ;;
	1) ;; # none
	*) fail "git check-ignore failed ($rc)" ;;
	esac
fi
echo "check-image.sh: the build stage's go build lines ran; both binaries are static and start" >&2
