// First-response times: seconds as staff read them ("2小时5分" / "2 h 5 min").
export interface DurationUnits { day: string; hour: string; minute: string; second: string; sep: string }

export function formatDuration(seconds: number | null | undefined, u: DurationUnits): string | null {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return null
  const s = Math.floor(seconds)
  if (s < 60) return `${s}${u.second}`
  const days = Math.floor(s / 86400)
  const hours = Math.floor((s % 86400) / 3600)
  const minutes = Math.floor((s % 3600) / 60)
  const parts: string[] = []
  if (days) parts.push(`${days}${u.day}`)
  if (hours) parts.push(`${hours}${u.hour}`)
  if (minutes && !days) parts.push(`${minutes}${u.minute}`)
  return parts.join(u.sep)
}

/** Answered late (or not yet, and already late): over a day, WeChat Pay's own expectation. */
export function isLate(firstResponseS: number | null | undefined, complaintTime: string | null | undefined,
  now: number = Date.now()): boolean {
  if (firstResponseS != null) return firstResponseS > 86400
  if (!complaintTime) return false
  return now - Date.parse(complaintTime) > 86400_000
}
