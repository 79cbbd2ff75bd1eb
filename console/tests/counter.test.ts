import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { session } from '@/auth/session'
import { i18n } from '@/i18n'
import CounterPage from '@/pages/CounterPage.vue'

const preview = (left1: number, left2: number) => ({
  order_no: 'TH202601010000123', status: 'ready_for_pickup', store_id: 1, level: 1, buyer_masked: '138****5678',
  pickup_deadline: '2026-01-03T10:00:00+08:00',
  items: [
    { sku_id: 1, name: '大米', spec: '5kg', qty: 3, picked_up_qty: 3 - left1, remaining: left1 },
    { sku_id: 2, name: '油', spec: '1L', qty: 1, picked_up_qty: 1 - left2, remaining: left2 },
  ],
  remaining: [],
})
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

interface Sent { path: string; body: Record<string, unknown>; key: string | null }

function server(answers: Array<(sent: Sent) => Response | Promise<Response>>) {
  const sent: Sent[] = []
  vi.stubGlobal('fetch', vi.fn(async (request: Request) => {
    const entry = { path: new URL(request.url).pathname, body: JSON.parse(await request.text()), key: request.headers.get('Idempotency-Key') }
    sent.push(entry)
    const answer = answers.shift()
    if (!answer) throw new Error(`unexpected ${entry.path}`)
    return answer(entry)
  }))
  return sent
}

async function lookUpAndChooseOneRice() {
  const wrapper = mount(CounterPage, { global: { plugins: [i18n] }, attachTo: document.body })
  await wrapper.find('input').setValue('1234 5678 9012')
  await wrapper.find('form').trigger('submit')
  await flushPromises()
  // 3 rice + 1 oil chosen; take 2 rice off and the oil: hand over 1 rice.
  const minus = wrapper.findAll('.stepper button').filter((b) => b.text() === '−')
  await minus[0]!.trigger('click')
  await minus[0]!.trigger('click')
  await minus[1]!.trigger('click')
  return wrapper
}

describe('the counter', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    session.staff = { id: 3, username: 'clerk', display_name: '店员', role: 'clerk', store_ids: [1], abilities: ['pickups.verify'] }
    session.storeId = 1
    session.checked = true
  })
  afterEach(() => vi.unstubAllGlobals())

  it('hands over the chosen quantities', async () => {
    const sent = server([
      () => json(200, preview(3, 1)),
      () => json(200, { order_no: 'TH202601010000123', status: 'ready_for_pickup', partial: true,
        picked_up: [{ sku_id: 1, name: '大米', spec: '5kg', qty: 1 }], remaining: [{ sku_id: 1, name: '大米', spec: '5kg', qty: 2 }, { sku_id: 2, name: '油', spec: '1L', qty: 1 }],
        verified_at: '2026-01-02T10:00:00+08:00' }),
    ])
    const wrapper = await lookUpAndChooseOneRice()
    expect(sent[0]).toMatchObject({ path: '/api/staff/pickups/preview', body: { code: '123456789012' } })
    await wrapper.find('.verify').trigger('click')
    await flushPromises()
    expect(sent[1]).toMatchObject({ path: '/api/staff/pickups/verify',
      body: { code: '123456789012', order_no: 'TH202601010000123', items: [{ sku_id: 1, qty: 1 }] } })
    expect(wrapper.find('.success').text()).toContain('部分核销成功')
    wrapper.unmount()
  })

  it('after a lost answer, looks first and resends the same verify with the same key', async () => {
    const sent = server([
      () => json(200, preview(3, 1)),
      () => { throw new TypeError('Failed to fetch') },
      () => json(200, preview(3, 1)), // nothing happened
      () => json(200, { order_no: 'TH202601010000123', status: 'ready_for_pickup', partial: true,
        picked_up: [{ sku_id: 1, qty: 1 }], remaining: [], verified_at: '2026-01-02T10:00:00+08:00' }),
    ])
    const wrapper = await lookUpAndChooseOneRice()
    await wrapper.find('.verify').trigger('click')
    await flushPromises()
    expect(wrapper.text()).toContain('核销结果未知')
    await wrapper.find('.problem button').trigger('click')
    await flushPromises()
    expect(sent.map((s) => s.path)).toEqual(['/api/staff/pickups/preview', '/api/staff/pickups/verify',
      '/api/staff/pickups/preview', '/api/staff/pickups/verify'])
    expect(sent[3]!.key).toBe(sent[1]!.key)
    expect(sent[3]!.key).toMatch(/^verify-/)
    expect(sent[3]!.body).toEqual(sent[1]!.body)
    expect(wrapper.find('.success').exists()).toBe(true)
    wrapper.unmount()
  })

  it('after a lost answer that went through, does not send it again', async () => {
    const sent = server([
      () => json(200, preview(3, 1)),
      () => { throw new TypeError('Failed to fetch') },
      () => json(200, preview(2, 1)), // one rice gone: it was handed over
    ])
    const wrapper = await lookUpAndChooseOneRice()
    await wrapper.find('.verify').trigger('click')
    await flushPromises()
    await wrapper.find('.problem button').trigger('click')
    await flushPromises()
    expect(sent.filter((s) => s.path.endsWith('/verify'))).toHaveLength(1)
    expect(wrapper.find('.success').exists()).toBe(true)
    expect(wrapper.text()).toContain('上次核销已成功')
    wrapper.unmount()
  })

  it('says when and by whom an order was picked up, and what to do about a locked code', async () => {
    server([
      () => json(409, { error: { code: 'already_picked_up', message: 'x',
        details: { order_no: 'TH1', picked_up_at: '2026-01-02T10:00:00+08:00', staff_name: '王五' } } }),
      () => json(423, { error: { code: 'pickup_locked', message: 'x', details: { order_no: 'TH1' } } }),
    ])
    const wrapper = mount(CounterPage, { global: { plugins: [i18n] }, attachTo: document.body })
    await wrapper.find('input').setValue('123456789012')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('.problem').text()).toContain('王五')
    await wrapper.find('input').setValue('123456789012')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('.problem').text()).toContain('联系店长')
    wrapper.unmount()
  })

  it('takes a hardware scan typed while the focus is elsewhere', async () => {
    const sent = server([() => json(200, preview(3, 1))])
    const wrapper = mount(CounterPage, { global: { plugins: [i18n] }, attachTo: document.body })
    ;(document.activeElement as HTMLElement | null)?.blur()
    for (const key of [...'123456789012', 'Enter']) window.dispatchEvent(new KeyboardEvent('keydown', { key }))
    await flushPromises()
    expect(sent[0]).toMatchObject({ path: '/api/staff/pickups/preview', body: { code: '123456789012' } })
    expect(wrapper.find('.preview').exists()).toBe(true)
    wrapper.unmount()
  })
})
