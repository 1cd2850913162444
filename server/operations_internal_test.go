package server

import (
	"testing"

	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/gen/managementapi"
)

// Every generated operation has a descriptor, and every descriptor a
// generated operation: adding an operation to a spec fails here until it
// is described.
func TestEveryOperationIsDescribed(t *testing.T) {
	t.Parallel()
	generated := map[string]string{} // operationId: API
	for _, rt := range iceberg.Routes(nil, nil) {
		generated[rt.OperationID] = "iceberg"
		op, ok := operations[rt.OperationID]
		if !ok {
			t.Errorf("Iceberg operation %s (%s %s) has no descriptor", rt.OperationID, rt.Method, rt.Path)
			continue
		}
		// Every Iceberg operation past authentication names its targets.
		if !op.public && op.privilege != "" && op.targets == nil {
			t.Errorf("%s needs %s but names no target", rt.OperationID, op.privilege)
		}
		if op.idempotent && !op.mutation && op.privilege != "read" {
			t.Errorf("%s takes an Idempotency-Key but is neither a mutation nor a read", rt.OperationID)
		}
	}
	for _, rt := range bingsanapi.Routes(nil, nil) {
		generated[rt.OperationID] = "extension"
		if _, ok := operations[rt.OperationID]; !ok {
			t.Errorf("extension operation %s has no descriptor", rt.OperationID)
		}
	}
	for _, rt := range managementapi.Routes(nil, nil) {
		generated[rt.OperationID] = "management"
		op, ok := operations[rt.OperationID]
		if !ok {
			t.Errorf("management operation %s has no descriptor", rt.OperationID)
			continue
		}
		if rt.Method != "GET" && !op.mutation {
			t.Errorf("management operation %s (%s) is not audited as a mutation", rt.OperationID, rt.Method)
		}
		if op.targets != nil || op.idempotent {
			t.Errorf("management operation %s: its handler authorizes; it takes no Idempotency-Key", rt.OperationID)
		}
	}
	for id, op := range operations {
		if _, ok := generated[id]; !ok {
			t.Errorf("descriptor %s describes no generated operation", id)
		}
		if op.on == "" {
			t.Errorf("%s does not say what its targets are", id)
		}
	}
	if !operations["getToken"].public || operations["loadTable"].mutation || !operations["dropTable"].mutation {
		t.Error("descriptor flags are off")
	}
}
