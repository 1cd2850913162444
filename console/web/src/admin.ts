// For admins with authentication on: the audit log with filters, and the
// principals, roles and grants of the management API (read-only).

import { get } from "./api";
import { errorBox } from "./browse";
import { Child, fmtTime, h, replace, table } from "./dom";

interface AuditEntry { id: number; time: string; principal: string; operation: string; target: string; outcome: string; status: number; detail?: string }
interface AuditPage { entries: AuditEntry[]; "next-after": number; more: boolean }

export async function auditPage(main: HTMLElement): Promise<void> {
  const principal = h("input", { id: "audit-principal", autocomplete: "off" });
  const operation = h("input", { id: "audit-operation", placeholder: "e.g. createTable", autocomplete: "off" });
  const outcome = h("select", { id: "audit-outcome" }, ["", "success", "denied", "failed"].map((o) => h("option", { value: o }, o || "any")));
  const body = h("tbody");
  const status = h("p", { class: "muted", id: "audit-status", "aria-live": "polite" });
  const more = h("button", { type: "button", id: "audit-more", hidden: true }, "Next page");
  const err = h("div");
  let after = 0;
  const load = async (reset: boolean) => {
    if (reset) { after = 0; body.replaceChildren(); }
    replace(err);
    const p = new URLSearchParams({ after: String(after), limit: "200" });
    if (principal.value.trim()) p.set("principal", principal.value.trim());
    if (operation.value.trim()) p.set("operation", operation.value.trim());
    if (outcome.value) p.set("outcome", outcome.value);
    try {
      const page = await get<AuditPage>("/management/v1/audit?" + p.toString());
      for (const e of page.entries) {
        body.append(h("tr", { class: "outcome-" + e.outcome }, [String(e.id), fmtTime(e.time), e.principal, e.operation, e.target,
          h("span", { class: "badge " + e.outcome }, e.outcome), String(e.status), e.detail ?? ""].map((c: Child) => h("td", null, c))));
      }
      after = page["next-after"];
      more.hidden = !page.more;
      status.textContent = `${body.children.length} entries shown, oldest first` + (page.more ? "; more follow" : "");
    } catch (e) { replace(err, errorBox(e)); }
  };
  more.addEventListener("click", () => void load(false));
  replace(main, h("h1", { tabindex: -1 }, "Audit log"),
    h("form", { class: "filters inline", onsubmit: (e: Event) => { e.preventDefault(); void load(true); } },
      h("label", { for: "audit-principal" }, "Principal"), principal,
      h("label", { for: "audit-operation" }, "Operation"), operation,
      h("label", { for: "audit-outcome" }, "Outcome"), outcome,
      h("button", { type: "submit" }, "Filter")),
    status, err,
    h("div", { class: "scroll" }, h("table", { id: "audit-table" }, h("caption", { class: "visually-hidden" }, "Audit entries"),
      h("thead", null, h("tr", null, ["Id", "Time", "Principal", "Operation", "Target", "Outcome", "Status", "Detail"].map((c) => h("th", { scope: "col" }, c)))),
      body)),
    more);
  await load(true);
}

interface Securable { type: string; warehouse?: string; namespace?: string[]; name?: string }
const describe = (s: Securable) => s.type === "catalog" ? "catalog"
  : `${s.type} ${[s.warehouse, ...(s.namespace ?? []), s.name].filter((x) => x !== undefined && x !== "").join(".")}`;

export async function accessPage(main: HTMLElement): Promise<void> {
  const [principals, roles, grants] = await Promise.all([
    get<{ principals: { name: string; "client-id"?: string; roles: string[]; disabled: boolean; "created-at": string }[] }>("/management/v1/principals"),
    get<{ roles: { name: string; description?: string; "created-at"?: string }[] }>("/management/v1/roles"),
    get<{ grants: { id: number; role: string; securable: Securable; privilege: string; "created-at": string }[] }>("/management/v1/grants"),
  ]);
  replace(main, h("h1", { tabindex: -1 }, "Principals, roles and grants"),
    h("section", { id: "principals", "aria-labelledby": "principals-title" }, h("h2", { id: "principals-title" }, "Principals"),
      table("Principals", ["Name", "Client id", "Roles", "State", "Created"], principals.principals.map((p) =>
        [p.name, p["client-id"] ?? "(OIDC name)", p.roles.join(", ") || "—", p.disabled ? "disabled" : "enabled", fmtTime(p["created-at"])]))),
    h("section", { id: "roles", "aria-labelledby": "roles-title" }, h("h2", { id: "roles-title" }, "Roles"),
      table("Roles", ["Name", "Description", "Created"], roles.roles.map((r) => [r.name, r.description ?? "", fmtTime(r["created-at"])]))),
    h("section", { id: "grants", "aria-labelledby": "grants-title" }, h("h2", { id: "grants-title" }, "Grants"),
      table("Grants", ["Id", "Role", "Privilege", "On", "Created"], grants.grants.map((g) =>
        [String(g.id), g.role, g.privilege, describe(g.securable), fmtTime(g["created-at"])]))));
}
