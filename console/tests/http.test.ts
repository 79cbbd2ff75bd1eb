// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest'
import { configureHttp, createConsoleFetch } from '@/api/http'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

function setup(token: { value: string | null }) {
  const unauthorized = vi.fn()
  const refreshSession = vi.fn(async () => {
    token.value = 'fresh'
    return true
  })
  configureHttp({ csrfToken: () => token.value, language: () => 'en', refreshSession, unauthorized })
  return { unauthorized, refreshSession }
}

describe('consoleFetch', () => {
  afterEach(() => configureHttp({ refreshSession: async () => false, unauthorized: () => {} }))

  it('sends the UI language, and the CSRF token only on writes', async () => {
    setup({ value: 'tok' })
    const seen: Request[] = []
    const f = createConsoleFetch(async (r) => { seen.push(r); return json(200, {}) })
    await f(new Request('http://x/api/staff/me'))
    await f(new Request('http://x/api/staff/pickups/preview', { method: 'POST', body: '{}' }))
    expect(seen[0]!.headers.get('Accept-Language')).toBe('en')
    expect(seen[0]!.headers.get('X-CSRF-Token')).toBeNull()
    expect(seen[1]!.headers.get('X-CSRF-Token')).toBe('tok')
    expect(seen[1]!.credentials).toBe('same-origin')
  })

  it('re-fetches the session once on csrf_failed and sends the write again with the new token', async () => {
    const { refreshSession } = setup({ value: 'stale' })
    const seen: { token: string | null; body: string }[] = []
    const f = createConsoleFetch(async (r) => {
      seen.push({ token: r.headers.get('X-CSRF-Token'), body: await r.text() })
      return seen.length === 1 ? json(403, { error: { code: 'csrf_failed', message: '' } }) : json(200, { ok: 1 })
    })
    const response = await f(new Request('http://x/api/admin/outbox/1/retry', { method: 'POST', body: '{"a":1}' }))
    expect(response.status).toBe(200)
    expect(refreshSession).toHaveBeenCalledTimes(1)
    expect(seen).toEqual([{ token: 'stale', body: '{"a":1}' }, { token: 'fresh', body: '{"a":1}' }])
  })

  it('does not retry another 403', async () => {
    const { refreshSession } = setup({ value: 'tok' })
    const send = vi.fn(async () => json(403, { error: { code: 'forbidden', message: '' } }))
    const response = await createConsoleFetch(send)(new Request('http://x/api/a', { method: 'POST', body: '{}' }))
    expect(response.status).toBe(403)
    expect(send).toHaveBeenCalledTimes(1)
    expect(refreshSession).not.toHaveBeenCalled()
  })

  it('sends the signed-out to the login page on any 401 but the session endpoint', async () => {
    const { unauthorized } = setup({ value: 'tok' })
    const f = createConsoleFetch(async () => json(401, { error: { code: 'unauthorized', message: '' } }))
    await f(new Request('http://x/api/console/session', { method: 'POST', body: '{}' }))
    expect(unauthorized).not.toHaveBeenCalled() // a wrong password is the login form's to show
    await f(new Request('http://x/api/staff/pickups/reviews'))
    expect(unauthorized).toHaveBeenCalledTimes(1)
  })
})
