import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { session } from '@/auth/session'
import { i18n } from '@/i18n'
import OrderDetailPage from '@/pages/OrderDetailPage.vue'

const NO = 'TH202612070900123456789012345'
const order = {
  order_no: NO, status: 'paid', fulfillment: 'pickup', store_id: 1, total_fen: 25600, payable_fen: 25600,
  items: [{ sku_id: 1, name: '月饼', spec: '6枚', qty: 2, price_fen: 12800, picked_up_qty: 0 }],
  source: 'shop', created_at: '2026-12-07T09:00:00+08:00', paid_at: '2026-12-07T09:01:00+08:00',
  events: [{ at: '2026-12-07T09:01:00+08:00', from_status: 'pending_payment', to_status: 'paid', actor_type: 'system' }],
  buyer_phone_masked: '138****5678', refundable_fen: 25600, refunds: [], pickups: [],
  payments: [{ amount_fen: 25600, paid_fen: 25600, status: 'paid', created_at: '2026-12-07T09:00:30+08:00',
    paid_at: '2026-12-07T09:01:00+08:00', confirmed_by: 'notify', transaction_id: '4200****567890' }],
}
const refund = { out_refund_no: `${NO}R1`, amount_fen: 5630, reason: null, status: 'pending', automatic: false,
  created_at: '2026-12-07T09:05:00+08:00', succeeded_at: null, requested_by: 2, requested_by_name: '店长' }
const refunded = { ...order, refunds: [refund], refundable_fen: 25600 - 5630 }
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

interface Sent { method: string; path: string; body: unknown; key: string | null }

function server(answers: Array<() => Response>) {
  const sent: Sent[] = []
  vi.stubGlobal('fetch', vi.fn(async (request: Request) => {
    const text = await request.text()
    sent.push({ method: request.method, path: new URL(request.url).pathname, body: text ? JSON.parse(text) : null,
      key: request.headers.get('Idempotency-Key') })
    const answer = answers.shift()
    if (!answer) throw new Error(`unexpected ${request.method} ${request.url}`)
    return answer()
  }))
  return sent
}

const button = (text: string) => Array.from(document.body.querySelectorAll('button')).find((b) => b.textContent?.trim() === text)
async function click(text: string) {
  const b = button(text)
  if (!b) throw new Error(`no button ${text}`)
  b.click()
  await flushPromises()
}
async function type(selector: string, value: string) {
  const input = document.body.querySelector<HTMLInputElement>(selector)!
  input.value = value
  input.dispatchEvent(new Event('input'))
  await flushPromises()
}

describe('the order detail', () => {
  beforeEach(() => {
    i18n.global.locale.value = 'zh-CN'
    session.staff = { id: 2, username: 'm', display_name: '店长', role: 'manager', store_ids: [1],
      abilities: ['orders.read', 'orders.fulfil', 'orders.cancel', 'refunds.create'] }
    session.storeId = 1
    session.checked = true
  })
  afterEach(() => { vi.unstubAllGlobals(); document.body.innerHTML = '' })

  it('shows yuan from fen, and a refund retried after a lost answer sends the same key and body', async () => {
    const sent = server([
      () => json(200, order),
      () => { throw new TypeError('Failed to fetch') },
      () => json(201, refund),
      () => json(200, refunded),
      () => json(200, order), // (not reached: a second dialog is only opened)
    ])
    const wrapper = mount(OrderDetailPage, { props: { orderNo: NO }, global: { plugins: [i18n], stubs: { RouterLink: true } }, attachTo: document.body })
    await flushPromises()
    expect(wrapper.text()).toContain('¥256.00')
    expect(wrapper.text()).toContain('¥128.00')

    await click('退款')
    await type('#refund-amount', '56.3')
    await click('下一步')
    expect(document.body.textContent).toContain('将向顾客退款 ¥56.30')
    await click('确认退款 ¥56.30')
    expect(document.body.textContent).toContain('退款结果未知')
    await click('重试')
    const posts = sent.filter((s) => s.method === 'POST')
    expect(posts).toHaveLength(2)
    expect(posts[0]!.body).toEqual({ amount_fen: 5630, reason: null })
    expect(posts[1]!.body).toEqual(posts[0]!.body)
    expect(posts[0]!.key).toBeTruthy()
    expect(posts[1]!.key).toBe(posts[0]!.key)
    expect(wrapper.text()).toContain('已提交退款 ¥56.30')
    expect(wrapper.find('.refunds').text()).toContain(`${NO}R1`)
    expect(wrapper.find('.refunds').text()).toContain('店长')
    expect(wrapper.find('.refunds .refundable').text()).toContain('¥199.70')

    // Another refund is another dialog, with its own key.
    await click('退款')
    await type('#refund-amount', '1')
    await click('下一步')
    wrapper.unmount()
  })

  it('says a refused refund precisely and keeps the dialog open', async () => {
    const sent = server([
      () => json(200, order),
      () => json(409, { error: { code: 'refund_exceeds_paid', message: 'x', details: { refundable_fen: 20000 } } }),
      () => json(201, refund),
      () => json(200, order),
    ])
    const wrapper = mount(OrderDetailPage, { props: { orderNo: NO }, global: { plugins: [i18n], stubs: { RouterLink: true } }, attachTo: document.body })
    await flushPromises()
    await click('退款')
    await type('#refund-amount', '250')
    await click('下一步')
    await click('确认退款 ¥250.00')
    expect(document.body.textContent).toContain('剩余可退 ¥200.00')
    // Refused outright (nothing refunded): a changed amount goes with a new key.
    await type('#refund-amount', '56.30')
    await click('下一步')
    await click('确认退款 ¥56.30')
    const posts = sent.filter((s) => s.method === 'POST')
    expect(posts.map((p) => (p.body as { amount_fen: number }).amount_fen)).toEqual([25000, 5630])
    expect(posts[1]!.key).not.toBe(posts[0]!.key)
    wrapper.unmount()
  })

  it('shows the payment, the refunds, the pickup rows, and refunds at most what is left', async () => {
    const partly = {
      ...order, status: 'ready_for_pickup', refundable_fen: 20000,
      items: [{ sku_id: 1, name: '月饼', spec: '6枚', qty: 2, price_fen: 12800, picked_up_qty: 1 }],
      refunds: [{ ...refund, reason: '少一盒', status: 'success', succeeded_at: '2026-12-07T09:06:00+08:00' }],
      pickups: [{ seq: 1, verified_at: '2026-12-07T10:00:00+08:00', store_id: 1, staff_id: 3, staff_name: '王小丽', partial: true,
        items: [{ sku_id: 1, qty: 1, name: '月饼', spec: '6枚' }] }],
    }
    server([() => json(200, partly)])
    const wrapper = mount(OrderDetailPage, { props: { orderNo: NO }, global: { plugins: [i18n], stubs: { RouterLink: true } }, attachTo: document.body })
    await flushPromises()
    expect(wrapper.text()).toContain('138****5678')
    const payments = wrapper.find('.payments').text()
    expect(payments).toContain('¥256.00')
    expect(payments).toContain('4200****567890')
    expect(payments).toContain('支付通知')
    const refunds = wrapper.find('.refunds').text()
    expect(refunds).toContain('¥200.00')
    expect(refunds).toContain('少一盒')
    expect(refunds).toContain('已退款')
    const pickups = wrapper.find('.pickups').text()
    expect(pickups).toContain('王小丽')
    expect(pickups).toContain('月饼 6枚 ×1')
    expect(pickups).toContain('部分提货')

    await click('退款')
    expect(document.body.textContent).toContain('可退金额 ¥200.00')
    await type('#refund-amount', '200.01')
    expect(document.body.textContent).toContain('退款金额不能超过可退金额 ¥200.00')
    expect(button('下一步')!.disabled).toBe(true)
    wrapper.unmount()
  })

  it('offers no refund when nothing is left', async () => {
    server([() => json(200, { ...order, refundable_fen: 0 })])
    const wrapper = mount(OrderDetailPage, { props: { orderNo: NO }, global: { plugins: [i18n], stubs: { RouterLink: true } }, attachTo: document.body })
    await flushPromises()
    expect(button('退款')).toBeUndefined()
    expect(wrapper.find('.refunds .refundable').text()).toContain('¥0.00')
    wrapper.unmount()
  })
})
