# The pinned upstream Iceberg REST catalog spec. Upgrading the spec means
# changing these three lines, then `make generate` and fixing what no longer
# compiles.
SPEC_TAG    := apache-iceberg-1.11.0
SPEC_FILE   := rest-catalog-open-api-1.11.0.yaml
SPEC_URL    := https://raw.githubusercontent.com/apache/iceberg/$(SPEC_TAG)/open-api/rest-catalog-open-api.yaml
SPEC_SHA256 := 80d2ec83a70eeff6e7194853f8791c17cceb14610fae6a0e6afdd2921806ee4a
