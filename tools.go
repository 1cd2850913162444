//go:build tools

// Package tools pins the code generators that `make generate` runs, so every
// machine regenerates with the same versions that produced the committed code.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "github.com/sqlc-dev/sqlc/cmd/sqlc"
)
