import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { session } from '@/auth/session'
import { i18n } from '@/i18n'
import ReviewsPage from '@/pages/ReviewsPage.vue'

const NO = 'TH202612070900123456789012345'
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const queue = { items: [
  { kind: 'card', ref: 'C0001', store_id: null, locked_at: '2026-12-07T09:00:00+08:00', failed_attempts: 5 },
  { kind: 'order', ref: NO, store_id: 1, locked_at: '2026-12-07T09:00:00+08:00', failed_attempts: 3 },
], next_cursor: null }
const state = { order_no: NO, status: 'ready_for_pickup', pickup_deadline: '2026-12-09T09:00:00+08:00', version: 2,
  locked: false, failed_attempts: 0, changed: true }

interface Sent { method: string; path: string; body: unknown }
function server(answers: Array<() => Response>) {
  const sent: Sent[] = []
  vi.stubGlobal('fetch', vi.fn(async (request: Request) => {
    const text = await request.text()
    sent.push({ method: request.method, path: new URL(request.url).pathname, body: text ? JSON.parse(text) : null })
    const answer = answers.shift()
    if (!answer) throw new Error(`unexpected ${request.method} ${request.url}`)
    return answer()
  }))
  return sent
}
const button = (text: string, root: ParentNode = document.body) =>
  Array.from(root.querySelectorAll('button')).find((b) => b.textContent?.trim() === text)
async function click(text: string, root?: ParentNode) {
  button(text, root)!.click()
  await flushPromises()
}
async function type(selector: string, value: string) {
  const input = document.body.querySelector<HTMLInputElement | HTMLTextAreaElement>(selector)!
  input.value = value
  input.dispatchEvent(new Event('input'))
  await flushPromises()
}

describe('the locked codes queue', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    session.staff = { id: 2, username: 'm', display_name: '店长', role: 'manager', store_ids: [1],
      abilities: ['pickups.review', 'pickups.reissue', 'pickups.extend'] }
    session.storeId = 1
    session.checked = true
  })
  afterEach(() => { vi.unstubAllGlobals(); document.body.innerHTML = '' })

  it('lists locked orders (not cards) and sends each action its body', async () => {
    const sent = server([
      () => json(200, queue),
      () => json(200, state), () => json(200, queue), // (the list as if locked again, for the next actions)
      () => json(200, state), () => json(200, queue),
      () => json(409, { error: { code: 'pickup_expired', message: 'x', details: {} } }),
    ])
    const wrapper = mount(ReviewsPage, { global: { plugins: [i18n] }, attachTo: document.body })
    await flushPromises()
    expect(wrapper.findAll('tbody tr')).toHaveLength(1)
    expect(wrapper.text()).toContain(NO)
    const row = document.querySelector(`tr[data-order="${NO}"]`)!

    await click('解锁', row)
    await type('#review-note', '核对了身份证')
    await click('确认')
    expect(sent[1]).toEqual({ method: 'POST', path: `/api/staff/pickups/orders/${NO}/unlock`, body: { note: '核对了身份证' } })
    expect(wrapper.text()).toContain(`已解锁 ${NO}`)

    await click('重新发码', document.querySelector(`tr[data-order="${NO}"]`)!)
    expect(document.body.textContent).toContain('原提货码、二维码和小程序码将立即失效')
    await click('确认')
    expect(sent[3]).toEqual({ method: 'POST', path: `/api/staff/pickups/orders/${NO}/reissue`, body: { note: null } })
    expect(wrapper.text()).toContain('第 2 版')

    await click('延长提货期限', document.querySelector(`tr[data-order="${NO}"]`)!)
    await type('#extend-hours', '0')
    expect(button('确认')!.disabled).toBe(true)
    await type('#extend-hours', '48')
    await type('#review-note', '顾客出差')
    await click('确认')
    expect(sent[5]).toEqual({ method: 'POST', path: `/api/staff/pickups/orders/${NO}/extend`, body: { hours: 48, reason: '顾客出差' } })
    expect(document.body.textContent).toContain('已超过提货截止时间')
    wrapper.unmount()
  })
})
