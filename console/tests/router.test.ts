import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import App from '@/App.vue'
import { forget, session } from '@/auth/session'
import { i18n } from '@/i18n'
import { router } from '@/router'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const clerk = { id: 3, username: 'clerk', display_name: '店员小李', role: 'clerk', store_ids: [1], abilities: ['session.own', 'stock.read', 'pickups.verify'] }

describe('the router guard', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    forget()
    session.checked = false
  })

  it('asks the server once, and sends the signed-out to the login page', async () => {
    const fetch = vi.fn(async () => json(401, { error: { code: 'unauthorized', message: '' } }))
    vi.stubGlobal('fetch', fetch)
    await router.push('/counter')
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.redirect).toBe('/counter')
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  it('lands a clerk on the counter, keeps them off pages their abilities do not open, shows their name', async () => {
    vi.stubGlobal('fetch', vi.fn(async (request: Request) => new URL(request.url).pathname === '/api/console/session'
      ? json(200, { staff: clerk, csrf_token: 'c', expires_at: '2030-01-01T00:00:00Z' })
      : json(200, { items: [], next_cursor: null })))
    const wrapper = mount(App, { global: { plugins: [i18n, router] }, attachTo: document.body })
    await router.push('/')
    await flushPromises()
    expect(router.currentRoute.value.name).toBe('counter')
    await router.push('/queues/outbox')
    await flushPromises()
    expect(router.currentRoute.value.name).toBe('counter')
    expect(wrapper.text()).toContain('店员小李')
    expect(wrapper.text()).not.toContain('投递失败')
    wrapper.unmount()
  })
})
