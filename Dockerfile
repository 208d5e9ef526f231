# floatlb: floatlb-ccm and floatlb-announcer, static, on a distroless base.
#   docker build -t ghcr.io/floatlb/floatlb:v0.1.0 .
# make test checks that the build stage's commands work (hack/check-image.sh).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
RUN go build -ldflags="-s -w" -o /out/floatlb-ccm ./cmd/ccm && \
    go build -ldflags="-s -w" -o /out/floatlb-announcer ./cmd/announcer

# nonroot (uid 65532) for floatlb-ccm. The announcer's DaemonSet runs it as
# uid 0 with every capability dropped but NET_ADMIN and NET_RAW
# (manifests/announcer.yaml): Kubernetes grants added capabilities to
# non-root users only through file capabilities, which image layers do not
# carry reliably.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/floatlb-ccm /out/floatlb-announcer /
USER 65532:65532
ENTRYPOINT ["/floatlb-ccm"]
