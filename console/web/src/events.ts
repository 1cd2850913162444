// The live events pane: the WebSocket stream (/v1/events/stream) filtered
// by warehouse, namespace and type. The credential travels as a
// subprotocol (browsers cannot set headers on a WebSocket). After a
// disconnect it reconnects with after=<last id seen>, or the id the
// server's close reason names, so no event is missed or shown twice.

import { Warehouse, base64url, currentToken, get } from "./api";
import { announce, fmtTime, h, replace } from "./dom";
import { href } from "./routes";

interface CloudEvent {
  id: string; type: string; time: string; subject: string; source: string;
  data: { warehouse: string; namespace: string[]; name?: string; kind: string; principal?: string; "snapshots-added"?: number[]; "metadata-location"?: string; [k: string]: unknown };
}

const types = ["namespace.created", "namespace.updated", "namespace.dropped",
  "table.created", "table.committed", "table.renamed", "table.dropped", "table.registered",
  "view.created", "view.replaced", "view.renamed", "view.dropped", "view.registered"];
const keep = 500;

/** The open stream of the pane, closed when the page changes. */
let active: { close: () => void } | null = null;
export function stopEvents(): void { active?.close(); active = null; }

export async function eventsPage(main: HTMLElement): Promise<void> {
  stopEvents();
  let warehouses: Warehouse[] = [];
  try { warehouses = await get<Warehouse[]>("/ui/warehouses.json"); } catch { /* the stream says what is wrong */ }
  const wh = h("select", { id: "events-warehouse" }, h("option", { value: "" }, "All warehouses"),
    warehouses.map((w) => h("option", { value: w.name }, w.name)));
  const ns = h("input", { id: "events-namespace", placeholder: "e.g. sales.eu", autocomplete: "off" });
  const boxes = types.map((t) => h("input", { type: "checkbox", id: "type-" + t.replace(".", "-"), value: t }));
  const status = h("p", { id: "events-status", class: "status", role: "status" }, "Connecting…");
  const list = h("ol", { id: "events-list", class: "events", "aria-label": "Events, newest first" });
  const count = h("span", { id: "events-count" }, "0");

  let ws: WebSocket | null = null, last: string | null = null, closed = false, retry = 0, timer = 0, n = 0;
  const query = () => {
    const p = new URLSearchParams();
    if (wh.value) p.set("warehouse", wh.value);
    const levels = ns.value.trim() ? ns.value.trim().split(".") : [];
    if (levels.length) p.set("namespace", levels.join("\x1f"));
    const sel = boxes.filter((b) => b.checked).map((b) => b.value);
    if (sel.length) p.set("types", sel.join(","));
    if (last !== null) p.set("after", last);
    return p.toString();
  };
  const connect = () => {
    window.clearTimeout(timer);
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/events/stream?${query()}`;
    const tok = currentToken();
    const protocols = ["bingsan.events", ...(tok ? ["bingsan.bearer." + base64url(new TextEncoder().encode(tok))] : [])];
    const sock = new WebSocket(url, protocols);
    ws = sock;
    let opened = false;
    sock.onopen = () => {
      opened = true; retry = 0; status.textContent = last === null ? "Live: waiting for events" : `Live: resumed after event ${last}`; status.dataset.state = "live"; };
    sock.onmessage = (m) => {
      let ev: CloudEvent;
      try { ev = JSON.parse(m.data); } catch { return; }
      last = ev.id;
      n++; count.textContent = String(n);
      list.prepend(render(ev));
      while (list.children.length > keep) list.lastElementChild?.remove();
      announce(`${ev.type.replace("io.bingsan.", "")} ${ev.subject}`);
    };
    sock.onclose = (c) => {
      if (ws !== sock || closed) return;
      const resume = /resume after=(\d+)/.exec(c.reason);
      if (resume) last = resume[1];
      if (c.code === 4001) last = null; // pruned: start again from now
      // A refused handshake says nothing to the page; if the credential
      // expired, this request's 401 signs out (api.ts).
      if (!opened && currentToken()) get("/ui/session.json").catch(() => undefined);
      const wait = Math.min(30, 2 ** retry++);
      status.textContent = `Disconnected (${c.code}${c.reason ? ": " + c.reason : ""}); reconnecting in ${wait}s` + (last !== null ? ` after event ${last}` : "");
      status.dataset.state = "down";
      timer = window.setTimeout(connect, wait * 1000);
    };
  };
  const restart = () => {
    last = null; n = 0; count.textContent = "0"; list.replaceChildren();
    // Not live until the new subscription is: events before it are not shown.
    status.textContent = "Connecting…"; status.dataset.state = "connecting";
    ws?.close(1000); connect();
  };
  active = { close: () => { closed = true; window.clearTimeout(timer); ws?.close(1000); } };

  const form = h("form", { class: "filters", onsubmit: (e: Event) => { e.preventDefault(); restart(); } },
    h("div", { class: "inline" }, h("label", { for: "events-warehouse" }, "Warehouse"), wh,
      h("label", { for: "events-namespace" }, "Namespace (and below)"), ns),
    h("fieldset", null, h("legend", null, "Types (none checked: all)"),
      h("div", { class: "checks" }, boxes.map((b, i) => h("span", null, b, h("label", { for: b.id }, types[i]))))),
    h("button", { type: "submit", id: "events-apply" }, "Apply filters"));
  replace(main, h("h1", { tabindex: -1 }, "Live events"), form, status,
    h("p", { class: "muted" }, "Received: ", count, ` (the newest ${keep} are kept)`), list);
  connect();
}

function render(ev: CloudEvent): HTMLElement {
  const d = ev.data;
  const short = ev.type.replace("io.bingsan.", "");
  const object = short.split(".")[0];
  const link = object === "namespace"
    ? href({ page: "namespace", warehouse: d.warehouse, namespace: d.namespace })
    : href({ page: object === "view" ? "view" : "table", warehouse: d.warehouse, namespace: d.namespace, name: d.name ?? "" });
  const extra = Object.entries(d).filter(([k]) => !["warehouse", "namespace", "name", "kind"].includes(k));
  return h("li", { class: "event", "data-type": short, "data-id": ev.id },
    h("span", { class: "when" }, fmtTime(ev.time)),
    h("span", { class: "op op-" + short.split(".")[1] }, short),
    h("a", { href: link }, `${d.warehouse}: ${ev.subject}`),
    h("span", { class: "muted" }, ` #${ev.id}`),
    extra.length ? h("details", null, h("summary", null, "Data"), h("code", { class: "wrap" }, JSON.stringify(Object.fromEntries(extra)))) : null);
}
