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

export interface AuditFilter { action: string; actor: string; target: string }

interface AuditEntry { action?: string; actor_type?: string; actor_id?: number | null; target_type?: string; target_id?: string | null }

/** The API filters nothing yet (cursor and limit only): the loaded entries are filtered here. */
export function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  const has = (text: string, needle: string) => !needle.trim() || text.toLowerCase().includes(needle.trim().toLowerCase())
  return has(entry.action ?? '', filter.action)
    && has(`${entry.actor_type ?? ''} ${entry.actor_id ?? ''}`, filter.actor)
    && has(`${entry.target_type ?? ''} ${entry.target_id ?? ''}`, filter.target)
}
