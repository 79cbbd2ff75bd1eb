// Audit entries (models/audit.py) made readable: `changes` holds [old, new] pairs for what
// an update changed, or the values a creation set.

function plain(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—'
  if (Array.isArray(value)) return `[${value.map(plain).join(', ')}]`
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** {role: ['clerk', 'manager'], password: 'changed'} → ['role: clerk → manager', 'password: changed'] */
export function describeChanges(changes: Record<string, unknown> | null | undefined): string[] {
  if (!changes) return []
  return Object.entries(changes).map(([name, value]) =>
    Array.isArray(value) && value.length === 2 && (Array.isArray(value[0]) || Array.isArray(value[1]) || typeof value[0] !== 'number')
      ? `${name}: ${plain(value[0])} → ${plain(value[1])}`
      : `${name}: ${plain(value)}`)
}

/** The page's filter fields as typed (GET /api/admin/audit filters on the server). */
export interface AuditFilter { actor: string; action: string; targetType: string; targetId: string; from: string; to: string }

export interface AuditQuery {
  actor_id?: number; action?: string; target_type?: string; target_id?: string; from?: string; to?: string
}

const ACTION = /^[A-Za-z0-9_.:-]{1,64}\*?$/
const TABLE = /^[a-z0-9_]{1,32}$/
const DAY = /^\d{4}-\d{2}-\d{2}$/

/** A real calendar day, YYYY-MM-DD, within the years the API answers for (2000–2999). */
export function isDay(text: string): boolean {
  if (!DAY.test(text)) return false
  const [y, m, d] = text.split('-').map(Number) as [number, number, number]
  const date = new Date(Date.UTC(y, m - 1, d))
  return y >= 2000 && y <= 2999 && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/** What is typed as an action, as the API's filter: a whole action (`inventory.restock`)
 * exactly; a word or a word ending in a dot (`inventory`, `inventory.`) as a prefix
 * (`inventory*`); a trailing `*` as typed. */
export function actionFilter(text: string): string {
  const s = text.trim()
  if (!s || s.endsWith('*')) return s
  return !s.includes('.') || s.endsWith('.') ? `${s}*` : s
}

/** The filter as the API's query, or the i18n key (under audit.invalid) of what is wrong. */
export function auditQuery(filter: AuditFilter): { query: AuditQuery } | { problem: string } {
  const query: AuditQuery = {}
  const actor = filter.actor.trim()
  if (actor) {
    if (!/^\d{1,10}$/.test(actor) || Number(actor) < 1 || Number(actor) > 2 ** 31 - 1) return { problem: 'actor' }
    query.actor_id = Number(actor)
  }
  const action = actionFilter(filter.action)
  if (action) {
    if (!ACTION.test(action)) return { problem: 'action' }
    query.action = action
  }
  const type = filter.targetType.trim()
  const id = filter.targetId.trim()
  if (type || id) {
    if (!TABLE.test(type)) return { problem: 'targetType' }
    query.target_type = type
    if (id) {
      if (id.length > 64) return { problem: 'targetId' }
      query.target_id = id
    }
  }
  for (const key of ['from', 'to'] as const) {
    const day = filter[key].trim()
    if (!day) continue
    if (!isDay(day)) return { problem: 'dates' }
    query[key] = day
  }
  if (query.from && query.to && query.from > query.to) return { problem: 'dates' }
  return { query }
}
