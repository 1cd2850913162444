// Signing in: client credentials (the catalog's own OAuth2 token
// endpoint), an API key, or an external OIDC issuer with the
// authorization-code flow and PKCE. Only the resulting bearer credential is
// kept, in memory (api.ts). The PKCE verifier and state survive the
// redirect to the issuer in sessionStorage (they are single-use and are
// removed when the browser comes back); no secret is ever written to
// localStorage.

import { Session, Settings, base64url, get, postForm, setToken } from "./api";
import { h } from "./dom";

const pkceKey = "bingsan.console.oidc";

interface PendingLogin { issuer: string; clientId: string; state: string; verifier: string; tokenEndpoint: string; returnTo: string }

interface TokenResponse { access_token?: string; id_token?: string; token_type?: string; expires_in?: number }

/** The redirect URI registered with the issuer for the console's client. */
export function redirectURI(): string { return location.origin + "/ui/"; }

function random(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const res = await fetch(issuer.replace(/\/$/, "") + "/.well-known/openid-configuration", { cache: "no-store" });
  if (!res.ok) throw new Error(`The issuer's discovery document answered ${res.status}`);
  const doc = await res.json();
  if (!doc.authorization_endpoint || !doc.token_endpoint) throw new Error("The issuer's discovery document has no authorization or token endpoint");
  return doc;
}

async function startOIDC(p: Settings["oidc"][number]): Promise<void> {
  if (!crypto.subtle) throw new Error("Signing in with OIDC needs a secure origin (https, or http on localhost)");
  const doc = await discover(p.issuer);
  const verifier = random(48);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const pending: PendingLogin = { issuer: p.issuer, clientId: p.clientId, state: random(24), verifier, tokenEndpoint: doc.token_endpoint, returnTo: location.hash };
  sessionStorage.setItem(pkceKey, JSON.stringify(pending));
  const u = new URL(doc.authorization_endpoint);
  u.search = new URLSearchParams({
    response_type: "code", client_id: p.clientId, redirect_uri: redirectURI(), scope: p.scopes,
    state: pending.state, code_challenge: challenge, code_challenge_method: "S256",
  }).toString();
  location.assign(u.toString());
}

/**
 * Finishes an OIDC sign-in when the issuer redirected back here with a
 * code: returns the bearer token and where to go, or null when this load
 * is no redirect.
 */
export async function finishOIDC(): Promise<{ token: string; returnTo: string } | null> {
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) return null;
  const raw = sessionStorage.getItem(pkceKey);
  sessionStorage.removeItem(pkceKey);
  history.replaceState(null, "", location.pathname + location.hash);
  if (q.has("error")) throw new Error(`The issuer refused the sign-in: ${q.get("error")} ${q.get("error_description") ?? ""}`.trim());
  if (!raw) throw new Error("This sign-in was not started from this tab; start again.");
  const pending = JSON.parse(raw) as PendingLogin;
  if (q.get("state") !== pending.state) throw new Error("The sign-in answer does not match the request (state); start again.");
  const tok = await postForm<TokenResponse>(pending.tokenEndpoint, {
    grant_type: "authorization_code", code: q.get("code") ?? "", redirect_uri: redirectURI(),
    client_id: pending.clientId, code_verifier: pending.verifier,
  });
  const token = tok.access_token ?? tok.id_token;
  if (!token) throw new Error("The issuer returned no token");
  return { token, returnTo: pending.returnTo };
}

/** Who the credential belongs to, and whether it is an admin of the catalog. */
export async function loadSession(settings: Settings): Promise<Session> {
  if (!settings.auth) return { name: "", via: "", roles: [], admin: false };
  return get<Session>("/ui/session.json");
}

/** The sign-in page; onToken is called with a credential that worked. */
export function signInPage(settings: Settings, message: string, onToken: (token: string) => Promise<void>): HTMLElement {
  const status = h("p", { class: "error", role: "alert" }, message);
  const guard = (f: () => Promise<void>) => async (ev: Event) => {
    ev.preventDefault();
    status.textContent = "";
    try {
      await f();
    } catch (e) {
      setToken(null);
      status.textContent = e instanceof Error ? e.message : String(e);
    }
  };
  const id = h("input", { id: "signin-client-id", name: "client_id", autocomplete: "username", required: true });
  const secret = h("input", { id: "signin-client-secret", name: "client_secret", type: "password", autocomplete: "current-password", required: true });
  const key = h("input", { id: "signin-api-key", name: "api_key", type: "password", autocomplete: "off", required: true });
  // method=post: should the form ever be submitted without this script,
  // the secret still never lands in a URL.
  const creds = h("form", { class: "card", method: "post", onsubmit: guard(async () => {
    const tok = await postForm<TokenResponse>("/v1/oauth/tokens", {
      grant_type: "client_credentials", client_id: id.value, client_secret: secret.value, scope: "catalog",
    });
    secret.value = "";
    if (!tok.access_token) throw new Error("The catalog returned no token");
    await onToken(tok.access_token);
  }) },
    h("h2", null, "Client credentials"),
    h("label", { for: "signin-client-id" }, "Client id"), id,
    h("label", { for: "signin-client-secret" }, "Client secret"), secret,
    h("button", { type: "submit" }, "Sign in"));
  const apiKey = h("form", { class: "card", method: "post", onsubmit: guard(async () => {
    const k = key.value.trim();
    key.value = "";
    await onToken(k);
  }) },
    h("h2", null, "API key"),
    h("label", { for: "signin-api-key" }, "API key"), key,
    h("button", { type: "submit" }, "Sign in with API key"));
  const oidc = settings.oidc.length === 0 ? null : h("div", { class: "card" },
    h("h2", null, "Single sign-on"),
    settings.oidc.map((p) => h("button", { type: "button", class: "oidc", onclick: guard(() => startOIDC(p)) },
      "Sign in with " + new URL(p.issuer).host)));
  return h("section", { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title", tabindex: -1 }, "Sign in to Bingsan"),
    status,
    h("div", { class: "cards" }, oidc, creds, apiKey));
}
