# Bingsan build, generation and tests. `make test` is the one command that sets
# up what the tests need on a fresh machine and runs all of them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

include openapi/pin.mk

GO        ?= go
BIN       := $(CURDIR)/bin
SHARED    := $(CURDIR)/../shared/openapi
SPEC_DIR  := openapi/spec
SPEC_RAW  := $(SPEC_DIR)/$(SPEC_FILE)
SPEC_PREP := $(SPEC_DIR)/rest-catalog.yaml

OAPI_CODEGEN := $(BIN)/oapi-codegen
SQLC         := $(BIN)/sqlc

.PHONY: build image run spec generate check-generated console check-console test test-go test-deploy conformance bench vet fmt clean spec-diff

# What `bingsan version` reports (see cmd/bingsan/version.go). The build date
# is the commit's date, so that building one commit twice gives the same
# binary and the same image.
# A work tree with uncommitted changes marks the version and the binary's
# commit ("(modified)" in `bingsan version`); the image's revision label is
# the commit alone.
DIRTY             := $(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
VERSION           ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo devel$(DIRTY))
COMMIT            ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
BUILD_DATE        ?= $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS           := -X main.version=$(VERSION) -X main.commit=$(COMMIT)$(DIRTY) -X main.date=$(BUILD_DATE)

build: ## Build the server binary into bin/bingsan.
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/bingsan ./cmd/bingsan

# The container image, built without a daemon (deploy/image): a static,
# stripped binary for linux/IMAGE_ARCH on an empty base with CA certificates.
# Writes bin/image/oci (OCI layout: skopeo, crane, podman) and
# bin/image/bingsan.tar (docker load -i). The Dockerfile builds the same.
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
IMAGE_DIR  := $(BIN)/image
image: ## Build the container image without a daemon into bin/image (OCI layout and docker-load tarball).
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -buildvcs=false \
	  -ldflags '-s -w $(LDFLAGS)' -o $(BIN)/bingsan-linux-$(IMAGE_ARCH) ./cmd/bingsan
	cd deploy && $(GO) run ./cmd/imagebuild -binary $(BIN)/bingsan-linux-$(IMAGE_ARCH) -out $(IMAGE_DIR) \
	  -version '$(VERSION)' -revision '$(COMMIT)' -source-date-epoch $(SOURCE_DATE_EPOCH)

run: build ## Run the catalog with the embedded defaults.
	$(BIN)/bingsan serve

# The upstream spec is not committed: take the shared copy when there is one,
# otherwise download the pinned URL, and verify the checksum either way.
$(SPEC_RAW): openapi/pin.mk
	@mkdir -p $(SPEC_DIR)
	@if [ -f "$(SHARED)/$(SPEC_FILE)" ]; then cp "$(SHARED)/$(SPEC_FILE)" $@.tmp; \
	 else curl -fsSL --retry 3 -o $@.tmp "$(SPEC_URL)"; fi
	@echo "$(SPEC_SHA256)  $@.tmp" | sha256sum -c --quiet - || { rm -f $@.tmp; echo "spec checksum mismatch" >&2; exit 1; }
	@mv $@.tmp $@

$(SPEC_PREP): $(SPEC_RAW) openapi/preprocess/main.go
	$(GO) run ./openapi/preprocess $(SPEC_RAW) $@

spec: $(SPEC_PREP) ## Fetch, verify and preprocess the pinned spec.

# Generators are built from the versions pinned in go.mod (see tools.go).
$(OAPI_CODEGEN): go.mod
	$(GO) build -o $@ github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen

# sqlc without cgo builds twice as fast and generates the same code.
$(SQLC): go.mod
	CGO_ENABLED=0 $(GO) build -o $@ github.com/sqlc-dev/sqlc/cmd/sqlc

generate: $(SPEC_PREP) $(OAPI_CODEGEN) $(SQLC) ## Regenerate everything under gen/.
	@mkdir -p gen/iceberg gen/bingsanapi gen/managementapi
	$(OAPI_CODEGEN) -templates openapi/templates -config openapi/oapi-codegen.yaml $(SPEC_PREP)
	$(OAPI_CODEGEN) -templates openapi/templates -config openapi/oapi-codegen-bingsan.yaml openapi/bingsan.yaml
	$(OAPI_CODEGEN) -templates openapi/templates -config openapi/oapi-codegen-management.yaml openapi/management.yaml
	$(SQLC) generate

# What changed between two versions of a spec (operations, schemas, fields):
# the starting list of an upgrade. make spec-diff OLD=old.yaml NEW=new.yaml
spec-diff: ## List operations, schemas and fields added, removed or changed between OLD and NEW.
	@test -n "$(OLD)" -a -n "$(NEW)" || { echo "usage: make spec-diff OLD=<file> NEW=<file>" >&2; exit 2; }
	@$(GO) run ./openapi/specdiff "$(OLD)" "$(NEW)"

check-generated: generate ## Fail when committed generated code differs from a fresh generation.
	@if [ -n "$$(git status --porcelain -- gen sql)" ]; then \
	  echo "generated code is out of date; run make generate and commit:" >&2; \
	  git status --porcelain -- gen sql >&2; git diff --stat -- gen >&2; exit 1; fi

# The web console's built files (console/dist) are committed, so a Go build
# needs no npm; these rebuild them and check they are current.
console: ## Rebuild the web console into console/dist (needs node and npm).
	cd console/web && npm ci --no-audit --no-fund --loglevel=error && npx --no-install tsc --noEmit && node build.mjs

check-console: ## Fail when console/dist differs from a fresh build of console/web.
	scripts/check-console.sh

vet:
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

test: ## Set up PostgreSQL, MinIO, fake-gcs-server, Azurite and Chromium if needed, check generated code and the console build, run every test with -race.
	scripts/check-test-prerequisites.sh "$(SPEC_FILE)" "$(SPEC_URL)"
	$(MAKE) spec
	scripts/ensure-postgres.sh
	scripts/ensure-minio.sh
	scripts/ensure-gcs.sh
	scripts/ensure-azurite.sh
	scripts/ensure-chromium.sh
	$(MAKE) check-generated
	$(MAKE) check-console
	$(MAKE) vet
	$(MAKE) test-go
	$(MAKE) test-deploy

# The conformance suite (./conformance) validates every response against
# the pinned spec, so the tests need it.
test-go: $(SPEC_RAW)
	BINGSAN_TEST_REQUIRE_POSTGRES=1 BINGSAN_TEST_REQUIRE_CHROMIUM=1 $(GO) test -race -count=1 -timeout 40m ./...
	@echo "web console screenshots: $(CURDIR)/test-artifacts/console"

# The deploy module (its own go.mod, so that Kubernetes, Helm-adjacent,
# compose and image libraries stay out of the server's): the image from
# `make image` opened and run, the Helm chart through the pinned helm
# (scripts/ensure-helm.sh), the compose quick start as processes (MinIO from
# scripts/ensure-minio.sh), dashboards and alerts against /metrics, docs.
test-deploy: image
	scripts/ensure-postgres.sh
	@helm=$$(scripts/ensure-helm.sh) && minio=$$(scripts/ensure-minio.sh --binary) && \
	cd deploy && BINGSAN_TEST_REQUIRE_POSTGRES=1 BINGSAN_TEST_IMAGE=$(IMAGE_DIR) \
	  BINGSAN_TEST_BINARY=$(BIN)/bingsan-linux-$(IMAGE_ARCH) BINGSAN_TEST_HELM="$$helm" BINGSAN_TEST_MINIO_BINARY="$$minio" \
	  $(GO) test -race -count=1 -timeout 20m ./...

# Check any Iceberg REST catalog: make conformance URL=http://host:8181 [WAREHOUSE=name].
# Without URL it checks Bingsan on SQLite, on PostgreSQL and as three
# processes sharing one PostgreSQL. Prints a table of pass/fail counts per
# behaviour group (also written to conformance/summary.md).
conformance: $(SPEC_RAW) ## Run the conformance suite against URL (default: Bingsan itself).
	@if [ -z "$(URL)" ]; then scripts/ensure-postgres.sh; fi
	cd conformance && $(GO) test -count=1 -timeout 30m -run '^(TestConformance|TestIcebergJS)$$' \
	  -args -summary="$(CURDIR)/conformance/summary.md" $(if $(URL),-url='$(URL)') $(if $(WAREHOUSE),-warehouse='$(WAREHOUSE)')

# The load harness (bench/loadgen): bin/bingsan on a fresh PostgreSQL
# database, fixed workloads from BENCH_CONNS connections for BENCH_DURATION
# each, each followed by its floor (the same work without the catalog), and
# pgbench on the same PostgreSQL at the same concurrency; BENCH_RUNS rounds,
# medians reported; prints a markdown table (also written to
# bench/results.md). Not part of `make test`.
# PROFILE=dir builds with -tags pprof and writes a CPU profile per workload.
BENCH_DURATION ?= 10s
BENCH_CONNS    ?= 10
BENCH_RUNS     ?= 3
bench: ## Run the load harness against PostgreSQL and pgbench (see bench/loadgen).
	scripts/ensure-postgres.sh
	@pgbench=$$(scripts/ensure-pgbench.sh) && \
	$(GO) build $(if $(PROFILE),-tags pprof) -o $(BIN)/bingsan$(if $(PROFILE),-pprof) ./cmd/bingsan && \
	$(GO) run ./bench/loadgen -bin $(BIN)/bingsan$(if $(PROFILE),-pprof) -pgbench "$$pgbench" -duration $(BENCH_DURATION) -conns $(BENCH_CONNS) -runs $(BENCH_RUNS) \
	  -out bench/results.md $(if $(PROFILE),-profile $(PROFILE))

clean:
	rm -rf $(BIN) $(SPEC_DIR)
