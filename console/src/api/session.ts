// The console session (handlers/console_session.py; the design: docs/architecture.md,
// "Identity"). Its answer is ConsoleSessionOut in the generated schema.d.ts, where every
// field is optional (marshmallow outputs are not marked required); these are the same
// fields as the server always sends them:
//
//   POST   /api/console/session  {username, password} → 200 ConsoleSession + Set-Cookie (httpOnly,
//          SameSite=Strict); 401 unauthorized (wrong username or password), 429 rate_limited
//          (details.retry_after_s), 400
//   GET    /api/console/session  → 200 ConsoleSession (the csrf_token again), 401 unauthorized
//   DELETE /api/console/session  → 204 (X-CSRF-Token required)

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
