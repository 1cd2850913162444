// Browsing: warehouses, then namespaces (nested) with their properties,
// tables, views and functions, each list paged and searchable by name.

import { ApiError, Warehouse, get, nsPath, whPath } from "./api";
import { Child, announce, h, replace, table } from "./dom";
import { href } from "./routes";

export const pageSize = 100;
/** Pages fetched at most to search one list (of searchPageSize each). */
const searchPages = 200;
const searchPageSize = 1000;

export function errorBox(e: unknown): HTMLElement {
  const msg = e instanceof ApiError
    ? (e.status === 403 ? `Not allowed: ${e.message}` : e.status === 404 ? `Not found: ${e.message}` : `${e.status} ${e.type}: ${e.message}`)
    : e instanceof Error ? e.message : String(e);
  return h("p", { class: "error", role: "alert" }, msg);
}

export function breadcrumbs(warehouse: string, namespace: string[], last?: string): HTMLElement {
  const items: Child[] = [h("li", null, h("a", { href: "#/" }, "Warehouses")),
    h("li", null, h("a", { href: href({ page: "namespace", warehouse, namespace: [] }) }, warehouse))];
  namespace.forEach((_, i) => items.push(h("li", null,
    h("a", { href: href({ page: "namespace", warehouse, namespace: namespace.slice(0, i + 1) }) }, namespace[i]))));
  if (last) items.push(h("li", null, h("span", { "aria-current": "page" }, last)));
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("ol", null, items));
}

export async function homePage(main: HTMLElement): Promise<void> {
  const list = await get<Warehouse[]>("/ui/warehouses.json");
  replace(main,
    h("h1", { tabindex: -1 }, "Warehouses"),
    list.length === 0 ? h("p", null, "You may not read any warehouse.") : h("ul", { class: "cards-list" }, list.map((w) =>
      h("li", { class: "card" },
        w.listable
          ? h("a", { class: "big", href: href({ page: "namespace", warehouse: w.name, namespace: [] }) }, w.name)
          : h("span", { class: "big" }, w.name),
        w.default ? h("span", { class: "badge" }, "default") : null,
        w.entries.length ? [h("p", null, "You may read:"), h("ul", null, w.entries.map((e) => h("li", null,
          h("a", { href: e.type === "namespace"
            ? href({ page: "namespace", warehouse: w.name, namespace: e.namespace })
            : href({ page: e.type, warehouse: w.name, namespace: e.namespace, name: e.name ?? "" }) },
          e.type + " " + [...e.namespace, ...(e.name ? [e.name] : [])].join(".")))))] : null))));
}

interface Page<T> { items: T[]; next?: string }

/**
 * A list loaded page by page with "Load more", and a name filter that
 * loads every remaining page (in large pages) so it finds names the shown
 * pages do not hold yet.
 */
function pagedList<T>(opts: {
  id: string; title: string; noun: string;
  fetch: (token: string | undefined, size: number) => Promise<Page<T>>;
  name: (t: T) => string; link: (t: T) => string;
}): HTMLElement {
  const items: T[] = [];
  let next: string | undefined, done = false, busy = false;
  const ul = h("ul", { class: "names", id: opts.id + "-list" });
  const status = h("p", { class: "muted", id: opts.id + "-status", "aria-live": "polite" });
  const more = h("button", { type: "button", id: opts.id + "-more" }, "Load more");
  const search = h("input", { type: "search", id: opts.id + "-search", placeholder: `Filter ${opts.noun} by name`, autocomplete: "off" });
  const err = h("div");

  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = q ? items.filter((t) => opts.name(t).toLowerCase().includes(q)) : items;
    replace(ul, shown.map((t) => h("li", null, h("a", { href: opts.link(t) }, opts.name(t)))));
    status.textContent = busy ? `Loading ${opts.noun}…`
      : q ? `${shown.length} of ${items.length} ${opts.noun} match` + (done ? "" : " (not every page searched)")
      : `${items.length} ${opts.noun}` + (done ? "" : " loaded so far");
    more.hidden = done;
  };
  // One page request at a time: a search waits for the one in flight
  // instead of skipping a turn.
  let inflight: Promise<void> | null = null;
  const fetchPage = async (size: number) => {
    busy = true; render();
    try {
      const p = await opts.fetch(next, size);
      items.push(...p.items);
      next = p.next; done = !p.next;
    } catch (e) {
      done = true;
      replace(err, errorBox(e));
    } finally {
      busy = false; render();
    }
  };
  const load = (size: number): Promise<void> =>
    inflight ??= fetchPage(size).finally(() => { inflight = null; });
  more.addEventListener("click", () => { if (!busy) void load(pageSize); });
  let searchRun = 0;
  search.addEventListener("input", async () => {
    const run = ++searchRun;
    render();
    for (let i = 0; search.value.trim() && !done && i < searchPages && run === searchRun; i++) {
      await load(searchPageSize);
    }
    if (run === searchRun) announce(status.textContent ?? "");
  });
  void load(pageSize);
  return h("section", { class: "listing", "aria-labelledby": opts.id + "-title" },
    h("h2", { id: opts.id + "-title" }, opts.title),
    h("label", { for: opts.id + "-search", class: "visually-hidden" }, `Filter ${opts.noun} by name`),
    search, status, err, ul, more);
}

function q(params: Record<string, string | number | undefined>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") s.set(k, String(v));
  const out = s.toString();
  return out ? "?" + out : "";
}

export async function namespacePage(main: HTMLElement, warehouse: string, namespace: string[]): Promise<void> {
  const base = whPath(warehouse);
  let props: HTMLElement | null = null;
  if (namespace.length) {
    const md = await get<{ namespace: string[]; properties?: Record<string, string> }>(`${base}/namespaces/${nsPath(namespace)}`);
    const entries = Object.entries(md.properties ?? {}).sort(([a], [b]) => a.localeCompare(b));
    props = h("section", { "aria-labelledby": "props-title" }, h("h2", { id: "props-title" }, "Properties"),
      entries.length ? table("Namespace properties", ["Key", "Value"], entries.map(([k, v]) => [k, v])) : h("p", { class: "muted" }, "No properties."));
  }
  const child = (levels: string[]) => levels[levels.length - 1];
  const namespaces = pagedList<string[]>({
    id: "namespaces", title: namespace.length ? "Nested namespaces" : "Namespaces", noun: "namespaces",
    fetch: async (token, size) => {
      const r = await get<{ namespaces: string[][]; "next-page-token"?: string }>(
        `${base}/namespaces` + q({ parent: namespace.length ? namespace.join("\x1f") : undefined, pageToken: token, pageSize: size }));
      return { items: r.namespaces, next: r["next-page-token"] ?? undefined };
    },
    name: child, link: (levels) => href({ page: "namespace", warehouse, namespace: levels }),
  });
  const idents = (kind: "tables" | "views") => async (token: string | undefined, size: number) => {
    const r = await get<{ identifiers: { namespace: string[]; name: string }[]; "next-page-token"?: string }>(
      `${base}/namespaces/${nsPath(namespace)}/${kind}` + q({ pageToken: token, pageSize: size }));
    return { items: r.identifiers, next: r["next-page-token"] ?? undefined };
  };
  // Functions are listed as bare identifiers (namespace levels, then name).
  const functions = async (token: string | undefined, size: number) => {
    const r = await get<{ identifiers?: string[][]; "next-page-token"?: string }>(
      `${base}/namespaces/${nsPath(namespace)}/functions` + q({ pageToken: token, pageSize: size }));
    return { items: r.identifiers ?? [], next: r["next-page-token"] ?? undefined };
  };
  const title = namespace.length ? namespace.join(".") : warehouse;
  replace(main,
    breadcrumbs(warehouse, namespace.slice(0, -1), namespace.length ? child(namespace) : undefined),
    h("h1", { tabindex: -1 }, namespace.length ? ["Namespace ", h("code", null, title)] : ["Warehouse ", h("code", null, title)]),
    props,
    h("div", { class: "columns" },
      namespaces,
      namespace.length ? pagedList({ id: "tables", title: "Tables", noun: "tables", fetch: idents("tables"),
        name: (i) => i.name, link: (i) => href({ page: "table", warehouse, namespace, name: i.name }) }) : null,
      namespace.length ? pagedList({ id: "views", title: "Views", noun: "views", fetch: idents("views"),
        name: (i) => i.name, link: (i) => href({ page: "view", warehouse, namespace, name: i.name }) }) : null,
      namespace.length ? pagedList({ id: "functions", title: "Functions", noun: "functions", fetch: functions,
        name: child, link: (i) => href({ page: "function", warehouse, namespace, name: child(i) }) }) : null));
}
