// The table page: overview, schema tree and schema diff, partition specs
// and sort orders (every version, the default marked), properties,
// snapshots as a timeline, refs and the metadata log.

import { get, nsPath, whPath } from "./api";
import { breadcrumbs } from "./browse";
import { Child, facts, fmtBytes, fmtTime, h, replace, table } from "./dom";
import { Schema, diffSchemas, diffTable, schemaTree } from "./schema";

interface Snapshot {
  "snapshot-id": number; "parent-snapshot-id"?: number; "sequence-number"?: number; "timestamp-ms": number;
  "manifest-list"?: string; summary?: Record<string, string>; "schema-id"?: number;
}
interface Ref { "snapshot-id": number; type: "branch" | "tag"; "max-ref-age-ms"?: number; "max-snapshot-age-ms"?: number; "min-snapshots-to-keep"?: number }
interface TableMetadata {
  "format-version": number; "table-uuid": string; location: string; "last-updated-ms": number;
  "last-sequence-number"?: number; "last-column-id"?: number;
  properties?: Record<string, string>;
  schemas: Schema[]; "current-schema-id": number;
  "partition-specs": { "spec-id": number; fields: { name: string; transform: string; "source-id": number; "field-id"?: number }[] }[];
  "default-spec-id": number;
  "sort-orders": { "order-id": number; fields: { transform: string; "source-id": number; direction: string; "null-order": string }[] }[];
  "default-sort-order-id": number;
  snapshots?: Snapshot[]; "current-snapshot-id"?: number | null;
  refs?: Record<string, Ref>;
  "snapshot-log"?: { "snapshot-id": number; "timestamp-ms": number }[];
  "metadata-log"?: { "metadata-file": string; "timestamp-ms": number }[];
}

export function section(id: string, title: string, ...body: Child[]): HTMLElement {
  return h("section", { id, "aria-labelledby": id + "-title", class: "part" }, h("h2", { id: id + "-title", tabindex: -1 }, title), body);
}

/** Buttons that move focus to the page's sections (anchors would change the route). */
export function toc(parts: [string, string][]): HTMLElement {
  return h("nav", { class: "toc", "aria-label": "On this page" }, h("ul", null, parts.map(([id, title]) =>
    h("li", null, h("button", { type: "button", class: "link", onclick: () => {
      const el = document.getElementById(id + "-title");
      el?.scrollIntoView({ block: "start" }); el?.focus();
    } }, title)))));
}

export function properties(p: Record<string, string> | undefined): HTMLElement {
  const entries = Object.entries(p ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? table("Properties", ["Key", "Value"], entries.map(([k, v]) => [k, v])) : h("p", { class: "muted" }, "No properties.");
}

const counts: [string, string, boolean][] = [
  ["added-data-files", "data files added", false], ["deleted-data-files", "data files removed", false],
  ["added-delete-files", "delete files added", false], ["removed-delete-files", "delete files removed", false],
  ["added-records", "records added", false], ["deleted-records", "records removed", false],
  ["added-files-size", "bytes added", true], ["removed-files-size", "bytes removed", true],
  ["total-records", "records in total", false], ["total-data-files", "data files in total", false],
  ["total-files-size", "total size", true],
];

function timeline(md: TableMetadata): HTMLElement {
  const snaps = [...(md.snapshots ?? [])].sort((a, b) => b["timestamp-ms"] - a["timestamp-ms"] || b["snapshot-id"] - a["snapshot-id"]);
  if (snaps.length === 0) return h("p", { class: "muted" }, "No snapshots yet.");
  const refsOf = (id: number) => Object.entries(md.refs ?? {}).filter(([, r]) => r["snapshot-id"] === id);
  return h("ol", { class: "timeline", "aria-label": "Snapshots, newest first" }, snaps.map((s) => {
    const sum = s.summary ?? {};
    const current = s["snapshot-id"] === md["current-snapshot-id"];
    return h("li", { class: "snapshot" + (current ? " current" : ""), "data-snapshot-id": String(s["snapshot-id"]) },
      h("div", { class: "when" }, fmtTime(s["timestamp-ms"])),
      h("div", { class: "what" },
        h("span", { class: "op op-" + (sum.operation ?? "unknown") }, sum.operation ?? "unknown"), " ",
        h("code", null, String(s["snapshot-id"])),
        current ? h("span", { class: "badge" }, "current") : null,
        refsOf(s["snapshot-id"]).map(([name, r]) => h("span", { class: "badge ref" }, `${r.type} ${name}`)),
        h("dl", { class: "counts" }, counts.filter(([k]) => sum[k] !== undefined).map(([k, label, bytes]) =>
          h("div", null, h("dt", null, label), h("dd", { "data-key": k }, bytes ? fmtBytes(sum[k]) : sum[k])))),
        h("details", null, h("summary", null, "Details"), facts([
          ["Parent", s["parent-snapshot-id"] !== undefined ? String(s["parent-snapshot-id"]) : "none"],
          ["Sequence number", s["sequence-number"] !== undefined ? String(s["sequence-number"]) : "—"],
          ["Schema id", s["schema-id"] !== undefined ? String(s["schema-id"]) : "—"],
          ["Manifest list", s["manifest-list"] ? h("code", null, s["manifest-list"]) : "—"],
          ["Summary", h("code", { class: "wrap" }, JSON.stringify(sum))],
        ]))));
  }));
}

function schemaSection(md: TableMetadata): HTMLElement {
  const schemas = [...md.schemas].sort((a, b) => a["schema-id"] - b["schema-id"]);
  const current = schemas.find((s) => s["schema-id"] === md["current-schema-id"]) ?? schemas[schemas.length - 1];
  const treeBox = h("div", null, schemaTree(current));
  const pick = h("select", { id: "schema-version", onchange: () => {
    const s = schemas.find((x) => String(x["schema-id"]) === pick.value);
    if (s) replace(treeBox, schemaTree(s));
  } }, schemas.map((s) => h("option", { value: s["schema-id"], selected: s === current }, `Schema ${s["schema-id"]}` + (s === current ? " (current)" : ""))));
  const from = h("select", { id: "diff-from" }, schemas.map((s, i) => h("option", { value: s["schema-id"], selected: i === Math.max(0, schemas.length - 2) }, `Schema ${s["schema-id"]}`)));
  const to = h("select", { id: "diff-to" }, schemas.map((s) => h("option", { value: s["schema-id"], selected: s === current }, `Schema ${s["schema-id"]}`)));
  const out = h("div");
  const compare = () => {
    const a = schemas.find((s) => String(s["schema-id"]) === from.value), b = schemas.find((s) => String(s["schema-id"]) === to.value);
    if (a && b) replace(out, diffTable(diffSchemas(a, b)));
  };
  return section("schema", "Schema",
    h("div", { class: "inline" }, h("label", { for: "schema-version" }, "Version"), pick),
    treeBox,
    schemas.length > 1 ? h("form", { class: "inline diff-form", onsubmit: (e: Event) => { e.preventDefault(); compare(); } },
      h("h3", null, "Compare schema versions"),
      h("label", { for: "diff-from" }, "From"), from, h("label", { for: "diff-to" }, "To"), to,
      h("button", { type: "submit", id: "diff-run" }, "Compare")) : null,
    out);
}

export async function tablePage(main: HTMLElement, warehouse: string, namespace: string[], name: string): Promise<void> {
  const res = await get<{ "metadata-location"?: string; metadata: TableMetadata }>(
    `${whPath(warehouse)}/namespaces/${nsPath(namespace)}/tables/${encodeURIComponent(name)}`);
  const md = res.metadata;
  const current = md.schemas.find((s) => s["schema-id"] === md["current-schema-id"]);
  const names = new Map<number, string>();
  const walk = (fields: Schema["fields"], prefix: string) => fields.forEach((f) => {
    names.set(f.id, prefix + f.name);
    if (typeof f.type !== "string" && f.type.type === "struct") walk(f.type.fields, prefix + f.name + ".");
  });
  if (current) walk(current.fields, "");
  const col = (id: number) => names.get(id) ?? `field ${id}`;
  const refs = Object.entries(md.refs ?? {}).sort(([a], [b]) => a.localeCompare(b));
  // The log is in commit order (timestamps can tie or, with clock skew, go back).
  const log = [...(md["metadata-log"] ?? [])].reverse();
  const parts: [string, string][] = [["overview", "Overview"], ["schema", "Schema"], ["partitioning", "Partition specs"], ["sorting", "Sort orders"],
    ["properties", "Properties"], ["snapshots", "Snapshots"], ["refs", "Refs"], ["metadata-log", "Metadata log"]];
  replace(main,
    breadcrumbs(warehouse, namespace, name),
    h("h1", { tabindex: -1 }, "Table ", h("code", null, [...namespace, name].join("."))),
    toc(parts),
    section("overview", "Overview", facts([
      ["Format version", String(md["format-version"])],
      ["Location", h("code", null, md.location)],
      ["Metadata file", res["metadata-location"] ? h("code", null, res["metadata-location"]) : "—"],
      ["Table UUID", h("code", null, md["table-uuid"])],
      ["Last updated", fmtTime(md["last-updated-ms"])],
      ["Current snapshot", md["current-snapshot-id"] != null && md["current-snapshot-id"] !== -1 ? String(md["current-snapshot-id"]) : "none"],
      ["Snapshots", String(md.snapshots?.length ?? 0)],
    ])),
    schemaSection(md),
    section("partitioning", "Partition specs", md["partition-specs"].map((s) => h("div", { class: "version", "data-spec-id": s["spec-id"] },
      h("h3", null, `Spec ${s["spec-id"]}`, s["spec-id"] === md["default-spec-id"] ? h("span", { class: "badge" }, "default") : null),
      s.fields.length === 0 ? h("p", { class: "muted" }, "Unpartitioned.")
        : table(`Partition spec ${s["spec-id"]}`, ["Field id", "Name", "Transform", "Source column"],
          s.fields.map((f) => [String(f["field-id"] ?? "—"), f.name, h("code", null, f.transform), `${col(f["source-id"])} (${f["source-id"]})`]))))),
    section("sorting", "Sort orders", md["sort-orders"].map((o) => h("div", { class: "version", "data-order-id": o["order-id"] },
      h("h3", null, `Order ${o["order-id"]}`, o["order-id"] === md["default-sort-order-id"] ? h("span", { class: "badge" }, "default") : null),
      o.fields.length === 0 ? h("p", { class: "muted" }, "Unsorted.")
        : table(`Sort order ${o["order-id"]}`, ["Source column", "Transform", "Direction", "Nulls"],
          o.fields.map((f) => [`${col(f["source-id"])} (${f["source-id"]})`, h("code", null, f.transform), f.direction, f["null-order"]]))))),
    section("properties", "Properties", properties(md.properties)),
    section("snapshots", "Snapshots", timeline(md)),
    section("refs", "Refs", refs.length === 0 ? h("p", { class: "muted" }, "No branches or tags.")
      : table("Branches and tags", ["Name", "Type", "Snapshot", "Retention"], refs.map(([n, r]) => [n, r.type, String(r["snapshot-id"]),
        [r["max-ref-age-ms"] !== undefined ? `ref age ${r["max-ref-age-ms"]} ms` : "", r["max-snapshot-age-ms"] !== undefined ? `snapshot age ${r["max-snapshot-age-ms"]} ms` : "",
          r["min-snapshots-to-keep"] !== undefined ? `keep ${r["min-snapshots-to-keep"]}` : ""].filter(Boolean).join(", ") || "—"]))),
    section("metadata-log", "Metadata log",
      table("Metadata files, newest first", ["Written", "Metadata file"], [
        ...(res["metadata-location"] ? [[fmtTime(md["last-updated-ms"]), h("span", null, h("code", null, res["metadata-location"]), " ", h("span", { class: "badge" }, "current"))]] : []),
        ...log.map((e) => [fmtTime(e["timestamp-ms"]), h("code", null, e["metadata-file"])]),
      ])));
}
