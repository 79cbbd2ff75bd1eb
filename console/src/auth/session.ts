// The signed-in staff member, as the server's session answer says. The token itself is
// an httpOnly cookie; only the CSRF token is held here, in memory.
import { computed, reactive } from 'vue'
import { ApiError, NetworkError, toApiError } from '@/api/errors'
import { configureHttp, consoleFetch } from '@/api/http'
import { SESSION_PATH, type ConsoleSession, type ConsoleStaff, type SessionLogin } from '@/api/session'
import { can as staffCan, type Ability } from './abilities'

interface SessionState {
  staff: ConsoleStaff | null
  csrfToken: string | null
  expiresAt: string | null
  checked: boolean // the server was asked at least once
  storeId: number | null // the store the staff member works at now (the switcher)
}

export const session = reactive<SessionState>({
  staff: null, csrfToken: null, expiresAt: null, checked: false, storeId: null,
})

export const signedIn = computed(() => session.staff !== null)

export function can(ability: Ability | undefined): boolean {
  return staffCan(session.staff, ability)
}

const STORE_KEY = 'tihuo.store'

function apply(answer: ConsoleSession | null): void {
  session.staff = answer?.staff ?? null
  session.csrfToken = answer?.csrf_token ?? null
  session.expiresAt = answer?.expires_at ?? null
  session.checked = true
  if (!answer) return
  const stores = answer.staff.store_ids
  const saved = Number(localStorage.getItem(`${STORE_KEY}.${answer.staff.id}`))
  if (stores.length === 0) session.storeId = Number.isInteger(saved) && saved > 0 ? saved : null
  else session.storeId = stores.includes(saved) ? saved : stores[0]!
}

export function chooseStore(storeId: number | null): void {
  session.storeId = storeId
  if (session.staff) localStorage.setItem(`${STORE_KEY}.${session.staff.id}`, String(storeId ?? ''))
}

async function call(method: string, body?: unknown): Promise<Response> {
  try {
    return await consoleFetch(new Request(new URL(SESSION_PATH, location.href), {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }))
  } catch (cause) {
    throw new NetworkError(cause)
  }
}

async function refused(response: Response): Promise<ApiError> {
  return toApiError(response.status, await response.json().catch(() => null))
}

/** Ask the server who is signed in (on start, and for a fresh CSRF token). */
export async function loadSession(): Promise<ConsoleStaff | null> {
  const response = await call('GET')
  if (response.status === 401) {
    apply(null)
    return null
  }
  if (!response.ok) throw await refused(response)
  apply((await response.json()) as ConsoleSession)
  return session.staff
}

let loading: Promise<ConsoleStaff | null> | null = null

/** loadSession once (the router's guard waits for it on the first navigation). */
export function ensureSession(): Promise<ConsoleStaff | null> {
  if (session.checked) return Promise.resolve(session.staff)
  loading ??= loadSession().finally(() => { loading = null })
  return loading
}

export async function login(form: SessionLogin): Promise<ConsoleStaff> {
  const response = await call('POST', form)
  if (!response.ok) throw await refused(response)
  apply((await response.json()) as ConsoleSession)
  return session.staff!
}

export async function logout(): Promise<void> {
  try {
    const response = await call('DELETE')
    if (!response.ok && response.status !== 401) throw await refused(response)
  } finally {
    forget()
  }
}

/** Drop what this page knows (the cookie is the server's to end). */
export function forget(): void {
  session.staff = null
  session.csrfToken = null
  session.expiresAt = null
  session.checked = true
}

/** Wire the HTTP layer to this session and the UI language. */
export function installSessionHooks(options: { language: () => string; unauthorized: () => void }): void {
  configureHttp({
    csrfToken: () => session.csrfToken,
    language: options.language,
    refreshSession: async () => {
      try {
        return (await loadSession()) !== null
      } catch {
        return false
      }
    },
    unauthorized: () => {
      forget()
      options.unauthorized()
    },
  })
}
