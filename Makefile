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

.PHONY: build run spec generate check-generated console check-console test test-go conformance bench vet fmt clean

build: ## Build the server binary into bin/bingsan.
	$(GO) build -o $(BIN)/bingsan ./cmd/bingsan

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

fmt:
	gofmt -l -w $$(git ls-files '*.go')

test: ## Set up PostgreSQL, MinIO, fake-gcs-server, Azurite and Chromium if needed, check generated code and the console build, run every test with -race.
	scripts/ensure-postgres.sh
	scripts/ensure-minio.sh
	scripts/ensure-gcs.sh
	scripts/ensure-azurite.sh
	scripts/ensure-chromium.sh
	$(MAKE) check-generated
	$(MAKE) check-console
	$(MAKE) vet
	$(MAKE) test-go

# The conformance suite (./conformance) validates every response against
# the pinned spec, so the tests need it.
test-go: $(SPEC_RAW)
	BINGSAN_TEST_REQUIRE_POSTGRES=1 BINGSAN_TEST_REQUIRE_CHROMIUM=1 $(GO) test -race -count=1 -timeout 40m ./...
	@echo "web console screenshots: $(CURDIR)/test-artifacts/console"

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
# each, and pgbench on the same PostgreSQL at the same concurrency; prints a
# markdown table (also written to bench/results.md). Not part of `make test`.
# PROFILE=dir builds with -tags pprof and writes a CPU profile per workload.
BENCH_DURATION ?= 10s
BENCH_CONNS    ?= 10
bench: ## Run the load harness against PostgreSQL and pgbench (see bench/loadgen).
	scripts/ensure-postgres.sh
	@pgbench=$$(scripts/ensure-pgbench.sh) && \
	$(GO) build $(if $(PROFILE),-tags pprof) -o $(BIN)/bingsan$(if $(PROFILE),-pprof) ./cmd/bingsan && \
	$(GO) run ./bench/loadgen -bin $(BIN)/bingsan$(if $(PROFILE),-pprof) -pgbench "$$pgbench" -duration $(BENCH_DURATION) -conns $(BENCH_CONNS) \
	  -out bench/results.md $(if $(PROFILE),-profile $(PROFILE))

clean:
	rm -rf $(BIN) $(SPEC_DIR)
