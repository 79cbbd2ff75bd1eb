// The growth page's forms (邀请有礼, 会员等级, 人群与活动): what a merchant types (yuan,
// local times, a tier editor's rows) into what the API takes (fen, UTC ISO times, tiers
// sorted by invitees). Each returns the body, or the problems as i18n keys under growth.invalid.
import { parseYuan } from '@/money'

export type RewardKind = 'coupon' | 'points'

export interface TierRow {
  invitees: number | null
  kind: RewardKind
  templateId: number | null
  points: number | null
}

export type Reward = { kind: 'coupon'; template_id: number } | { kind: 'points'; points: number }
export interface Tier { invitees: number; reward: Reward }

export const MAX_TIERS = 10 // the API's limit
const isInt = (n: unknown, min: number, max: number): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max

export function emptyTier(invitees: number | null = null): TierRow {
  return { invitees, kind: 'points', templateId: null, points: null }
}

/** The tiers as the API takes them (fewest invitees first), or what is wrong with them:
 * none, an invitee count that is not 1–1000, two tiers with the same count, a coupon tier
 * without a template, a points tier without 1–1,000,000 points. */
export function tiersOf(rows: TierRow[]): { tiers?: Tier[]; problems: string[] } {
  const problems = new Set<string>()
  if (!rows.length || rows.length > MAX_TIERS) problems.add('tiers')
  const seen = new Set<number>()
  for (const row of rows) {
    if (!isInt(row.invitees, 1, 1000)) problems.add('tierInvitees')
    else if (seen.has(row.invitees)) problems.add('tierDuplicate')
    else seen.add(row.invitees)
    if (row.kind === 'coupon' && !isInt(row.templateId, 1, Number.MAX_SAFE_INTEGER)) problems.add('tierCoupon')
    if (row.kind === 'points' && !isInt(row.points, 1, 1_000_000)) problems.add('tierPoints')
  }
  if (problems.size) return { problems: [...problems] }
  const tiers = rows.map((row): Tier => ({
    invitees: row.invitees as number,
    reward: row.kind === 'coupon' ? { kind: 'coupon', template_id: row.templateId as number }
      : { kind: 'points', points: row.points as number },
  }))
  return { tiers: tiers.sort((a, b) => a.invitees - b.invitees), problems: [] }
}

/** "2026-12-07T10:30" (a datetime-local input, the browser's time zone) → ISO UTC; null if not a time. */
export function localToIso(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null
  const date = new Date(value) // no zone in the string: read as local time
  return Number.isNaN(date.getTime()) ? null : date.toISOString()
}

/** A Date as a datetime-local input's value (local time, to the minute). */
export function isoToLocal(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`
}

export interface InvitationForm {
  name: string
  startsAt: string // datetime-local
  endsAt: string
  minOrder: string // yuan, optional
  tiers: TierRow[]
}

export function emptyInvitation(now: Date = new Date()): InvitationForm {
  const ends = new Date(now.getTime() + 30 * 86_400_000)
  return { name: '', startsAt: isoToLocal(now), endsAt: isoToLocal(ends), minOrder: '',
    tiers: [emptyTier(3), emptyTier(5)] }
}

export function invitationBody(f: InvitationForm): { body?: Record<string, unknown>; problems: string[] } {
  const problems: string[] = []
  const name = f.name.trim()
  if (!name || name.length > 64) problems.push('name')
  const starts = localToIso(f.startsAt)
  const ends = localToIso(f.endsAt)
  if (!starts || !ends || ends <= starts) problems.push('window') // ISO UTC strings sort as times
  const minOrder = f.minOrder.trim() ? parseYuan(f.minOrder) : 0
  if (minOrder === null || minOrder > 100_000_000) problems.push('minOrder')
  const { tiers, problems: tierProblems } = tiersOf(f.tiers)
  problems.push(...tierProblems)
  if (problems.length) return { problems }
  return { body: { name, starts_at: starts, ends_at: ends, min_order_fen: minOrder, tiers }, problems }
}

export interface LevelForm {
  name: string
  minSpend: string // yuan
  pointsPercent: number | null
  priorityPickup: boolean
  discountPercent: number | null // member price: percent off every order, 0–50
  birthdayTemplateId: number | null // a coupon template of the birthday channel
}

export function emptyLevel(): LevelForm {
  return { name: '', minSpend: '', pointsPercent: 100, priorityPickup: false, discountPercent: 0, birthdayTemplateId: null }
}

export function levelBody(f: LevelForm): { body?: Record<string, unknown>; problems: string[] } {
  const problems: string[] = []
  const name = f.name.trim()
  if (!name || name.length > 32) problems.push('levelName')
  const minSpend = f.minSpend.trim() ? parseYuan(f.minSpend) : null
  if (minSpend === null || minSpend > 1_000_000_000) problems.push('minSpend')
  if (!isInt(f.pointsPercent, 100, 1000)) problems.push('pointsPercent')
  if (!isInt(f.discountPercent ?? 0, 0, 50)) problems.push('discountPercent')
  if (problems.length) return { problems }
  return { body: { name, min_spend_fen: minSpend, points_percent: f.pointsPercent, priority_pickup: f.priorityPickup,
    discount_percent: f.discountPercent ?? 0, ...(f.birthdayTemplateId ? { birthday_template_id: f.birthdayTemplateId } : {}) },
  problems }
}

export const RFM_SEGMENTS = ['dormant', 'at_risk', 'new', 'regular', 'loyal', 'champions'] as const
export const PICKUP_STYLES = ['stocks_up', 'at_once', 'none'] as const

export interface SegmentForm {
  name: string
  storeId: number | null // null: every store
  segments: string[]
  pickupStyles: string[]
  rMin: number | null
  fMin: number | null
  mMin: number | null
  reachableOnly: boolean
}

export function emptySegment(): SegmentForm {
  return { name: '', storeId: null, segments: [], pickupStyles: [], rMin: null, fMin: null, mMin: null,
    reachableOnly: false }
}

/** The rules sent: only what narrows (the server drops empty ones too). */
export function segmentBody(f: SegmentForm): { body?: { name: string; rules: Record<string, unknown> }; problems: string[] } {
  const problems: string[] = []
  const name = f.name.trim()
  if (!name || name.length > 64) problems.push('name')
  for (const score of [f.rMin, f.fMin, f.mMin]) if (score !== null && !isInt(score, 1, 5)) problems.push('score')
  if (problems.length) return { problems: [...new Set(problems)] }
  const rules: Record<string, unknown> = {}
  if (f.storeId) rules.store_id = f.storeId
  if (f.segments.length) rules.segments = [...f.segments]
  if (f.pickupStyles.length) rules.pickup_styles = [...f.pickupStyles]
  if (f.rMin) rules.r_min = f.rMin
  if (f.fMin) rules.f_min = f.fMin
  if (f.mMin) rules.m_min = f.mMin
  if (f.reachableOnly) rules.reachable_only = true
  return { body: { name, rules }, problems }
}

export interface CampaignForm {
  name: string
  segmentId: number | null
  kind: RewardKind | 'message' // a message: a subscribe message where a grant is left
  templateId: number | null
  points: number | null
  note: string // the message's sentence, 1–20 characters
  holdoutPercent: number | null
  perRun: number | null
}

export function emptyCampaign(segmentId: number | null = null): CampaignForm {
  return { name: '', segmentId, kind: 'points', templateId: null, points: null, note: '', holdoutPercent: 10, perRun: 500 }
}

export function campaignBody(f: CampaignForm): { body?: Record<string, unknown>; problems: string[] } {
  const problems: string[] = []
  const name = f.name.trim()
  if (!name || name.length > 64) problems.push('name')
  if (!isInt(f.segmentId, 1, Number.MAX_SAFE_INTEGER)) problems.push('segment')
  if (f.kind === 'coupon' && !isInt(f.templateId, 1, Number.MAX_SAFE_INTEGER)) problems.push('coupon')
  if (f.kind === 'points' && !isInt(f.points, 1, 1_000_000)) problems.push('points')
  const note = f.note.trim()
  if (f.kind === 'message' && !(note.length >= 1 && [...note].length <= 20)) problems.push('note')
  if (!isInt(f.holdoutPercent, 0, 50)) problems.push('holdout')
  if (!isInt(f.perRun, 1, 10_000)) problems.push('perRun')
  if (problems.length) return { problems }
  const reward: Reward | { kind: 'message'; note: string } = f.kind === 'coupon'
    ? { kind: 'coupon', template_id: f.templateId as number }
    : f.kind === 'message' ? { kind: 'message', note } : { kind: 'points', points: f.points as number }
  return { body: { name, segment_id: f.segmentId, reward, holdout_percent: f.holdoutPercent, per_run: f.perRun },
    problems }
}

/** The coupon templates a reward may use: open to claims and to that channel. */
export function templatesFor<T extends { active?: boolean; channels?: string[] }>(templates: T[], channel: string): T[] {
  return templates.filter((tpl) => tpl.active && (tpl.channels ?? []).includes(channel))
}

/** 0.1234 → "12.3%", −0.05 → "-5.0%" (signed: "+5.0%"); "—" when there is no figure. */
export function percent(rate: number | null | undefined, signed = false): string {
  if (typeof rate !== 'number' || !Number.isFinite(rate)) return '—'
  const text = `${(rate * 100).toFixed(1)}%`
  return signed && rate > 0 ? `+${text}` : text
}
