# syntax=docker/dockerfile:1
# Bingsan for Docker users: docker build -t bingsan .
# `make image` builds the same image without a Docker daemon (see
# deploy/image): same files, user, environment, port, volume, health check
# and labels. Pass the build's identity as make does:
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg BUILD_DATE=$(git log -1 --format=%cI) -t bingsan .
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${BUILD_DATE}" \
      -o /out/bingsan ./cmd/bingsan
RUN mkdir -p /out/etc /out/tmp /out/var/lib/bingsan && chmod 1777 /out/tmp \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nbingsan:x:65532:65532:bingsan:/var/lib/bingsan:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nbingsan:x:65532:\n' > /out/etc/group

FROM scratch
ARG VERSION=devel
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/etc/passwd /out/etc/group /etc/
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/var/lib/bingsan /var/lib/bingsan
COPY --from=build /out/bingsan /bingsan
USER 65532:65532
ENV BINGSAN_LISTEN=0.0.0.0:8181
ENV BINGSAN_DATA_DIR=/var/lib/bingsan
WORKDIR /var/lib/bingsan
VOLUME /var/lib/bingsan
EXPOSE 8181/tcp
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/bingsan", "health"]
LABEL org.opencontainers.image.title="bingsan" \
      org.opencontainers.image.description="Apache Iceberg REST catalog server" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.source="https://github.com/bingsan/bingsan" \
      org.opencontainers.image.documentation="https://github.com/bingsan/bingsan/tree/main/docs"
ENTRYPOINT ["/bingsan"]
CMD ["serve"]
