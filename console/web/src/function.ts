// The function page: the overloads (definitions) of a SQL UDF, each with
// its parameters, return type and versions holding SQL per dialect, and
// the function's properties. Field names follow the Iceberg UDF spec's
// metadata as the catalog serves it (iceberg-go's udf package).

import { get, nsPath, whPath } from "./api";
import { breadcrumbs } from "./browse";
import { facts, fmtTime, h, replace, table } from "./dom";
import { properties, section, toc } from "./table";

/** A primitive is its name; nested types are objects like schema types. */
type UdfType = string | { type: string; element?: UdfType; key?: UdfType; value?: UdfType; fields?: { name: string; type: UdfType }[] };

interface DefinitionVersion {
  "version-id": number; "timestamp-ms": number; deterministic?: boolean; "on-null-input"?: string;
  representations: { type: string; dialect?: string; sql?: string }[];
}
interface Definition {
  "definition-id": string; "specific-name"?: string; "function-type": string; doc?: string;
  parameters: { name: string; type: UdfType; doc?: string }[];
  "return-type": UdfType; "return-nullable"?: boolean;
  versions: DefinitionVersion[]; "current-version-id": number;
}
interface FunctionMetadata {
  "function-uuid": string; "format-version": number; location?: string; doc?: string; secure?: boolean;
  definitions: Definition[]; "definition-log"?: { "timestamp-ms": number; "definition-versions": { "definition-id": string; "version-id": number }[] }[];
  properties?: Record<string, string>;
}

function typeText(t: UdfType): string {
  if (typeof t === "string") return t;
  switch (t.type) {
    case "list": return `list<${typeText(t.element ?? "?")}>`;
    case "map": return `map<${typeText(t.key ?? "?")}, ${typeText(t.value ?? "?")}>`;
    case "struct": return `struct<${(t.fields ?? []).map((f) => `${f.name}: ${typeText(f.type)}`).join(", ")}>`;
    default: return JSON.stringify(t);
  }
}

function definition(d: Definition): HTMLElement {
  const versions = [...d.versions].sort((a, b) => b["version-id"] - a["version-id"]);
  const signature = `(${d.parameters.map((p) => `${p.name} ${typeText(p.type)}`).join(", ")}) → ${typeText(d["return-type"])}`;
  return h("li", { class: "definition", "data-definition-id": d["definition-id"] },
    h("h3", null, h("code", null, signature)),
    facts([
      ["Definition id", h("code", null, d["definition-id"])],
      ["Specific name", d["specific-name"] ?? "(none)"],
      ["Function type", d["function-type"]],
      ["Returns", [h("code", null, typeText(d["return-type"])), d["return-nullable"] === false ? " (never null)" : ""]],
      ["Current version", String(d["current-version-id"])],
      ["Doc", d.doc ?? "—"],
    ]),
    d.parameters.length
      ? table("Parameters", ["Name", "Type", "Doc"], d.parameters.map((p) => [p.name, h("code", null, typeText(p.type)), p.doc ?? ""]))
      : h("p", { class: "muted" }, "No parameters."),
    h("ol", { class: "versions" }, versions.map((v) => h("li", { class: "version", "data-version-id": v["version-id"] },
      h("h4", null, `Version ${v["version-id"]}`, v["version-id"] === d["current-version-id"] ? h("span", { class: "badge" }, "current") : null),
      facts([
        ["Created", fmtTime(v["timestamp-ms"])],
        ["Deterministic", v.deterministic ? "yes" : "no"],
        ["On null input", v["on-null-input"] ?? "—"],
      ]),
      v.representations.map((r) => h("figure", { class: "sql" },
        h("figcaption", null, r.type === "sql" ? `SQL (${r.dialect ?? "no dialect"})` : r.type),
        h("pre", { tabindex: 0 }, h("code", { "data-dialect": r.dialect ?? "" }, r.sql ?? JSON.stringify(r)))))))));
}

export async function functionPage(main: HTMLElement, warehouse: string, namespace: string[], name: string): Promise<void> {
  const res = await get<{ "metadata-location"?: string; metadata: FunctionMetadata }>(
    `${whPath(warehouse)}/namespaces/${nsPath(namespace)}/functions/${encodeURIComponent(name)}`);
  const md = res.metadata;
  const log = md["definition-log"] ?? [];
  replace(main,
    breadcrumbs(warehouse, namespace, name),
    h("h1", { tabindex: -1 }, "Function ", h("code", null, [...namespace, name].join("."))),
    toc([["overview", "Overview"], ["definitions", "Definitions"], ["properties", "Properties"]]),
    section("overview", "Overview", facts([
      ["Format version", String(md["format-version"])],
      ["Location", md.location ? h("code", null, md.location) : "—"],
      ["Metadata file", res["metadata-location"] ? h("code", null, res["metadata-location"]) : "—"],
      ["Function UUID", h("code", null, md["function-uuid"])],
      ["Definitions", String(md.definitions.length)],
      ["Secure", md.secure ? "yes" : "no"],
      ["Doc", md.doc ?? "—"],
      ["Last changed", log.length ? fmtTime(Math.max(...log.map((e) => e["timestamp-ms"]))) : "—"],
    ])),
    section("definitions", "Definitions", md.definitions.length
      ? h("ol", { class: "versions" }, md.definitions.map(definition))
      : h("p", { class: "muted" }, "No definitions.")),
    section("properties", "Properties", properties(md.properties)));
}
