// A tiny element builder: the console renders with plain DOM calls, so
// text is always set as text (never parsed as HTML).

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(v);
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A table inside a scroll container, so wide tables never widen the page. */
export function table(caption: string, head: string[], rows: Child[][], cls = ""): HTMLElement {
  return h("div", { class: "scroll" },
    h("table", { class: cls },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", null, h("tr", null, head.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, rows.map((r) => h("tr", null, r.map((c) => h("td", null, c)))))));
}

/** A key/value list. */
export function facts(pairs: [string, Child][]): HTMLElement {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", null, k), h("dd", null, v ?? "—")]));
}

let announcer: HTMLElement | null = null;

/** Tells screen readers about something that changed off focus. */
export function announce(msg: string): void {
  announcer ??= document.getElementById("announce");
  if (announcer) announcer.textContent = msg;
}

export function fmtTime(ms: number | string | undefined): string {
  if (ms === undefined || ms === null || ms === "") return "—";
  const d = new Date(ms);
  if (isNaN(d.getTime())) return String(ms);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function fmtBytes(v: string | number | undefined): string {
  if (v === undefined) return "—";
  let n = Number(v);
  if (!isFinite(n)) return String(v);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
}
