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
}
const refund = { out_refund_no: `${NO}R1`, amount_fen: 5630, reason: null, status: 'pending', automatic: false,
  created_at: '2026-12-07T09:05:00+08:00', succeeded_at: null }
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
      () => json(200, order),
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
})
