// Boot: learn how to sign in, sign in if the catalog needs it, then route.

import { Session, Settings, get, setToken, whenUnauthorized } from "./api";
import { accessPage, auditPage } from "./admin";
import { finishOIDC, loadSession, signInPage } from "./auth";
import { errorBox, homePage, namespacePage } from "./browse";
import { h, replace } from "./dom";
import { eventsPage, stopEvents } from "./events";
import { Route, href, parse } from "./routes";
import { tablePage } from "./table";
import { viewPage } from "./view";
import { functionPage } from "./function";

let settings: Settings;
let session: Session | null = null;

const $ = (id: string) => document.getElementById(id) as HTMLElement;

function navigation(): void {
  const cur = parse(location.hash).page;
  const link = (r: Route, label: string) => {
    const here = cur === r.page || (r.page === "home" && ["namespace", "table", "view", "function"].includes(cur));
    return h("a", { href: href(r), "aria-current": here ? "page" : null }, label);
  };
  replace($("nav"), session === null ? null : [
    link({ page: "home" }, "Browse"),
    link({ page: "events" }, "Events"),
    session.admin ? [link({ page: "audit" }, "Audit log"), link({ page: "access" }, "Access")] : null,
  ]);
  replace($("who"), session && settings.auth ? [
    h("span", { title: `Signed in via ${session.via}; roles: ${session.roles.join(", ") || "none"}` }, session.name),
    h("button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"),
  ] : null);
}

function signOut(): void {
  stopEvents();
  setToken(null);
  session = null;
  showSignIn("");
}

function showSignIn(message: string): void {
  navigation();
  const main = $("main");
  replace(main, signInPage(settings, message, async (token) => {
    setToken(token);
    session = await loadSession(settings);
    await route();
  }));
  main.querySelector<HTMLElement>("h1")?.focus();
}

async function route(): Promise<void> {
  if (session === null) return;
  const r = parse(location.hash);
  if (r.page !== "events") stopEvents();
  navigation();
  const main = $("main");
  replace(main, h("p", { class: "muted" }, "Loading…"));
  try {
    switch (r.page) {
      case "home": await homePage(main); break;
      case "namespace": await namespacePage(main, r.warehouse, r.namespace); break;
      case "table": await tablePage(main, r.warehouse, r.namespace, r.name); break;
      case "view": await viewPage(main, r.warehouse, r.namespace, r.name); break;
      case "function": await functionPage(main, r.warehouse, r.namespace, r.name); break;
      case "events": await eventsPage(main); break;
      case "audit": await auditPage(main); break;
      case "access": await accessPage(main); break;
    }
  } catch (e) {
    if (session === null) return; // signed out by a 401 meanwhile
    replace(main, h("h1", { tabindex: -1 }, "Something went wrong"), errorBox(e));
  }
  // Move focus to the new page's heading, as a page load would.
  main.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
  document.title = (main.querySelector("h1")?.textContent ?? "") + " · Bingsan";
}

async function boot(): Promise<void> {
  try {
    settings = await get<Settings>("/ui/settings.json");
  } catch (e) {
    replace($("main"), h("h1", null, "The console could not start"), errorBox(e));
    return;
  }
  // A 401 while signed in: the credential expired or was revoked. (While
  // signing in, the sign-in form shows the refusal itself.)
  whenUnauthorized(() => {
    if (session === null) return;
    stopEvents(); setToken(null); session = null;
    showSignIn("Your session ended; sign in again.");
  });
  window.addEventListener("hashchange", () => void route());
  if (!settings.auth) {
    session = { name: "", via: "", roles: [], admin: false };
    await route();
    return;
  }
  try {
    const back = await finishOIDC();
    if (back) {
      setToken(back.token);
      session = await loadSession(settings);
      if (back.returnTo && back.returnTo !== location.hash) { location.hash = back.returnTo; return; }
      await route();
      return;
    }
  } catch (e) {
    setToken(null);
    showSignIn(e instanceof Error ? e.message : String(e));
    return;
  }
  showSignIn("");
}

void boot();
