// The coupon-template form: what a merchant types (yuan, days) into what the API takes (fen).
import { parseYuan } from '@/money'

export type Kind = 'fixed' | 'percent' | 'threshold' | 'voucher'
export const KINDS: Kind[] = ['fixed', 'threshold', 'percent', 'voucher']
// How coupons of a template reach shoppers: claimed by hand, given at the first login, as an
// invitation tier's or a campaign's reward, after a completed order, bought with points, or
// on a member's birthday (their level's benefit).
export type Channel = 'claim' | 'new_customer' | 'invitation' | 'campaign' | 'order_gift' | 'points_exchange' | 'birthday'
export const CHANNELS: Channel[] = ['claim', 'new_customer', 'invitation', 'campaign', 'order_gift', 'points_exchange',
  'birthday']

export interface TemplateForm {
  name: string
  kind: Kind
  amount: string // yuan
  percentOff: number | null
  cap: string // yuan, optional
  minSpend: string // yuan, optional
  skuId: number | null
  validDays: number | null
  totalLimit: number | null
  perUserLimit: number
  channels: Channel[]
  pointsCost: number | null // points_exchange only
}

export function emptyForm(): TemplateForm {
  return { name: '', kind: 'threshold', amount: '', percentOff: null, cap: '', minSpend: '', skuId: null,
    validDays: 30, totalLimit: null, perUserLimit: 1, channels: ['claim'], pointsCost: null }
}

/** The request body, or the names of the fields at fault (i18n keys under coupons.invalid). */
export function templateBody(f: TemplateForm): { body?: Record<string, unknown>; problems: string[] } {
  const problems: string[] = []
  const name = f.name.trim()
  if (!name || name.length > 64) problems.push('name')
  const amount = f.amount.trim() ? parseYuan(f.amount) : null
  const cap = f.cap.trim() ? parseYuan(f.cap) : null
  const minSpend = f.minSpend.trim() ? parseYuan(f.minSpend) : 0
  if ((f.kind === 'fixed' || f.kind === 'threshold') && !(amount && amount > 0)) problems.push('amount')
  if (f.kind === 'threshold' && !(minSpend !== null && amount !== null && minSpend > amount)) problems.push('minSpend')
  if (f.kind === 'percent' && !(f.percentOff && f.percentOff >= 1 && f.percentOff <= 99)) problems.push('percentOff')
  if (f.cap.trim() && !(cap && cap > 0)) problems.push('cap')
  if (f.kind === 'voucher' && !(f.skuId && f.skuId > 0)) problems.push('sku')
  if (!(f.validDays && f.validDays >= 1)) problems.push('validDays')
  if (minSpend === null) problems.push('minSpend')
  if (!f.channels.length) problems.push('channels')
  const exchange = f.channels.includes('points_exchange')
  if (exchange && !(f.pointsCost && f.pointsCost >= 1)) problems.push('pointsCost')
  if (problems.length) return { problems: [...new Set(problems)] }
  const body: Record<string, unknown> = {
    name, kind: f.kind, min_spend_fen: minSpend ?? 0, valid_days: f.validDays, per_user_limit: f.perUserLimit,
    channels: [...f.channels], points_cost: exchange ? f.pointsCost : 0,
  }
  if (f.kind === 'fixed' || f.kind === 'threshold') body.amount_fen = amount
  if (f.kind === 'percent') {
    body.percent_off = f.percentOff
    if (cap) body.cap_fen = cap
  }
  if (f.kind === 'voucher') body.sku_id = f.skuId
  if (f.totalLimit) body.total_limit = f.totalLimit
  return { body, problems }
}
