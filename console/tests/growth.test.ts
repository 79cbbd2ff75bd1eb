import { describe, expect, it } from 'vitest'
import { campaignBody, emptyCampaign, emptyInvitation, emptyLevel, emptySegment, emptyTier, invitationBody, isoToLocal,
  levelBody, localToIso, percent, segmentBody, templatesFor, tiersOf } from '@/growth/growth'
import messages from '@/i18n/growthPage'

function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix]
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k)).sort()
}

describe('the tier editor', () => {
  it('sends the tiers fewest invitees first, each with its reward', () => {
    const { tiers, problems } = tiersOf([
      { invitees: 5, kind: 'coupon', templateId: 7, points: 99 },
      { invitees: 3, kind: 'points', templateId: 7, points: 300 },
    ])
    expect(problems).toEqual([])
    expect(tiers).toEqual([
      { invitees: 3, reward: { kind: 'points', points: 300 } },
      { invitees: 5, reward: { kind: 'coupon', template_id: 7 } },
    ])
  })
  it('refuses no tiers, a repeated count, a coupon without a template, points out of range', () => {
    expect(tiersOf([]).problems).toEqual(['tiers'])
    expect(tiersOf([{ ...emptyTier(3), points: 1 }, { ...emptyTier(3), points: 2 }]).problems).toEqual(['tierDuplicate'])
    expect(tiersOf([{ ...emptyTier(3), kind: 'coupon' }]).problems).toEqual(['tierCoupon'])
    expect(tiersOf([{ ...emptyTier(3), points: 0 }]).problems).toEqual(['tierPoints'])
    expect(tiersOf([{ ...emptyTier(2.5), points: 1 }]).problems).toEqual(['tierInvitees'])
    expect(tiersOf([{ ...emptyTier(null), points: 1_000_001 }]).problems).toEqual(['tierInvitees', 'tierPoints'])
    expect(tiersOf(Array.from({ length: 11 }, (_, i) => ({ ...emptyTier(i + 1), points: 1 }))).problems).toEqual(['tiers'])
  })
})

describe('the invitation campaign form', () => {
  it('turns the minimum in yuan into fen exactly and the local window into UTC', () => {
    const form = { ...emptyInvitation(new Date(2026, 11, 7, 10, 30)), name: ' 邀请有礼 ', minOrder: '19.9',
      tiers: [{ ...emptyTier(3), points: 300 }] }
    const { body, problems } = invitationBody(form)
    expect(problems).toEqual([])
    expect(body).toMatchObject({ name: '邀请有礼', min_order_fen: 1990, tiers: [{ invitees: 3, reward: { kind: 'points', points: 300 } }] })
    expect(body?.starts_at).toBe(new Date(2026, 11, 7, 10, 30).toISOString())
    expect(body?.ends_at).toBe(new Date(2027, 0, 6, 10, 30).toISOString())
    expect(invitationBody({ ...form, minOrder: '0.29' }).body?.min_order_fen).toBe(29) // not 28.999…
  })
  it('refuses an end before the start, a minimum that is not money, and bad tiers all at once', () => {
    const form = { ...emptyInvitation(), name: 'x', startsAt: '2026-12-08T10:00', endsAt: '2026-12-08T09:00', minOrder: '1.234' }
    expect(invitationBody(form).problems).toEqual(['window', 'minOrder', 'tierPoints'])
    expect(invitationBody({ ...form, name: '', endsAt: 'soon', minOrder: '' }).problems).toEqual(['name', 'window', 'tierPoints'])
  })
  it('reads and writes a datetime-local value in local time', () => {
    expect(isoToLocal(new Date(2026, 0, 2, 3, 4))).toBe('2026-01-02T03:04')
    expect(localToIso('2026-01-02T03:04')).toBe(new Date(2026, 0, 2, 3, 4).toISOString())
    expect(localToIso('2026-01-02')).toBeNull()
  })
})

describe('levels, segments, campaigns', () => {
  it('a level: spend in yuan to fen, the points rate 100–1000', () => {
    expect(levelBody({ ...emptyLevel(), name: '金卡', minSpend: '1,000.50', pointsPercent: 150, priorityPickup: true }).body)
      .toEqual({ name: '金卡', min_spend_fen: 100050, points_percent: 150, priority_pickup: true, discount_percent: 0 })
    expect(levelBody({ ...emptyLevel(), name: '金卡', minSpend: '', pointsPercent: 90 }).problems).toEqual(['minSpend', 'pointsPercent'])
    expect(levelBody({ ...emptyLevel(), name: '钻石', minSpend: '5000', discountPercent: 5 }).body?.discount_percent).toBe(5)
    expect(levelBody({ ...emptyLevel(), name: '钻石', minSpend: '5000', discountPercent: 60 }).problems).toEqual(['discountPercent'])
  })
  it('a segment sends only the rules that narrow', () => {
    expect(segmentBody({ ...emptySegment(), name: '沉睡', segments: ['dormant'], rMin: 2 }).body)
      .toEqual({ name: '沉睡', rules: { segments: ['dormant'], r_min: 2 } })
    expect(segmentBody({ ...emptySegment(), name: '全部' }).body).toEqual({ name: '全部', rules: {} })
    expect(segmentBody({ ...emptySegment(), name: 'x', fMin: 6 }).problems).toEqual(['score'])
  })
  it('a campaign: a coupon needs its template, the holdout 0–50 %', () => {
    expect(campaignBody({ ...emptyCampaign(4), name: '唤醒', points: 200 }).body)
      .toEqual({ name: '唤醒', segment_id: 4, reward: { kind: 'points', points: 200 }, holdout_percent: 10, per_run: 500 })
    expect(campaignBody({ ...emptyCampaign(4), name: '唤醒', kind: 'coupon', holdoutPercent: 60 }).problems).toEqual(['coupon', 'holdout'])
    expect(campaignBody({ ...emptyCampaign(4), name: '回店', kind: 'message', note: ' 本周到店送小礼 ' }).body?.reward)
      .toEqual({ kind: 'message', note: '本周到店送小礼' })
    expect(campaignBody({ ...emptyCampaign(4), name: '回店', kind: 'message', note: '字'.repeat(21) }).problems).toEqual(['note'])
    expect(campaignBody({ ...emptyCampaign(), name: '唤醒', points: 1 }).problems).toEqual(['segment'])
  })
  it('offers only open templates of the channel', () => {
    const templates = [{ id: 1, active: true, channels: ['claim'] }, { id: 2, active: true, channels: ['invitation', 'claim'] },
      { id: 3, active: false, channels: ['invitation'] }]
    expect(templatesFor(templates, 'invitation').map((x) => x.id)).toEqual([2])
  })
  it('shows rates and a signed uplift', () => {
    expect([percent(0.1234), percent(0.05, true), percent(-0.021, true), percent(null)]).toEqual(['12.3%', '+5.0%', '-2.1%', '—'])
  })
})

describe("the page's texts", () => {
  it('say the same things in both languages', () => {
    expect(Object.keys(messages['zh-CN'])).toEqual(['growth'])
    expect(keys(messages.en)).toEqual(keys(messages['zh-CN']))
  })
})
