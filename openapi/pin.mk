# The pinned upstream Iceberg REST catalog spec. Upgrading the spec means
# changing these lines, then `make generate` and fixing what no longer
# compiles (docs/development.md, "Upgrading the spec").
#
# The pin is upstream main as copied on 2026-08-21 (after 1.11.0: functions,
# unregisterTable, the Predicate expression model, the variant type). The
# shared copy ../shared/openapi/$(SPEC_FILE) is authoritative: no upstream
# commit is known to hold exactly this text, so SPEC_URL (main's raw file)
# is a fallback that the checksum refuses as soon as main moves on.
SPEC_TAG    := main
SPEC_FILE   := rest-catalog-open-api-main-2026-08-21.yaml
SPEC_URL    := https://raw.githubusercontent.com/apache/iceberg/$(SPEC_TAG)/open-api/rest-catalog-open-api.yaml
SPEC_SHA256 := 9a160d49002a14e559ab4dcb5be9953b8880ca1544cf9773f05b1a720c3b35b7
