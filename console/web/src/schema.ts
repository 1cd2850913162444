// Iceberg schemas: the tree of fields (nested structs, lists and maps with
// their ids, required flags, docs and defaults) and a diff of two schema
// versions by field id.

import { Child, h, table } from "./dom";

export type IcebergType = string | StructType | ListType | MapType;
export interface Field { id: number; name: string; required: boolean; type: IcebergType; doc?: string; "initial-default"?: unknown; "write-default"?: unknown }
export interface StructType { type: "struct"; fields: Field[] }
export interface ListType { type: "list"; "element-id": number; element: IcebergType; "element-required": boolean }
export interface MapType { type: "map"; "key-id": number; key: IcebergType; "value-id": number; value: IcebergType; "value-required": boolean }
export interface Schema extends StructType { "schema-id": number; "identifier-field-ids"?: number[] }

export function typeName(t: IcebergType): string {
  if (typeof t === "string") return t;
  switch (t.type) {
    case "struct": return "struct";
    case "list": return `list<${typeName(t.element)}>`;
    case "map": return `map<${typeName(t.key)}, ${typeName(t.value)}>`;
  }
}

const show = (v: unknown) => JSON.stringify(v);

function node(id: number, name: string, required: boolean, t: IcebergType, extra: Child[], identifier: boolean): HTMLElement {
  const row = h("span", { class: "row" },
    h("span", { class: "fid", title: "Field id" }, String(id)),
    h("span", { class: "fname" }, name),
    h("code", { class: "ftype" }, typeName(t)),
    h("span", { class: required ? "req" : "opt" }, required ? "required" : "optional"),
    identifier ? h("span", { class: "badge" }, "identifier") : null,
    extra);
  const kids = children(t, []);
  if (!kids) return h("li", { class: "field", "data-id": id, "data-name": name }, row);
  return h("li", { class: "field", "data-id": id, "data-name": name },
    h("details", { open: true }, h("summary", null, row), kids));
}

function children(t: IcebergType, identifiers: number[]): HTMLElement | null {
  if (typeof t === "string") return null;
  switch (t.type) {
    case "struct":
      return h("ul", { class: "fields" }, t.fields.map((f) => node(f.id, f.name, f.required, f.type, [
        f.doc ? h("span", { class: "doc" }, f.doc) : null,
        f["initial-default"] !== undefined ? h("span", { class: "default" }, "initial default ", h("code", null, show(f["initial-default"]))) : null,
        f["write-default"] !== undefined ? h("span", { class: "default" }, "write default ", h("code", null, show(f["write-default"]))) : null,
      ], identifiers.includes(f.id))));
    case "list":
      return h("ul", { class: "fields" }, node(t["element-id"], "element", t["element-required"], t.element, [], false));
    case "map":
      return h("ul", { class: "fields" },
        node(t["key-id"], "key", true, t.key, [], false),
        node(t["value-id"], "value", t["value-required"], t.value, [], false));
  }
}

/** The schema as a tree of nested lists (details elements fold with the keyboard). */
export function schemaTree(s: Schema): HTMLElement {
  return h("div", { class: "schema-tree", "data-schema-id": s["schema-id"] }, children(s, s["identifier-field-ids"] ?? []));
}

interface Flat { path: string; type: string; required: boolean; doc: string }

function flatten(t: IcebergType, prefix: string, out: Map<number, Flat>): void {
  if (typeof t === "string") return;
  const add = (id: number, name: string, required: boolean, ty: IcebergType, doc = "") => {
    const path = prefix ? `${prefix}.${name}` : name;
    out.set(id, { path, type: typeName(ty), required, doc });
    flatten(ty, path, out);
  };
  switch (t.type) {
    case "struct": t.fields.forEach((f) => add(f.id, f.name, f.required, f.type, f.doc)); break;
    case "list": add(t["element-id"], "element", t["element-required"], t.element); break;
    case "map": add(t["key-id"], "key", true, t.key); add(t["value-id"], "value", t["value-required"], t.value); break;
  }
}

export interface Change { kind: "added" | "removed" | "renamed" | "type changed" | "made required" | "made optional" | "doc changed"; id: number; before: string; after: string }

/** What changed from schema a to schema b, field by field (matched by id). */
export function diffSchemas(a: Schema, b: Schema): Change[] {
  const fa = new Map<number, Flat>(), fb = new Map<number, Flat>();
  flatten(a, "", fa); flatten(b, "", fb);
  const out: Change[] = [];
  const ids = [...new Set([...fa.keys(), ...fb.keys()])].sort((x, y) => x - y);
  for (const id of ids) {
    const x = fa.get(id), y = fb.get(id);
    if (!x && y) { out.push({ kind: "added", id, before: "", after: `${y.path}: ${y.type}` }); continue; }
    if (x && !y) { out.push({ kind: "removed", id, before: `${x.path}: ${x.type}`, after: "" }); continue; }
    if (!x || !y) continue;
    if (x.path !== y.path) out.push({ kind: "renamed", id, before: x.path, after: y.path });
    if (x.type !== y.type) out.push({ kind: "type changed", id, before: x.type, after: y.type });
    if (x.required !== y.required) out.push({ kind: y.required ? "made required" : "made optional", id, before: x.path, after: y.path });
    if (x.doc !== y.doc) out.push({ kind: "doc changed", id, before: x.doc, after: y.doc });
  }
  return out;
}

export function diffTable(changes: Change[]): HTMLElement {
  if (changes.length === 0) return h("p", { class: "muted", id: "schema-diff-result" }, "The two schemas are the same.");
  return h("div", { id: "schema-diff-result" }, table("Schema differences", ["Change", "Field id", "Before", "After"],
    changes.map((c) => [h("span", { class: "change " + c.kind.replace(/ /g, "-") }, c.kind), String(c.id), c.before, c.after]), "diff"));
}
