// A store's opening hours as the API takes them: {"mon": [["09:00", "21:00"]], ...}, local
// time; a missing day is closed. On screen one line per day: "09:00-21:00", several ranges
// separated by commas ("09:00-12:00, 14:00-21:00"), empty for closed.

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Day = (typeof DAYS)[number]
export type Hours = Partial<Record<Day, [string, string][]>>

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/

function pad(time: string): string {
  const m = TIME.exec(time.trim())
  return m ? `${m[1]!.padStart(2, '0')}:${m[2]}` : ''
}

export function hoursToText(hours: unknown): Record<Day, string> {
  const out = Object.fromEntries(DAYS.map((d) => [d, ''])) as Record<Day, string>
  if (!hours || typeof hours !== 'object') return out
  for (const day of DAYS) {
    const ranges = (hours as Record<string, unknown>)[day]
    if (Array.isArray(ranges)) {
      out[day] = ranges.filter((r) => Array.isArray(r) && r.length === 2).map((r) => `${r[0]}-${r[1]}`).join(', ')
    }
  }
  return out
}

/** The API's object, or the first day whose line cannot be read. */
export function parseHours(text: Record<Day, string>): { hours: Hours } | { badDay: Day } {
  const hours: Hours = {}
  for (const day of DAYS) {
    const line = (text[day] ?? '').trim()
    if (!line) continue
    const ranges: [string, string][] = []
    for (const part of line.split(/[,，;；]/)) {
      if (!part.trim()) continue
      const [from, to, ...rest] = part.split(/[-–~～至]/)
      const a = pad(from ?? '')
      const b = pad(to ?? '')
      if (rest.length || !a || !b || a === b) return { badDay: day }
      ranges.push([a, b])
    }
    if (ranges.length) hours[day] = ranges
  }
  return { hours }
}
