import { describe, expect, it } from 'vitest'
import { emptyForm, templateBody } from '@/growth/coupons'

describe('templateBody', () => {
  it('turns a 满减 coupon typed in yuan into fen', () => {
    const { body, problems } = templateBody({ ...emptyForm(), name: '满100减20', amount: '20', minSpend: '100', totalLimit: 500 })
    expect(problems).toEqual([])
    expect(body).toMatchObject({ kind: 'threshold', amount_fen: 2000, min_spend_fen: 10000, total_limit: 500, valid_days: 30 })
  })
  it('refuses a threshold not above the amount, and a percent out of range', () => {
    expect(templateBody({ ...emptyForm(), name: 'x', amount: '20', minSpend: '10' }).problems).toEqual(['minSpend'])
    expect(templateBody({ ...emptyForm(), name: 'x', kind: 'percent', percentOff: 100 }).problems).toEqual(['percentOff'])
  })
  it('a voucher needs its SKU and takes no amount', () => {
    expect(templateBody({ ...emptyForm(), name: '提货券', kind: 'voucher' }).problems).toEqual(['sku'])
    const { body } = templateBody({ ...emptyForm(), name: '提货券', kind: 'voucher', skuId: 3 })
    expect(body).toMatchObject({ kind: 'voucher', sku_id: 3 })
    expect(body).not.toHaveProperty('amount_fen')
  })
  it('sends the channels chosen, and needs at least one', () => {
    expect(templateBody({ ...emptyForm(), name: '邀请券', amount: '5', minSpend: '50' }).body?.channels).toEqual(['claim'])
    const { body } = templateBody({ ...emptyForm(), name: '邀请券', amount: '5', minSpend: '50', channels: ['invitation', 'campaign'] })
    expect(body?.channels).toEqual(['invitation', 'campaign'])
    expect(templateBody({ ...emptyForm(), name: '邀请券', amount: '5', minSpend: '50', channels: [] }).problems).toEqual(['channels'])
  })
})
