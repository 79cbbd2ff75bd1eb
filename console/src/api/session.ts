// Hand-written types for the console session endpoints.
//
// The backend adds these in parallel (issue 18); until they are in the API document
// (console/openapi.json → schema.d.ts) the console compiles against this contract:
//
//   POST   /api/console/session  {username, password} → 200 ConsoleSession + Set-Cookie (httpOnly,
//          SameSite=Strict); 401 invalid_credentials, 429 rate_limited (details.retry_after_s), 400
//   GET    /api/console/session  → 200 ConsoleSession (a fresh csrf_token), 401 unauthorized
//   DELETE /api/console/session  → 204 (X-CSRF-Token required)
//
// Once the endpoints are generated, replace these with
// `components['schemas'][...]` from './schema' and delete this comment.

export const SESSION_PATH = '/api/console/session'

export type Role = 'admin' | 'manager' | 'clerk' | 'analyst'

export interface ConsoleStaff {
  id: number
  username: string
  display_name: string
  role: Role | string
  store_ids: number[]
  abilities: string[]
}

export interface ConsoleSession {
  staff: ConsoleStaff
  csrf_token: string
  expires_at: string
}

export interface SessionLogin {
  username: string
  password: string
}
