// Every request the console makes goes through consoleFetch:
// - the session is an httpOnly cookie (never readable here): credentials 'same-origin';
// - every non-GET carries X-CSRF-Token (from the session answer, kept in memory only);
// - a 403 csrf_failed re-fetches the session once and sends the request again (the server
//   refused it before doing anything, so this is safe for any write);
// - any 401 outside the session endpoint ends the session here (expired, signed out
//   elsewhere, role changed) and goes to the login page;
// - Accept-Language is the UI language, so server messages come back in it.
import { SESSION_PATH } from './session'

export interface HttpHooks {
  csrfToken(): string | null
  language(): string
  /** GET the session again for a fresh CSRF token; false when there is none any more. */
  refreshSession(): Promise<boolean>
  unauthorized(): void
}

const hooks: HttpHooks = {
  csrfToken: () => null,
  language: () => 'zh-CN',
  refreshSession: async () => false,
  unauthorized: () => {},
}

export function configureHttp(overrides: Partial<HttpHooks>): void {
  Object.assign(hooks, overrides)
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function isSessionUrl(url: string): boolean {
  return new URL(url, 'http://x').pathname === SESSION_PATH
}

function prepare(request: Request): Request {
  const headers = new Headers(request.headers)
  headers.set('Accept-Language', hooks.language())
  if (!SAFE_METHODS.has(request.method)) {
    const token = hooks.csrfToken()
    if (token) headers.set('X-CSRF-Token', token)
    else headers.delete('X-CSRF-Token')
  }
  return new Request(request, { headers, credentials: 'same-origin' })
}

async function errorCode(response: Response): Promise<string | null> {
  try {
    const body = await response.clone().json()
    return typeof body?.error?.code === 'string' ? body.error.code : null
  } catch {
    return null
  }
}

export type FetchLike = (request: Request) => Promise<Response>

export function createConsoleFetch(send: FetchLike = (request) => globalThis.fetch(request)): FetchLike {
  return async function consoleFetch(request: Request): Promise<Response> {
    const safe = SAFE_METHODS.has(request.method)
    const again = safe ? null : request.clone() // a body can be sent only once
    let response = await send(prepare(request))
    if (again && response.status === 403 && (await errorCode(response)) === 'csrf_failed') {
      if (await hooks.refreshSession()) response = await send(prepare(again))
    }
    if (response.status === 401 && !isSessionUrl(request.url)) hooks.unauthorized()
    return response
  }
}

export const consoleFetch = createConsoleFetch()
