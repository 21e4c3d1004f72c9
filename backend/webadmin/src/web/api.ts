import { banner } from './banner.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The API's stable error code (`csrf`, `not_found`, …) when it sent one. */
    readonly code = '',
    /** The request field a 400 is about (`body.threshold`), so a form can show it next to its input. */
    readonly field = '',
  ) {
    super(message);
  }
}

export interface Session {
  username: string;
  role: 'viewer' | 'operator' | 'admin';
  csrfToken: string;
}

type Params = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

let session: Promise<Session> | undefined;

/** The session (user, role, CSRF token), fetched once per page. */
export function getSession(): Promise<Session> {
  session ??= request<Session>('GET', '/api/session').catch((err: unknown) => {
    session = undefined;
    throw err;
  });
  return session;
}

function toLogin(): void {
  location.assign(withQuery('/login', { next: location.pathname + location.search }));
}

/** The API's error body is `{error: code, message, field?}`; anything else is shown as it came. */
async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown; field?: unknown };
    const code = typeof body.error === 'string' ? body.error : '';
    const field = typeof body.field === 'string' ? body.field : '';
    if (typeof body.message === 'string') return new ApiError(res.status, body.message, code, field);
    if (code) return new ApiError(res.status, code, code);
  } catch {
    // not JSON: the status text says enough
  }
  return new ApiError(res.status, text.slice(0, 200) || res.statusText || `HTTP ${res.status}`);
}

async function request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const isLogin = method === 'POST' && path === '/api/session';
  if (method !== 'GET' && !isLogin) headers['x-csrf-token'] = (await getSession()).csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    banner.set('api', 'The web admin server is not answering. Showing the last data received; retrying…');
    throw new ApiError(0, 'the server is not answering');
  }
  if (res.status >= 500) {
    const err = await errorOf(res);
    banner.set('api', `The server could not answer (${res.status}): ${err.message}. Retrying…`);
    throw err;
  }
  banner.clear('api');
  if (res.status === 401 && !isLogin) {
    toLogin();
    throw new ApiError(401, 'signed out');
  }
  // A CSRF token is per session; a new login in another tab replaces it. Fetch it again once.
  if (res.status === 403 && method !== 'GET' && !retried) {
    const err = await errorOf(res);
    if (err.code === 'csrf') {
      session = undefined;
      return request<T>(method, path, body, true);
    }
    throw err;
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const api = {
  get: <T>(path: string, params?: Params) => request<T>('GET', withQuery(path, params)),
  post: <T>(path: string, body: unknown) => request<T>('POST', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
};
