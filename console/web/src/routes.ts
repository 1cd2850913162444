// Hash routes, so every page is a deep link and navigation never reloads
// (a reload would drop the in-memory credential).

export type Route =
  | { page: "home" }
  | { page: "namespace"; warehouse: string; namespace: string[] }
  | { page: "table"; warehouse: string; namespace: string[]; name: string }
  | { page: "view"; warehouse: string; namespace: string[]; name: string }
  | { page: "function"; warehouse: string; namespace: string[]; name: string }
  | { page: "events" }
  | { page: "audit" }
  | { page: "access" };

const enc = (s: string) => encodeURIComponent(s).replace(/\./g, "%2E");
const encNs = (levels: string[]) => levels.map(enc).join(".");

export function href(r: Route): string {
  switch (r.page) {
    case "home": return "#/";
    case "namespace": return `#/w/${enc(r.warehouse)}` + (r.namespace.length ? `/n/${encNs(r.namespace)}` : "");
    case "table": return `#/w/${enc(r.warehouse)}/n/${encNs(r.namespace)}/t/${enc(r.name)}`;
    case "view": return `#/w/${enc(r.warehouse)}/n/${encNs(r.namespace)}/v/${enc(r.name)}`;
    case "function": return `#/w/${enc(r.warehouse)}/n/${encNs(r.namespace)}/f/${enc(r.name)}`;
    default: return `#/${r.page}`;
  }
}

export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter((p) => p !== "");
  const dec = (s: string) => { try { return decodeURIComponent(s); } catch { return s; } };
  if (parts[0] === "w" && parts[1] !== undefined) {
    const warehouse = dec(parts[1]);
    const namespace = parts[2] === "n" && parts[3] ? parts[3].split(".").map(dec) : [];
    if (parts[4] === "t" && parts[5]) return { page: "table", warehouse, namespace, name: dec(parts[5]) };
    if (parts[4] === "v" && parts[5]) return { page: "view", warehouse, namespace, name: dec(parts[5]) };
    if (parts[4] === "f" && parts[5]) return { page: "function", warehouse, namespace, name: dec(parts[5]) };
    return { page: "namespace", warehouse, namespace };
  }
  if (parts[0] === "events" || parts[0] === "audit" || parts[0] === "access") return { page: parts[0] };
  return { page: "home" };
}
