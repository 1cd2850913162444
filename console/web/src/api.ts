// The console's only way to the catalog: its public HTTP APIs with the
// signed-in caller's credential, which lives in this module's memory only
// (never in localStorage or sessionStorage), so a reload signs out.

export class ApiError extends Error {
  constructor(public status: number, public type: string, message: string) { super(message); }
}

let token: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setToken(t: string | null): void { token = t; }
export function currentToken(): string | null { return token; }
export function whenUnauthorized(f: () => void): void { onUnauthorized = f; }

async function errorFrom(res: Response): Promise<ApiError> {
  let type = res.statusText, message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body?.error && typeof body.error === "object") {
      type = body.error.type ?? type; message = body.error.message ?? message;
    } else if (typeof body?.error === "string") {
      type = body.error; message = body.error_description ?? body.error;
    }
  } catch { /* not JSON */ }
  return new ApiError(res.status, type, message);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && token && onUnauthorized) onUnauthorized();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return res.json() as Promise<T>;
}

export const get = <T>(path: string) => request<T>("GET", path);

/** POSTs a form (OAuth token endpoints). */
export async function postForm<T>(url: string, form: Record<string, string>): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams(form).toString(),
    cache: "no-store",
  });
  if (!res.ok) throw await errorFrom(res);
  return res.json() as Promise<T>;
}

/** Namespace levels as one path segment (levels joined by the unit separator). */
export function nsPath(levels: string[]): string {
  return levels.map(encodeURIComponent).join("%1F");
}

export function whPath(warehouse: string): string {
  return "/v1/" + encodeURIComponent(warehouse);
}

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export interface Settings { auth: boolean; oidc: { issuer: string; clientId: string; scopes: string }[] }
export interface WarehouseEntry { type: "namespace" | "table" | "view" | "function"; namespace: string[]; name?: string }
export interface Warehouse { name: string; default: boolean; listable: boolean; entries: WarehouseEntry[] }
export interface Session { name: string; via: string; roles: string[]; admin: boolean }
