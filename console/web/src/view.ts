// The view page: versions with their SQL per dialect and default
// namespace, the current schema and the properties.

import { get, nsPath, whPath } from "./api";
import { breadcrumbs } from "./browse";
import { facts, fmtTime, h, replace } from "./dom";
import { Schema, schemaTree } from "./schema";
import { properties, section, toc } from "./table";

interface ViewVersion {
  "version-id": number; "timestamp-ms": number; "schema-id": number; summary?: Record<string, string>;
  representations: { type: string; sql?: string; dialect?: string }[];
  "default-catalog"?: string; "default-namespace": string[];
}
interface ViewMetadata {
  "view-uuid": string; "format-version": number; location: string; "current-version-id": number;
  versions: ViewVersion[]; "version-log"?: { "version-id": number; "timestamp-ms": number }[];
  schemas: Schema[]; properties?: Record<string, string>;
}

export async function viewPage(main: HTMLElement, warehouse: string, namespace: string[], name: string): Promise<void> {
  const res = await get<{ "metadata-location": string; metadata: ViewMetadata }>(
    `${whPath(warehouse)}/namespaces/${nsPath(namespace)}/views/${encodeURIComponent(name)}`);
  const md = res.metadata;
  const versions = [...md.versions].sort((a, b) => b["version-id"] - a["version-id"]);
  const cur = versions.find((v) => v["version-id"] === md["current-version-id"]);
  const schema = md.schemas.find((s) => s["schema-id"] === cur?.["schema-id"]);
  replace(main,
    breadcrumbs(warehouse, namespace, name),
    h("h1", { tabindex: -1 }, "View ", h("code", null, [...namespace, name].join("."))),
    toc([["overview", "Overview"], ["versions", "Versions"], ["schema", "Schema"], ["properties", "Properties"]]),
    section("overview", "Overview", facts([
      ["Format version", String(md["format-version"])],
      ["Location", h("code", null, md.location)],
      ["Metadata file", h("code", null, res["metadata-location"])],
      ["View UUID", h("code", null, md["view-uuid"])],
      ["Current version", String(md["current-version-id"])],
    ])),
    section("versions", "Versions", h("ol", { class: "versions" }, versions.map((v) => h("li", { class: "version", "data-version-id": v["version-id"] },
      h("h3", null, `Version ${v["version-id"]}`, v === cur ? h("span", { class: "badge" }, "current") : null),
      facts([
        ["Created", fmtTime(v["timestamp-ms"])],
        ["Default namespace", v["default-namespace"].length ? h("code", null, v["default-namespace"].join(".")) : "(none)"],
        ["Default catalog", v["default-catalog"] ?? "(none)"],
        ["Schema id", String(v["schema-id"])],
        ["Summary", Object.entries(v.summary ?? {}).map(([k, x]) => `${k}=${x}`).join(", ") || "—"],
      ]),
      v.representations.map((r) => h("figure", { class: "sql" },
        h("figcaption", null, r.type === "sql" ? `SQL (${r.dialect ?? "no dialect"})` : r.type),
        h("pre", { tabindex: 0 }, h("code", { "data-dialect": r.dialect ?? "" }, r.sql ?? JSON.stringify(r))))))))),
    section("schema", "Schema", schema ? schemaTree(schema) : h("p", { class: "muted" }, "No schema.")),
    section("properties", "Properties", properties(md.properties)));
}
