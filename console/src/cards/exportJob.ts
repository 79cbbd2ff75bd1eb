// A card batch's export (handlers/admin_cards.py, models/cards/exports.py): POST …/export
// starts a background job (202; the same admin asking again gets the same job, 200);
// GET /api/admin/card-exports/{id} follows it, queued → running → ready; the CSV can be
// downloaded again and again until receipt is confirmed (→ delivered: the passwords are
// destroyed); a ready export left unconfirmed past its TTL is expired; failed stored
// nothing (POST …/export again).
import { ApiError } from '@/api/errors'

export type ExportStatus = 'queued' | 'running' | 'ready' | 'delivered' | 'expired' | 'failed'

export interface ExportJob {
  id?: number
  batch_id?: number
  status?: string
  cards_total?: number
  cards_done?: number
  downloads?: number
  expires_at?: string | null
  error?: string | null
}

/** What the page offers next. */
export type Step = 'working' | 'download' | 'confirm' | 'delivered' | 'expired' | 'failed'

export function isWorking(job: ExportJob): boolean {
  return job.status === 'queued' || job.status === 'running'
}

/** ready and never downloaded: download; ready and downloaded: download again or confirm. */
export function stepOf(job: ExportJob): Step {
  switch (job.status) {
    case 'queued':
    case 'running':
      return 'working'
    case 'ready':
      return (job.downloads ?? 0) > 0 ? 'confirm' : 'download'
    case 'delivered':
      return 'delivered'
    case 'expired':
      return 'expired'
    default:
      return 'failed'
  }
}

/** Whole percent of the passwords made (integer arithmetic; 100 only when ready or later). */
export function percent(job: ExportJob): number {
  if (job.status === 'ready' || job.status === 'delivered') return 100
  const total = job.cards_total ?? 0
  const done = Math.min(Math.max(job.cards_done ?? 0, 0), total)
  if (total <= 0) return 0
  return Math.min(99, Math.floor((done * 100) / total))
}

export interface FollowOptions {
  sleep?: (ms: number) => Promise<void>
  /** stop following (the page was left): the promise resolves with the last job seen */
  stopped?: () => boolean
  intervalMs?: number
  /** consecutive failed reads (no answer, 429, 5xx) given up after */
  maxFailures?: number
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A read worth retrying: no answer, rate limited, or the server's trouble. */
export function retryable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true // NetworkError and the like
  return error.status === 429 || error.status >= 500
}

/** Reads the job until it is no longer working, reporting each answer; a refusal that
 * retrying cannot fix (404, 403, 401) or too many failures in a row throws. */
export async function followExport(
  read: () => Promise<ExportJob>,
  seen: (job: ExportJob) => void,
  options: FollowOptions = {},
): Promise<ExportJob | null> {
  const sleep = options.sleep ?? wait
  const interval = options.intervalMs ?? 800
  const maxFailures = options.maxFailures ?? 5
  let failures = 0
  let last: ExportJob | null = null
  for (;;) {
    if (options.stopped?.()) return last
    try {
      last = await read()
      failures = 0
      seen(last)
      if (!isWorking(last)) return last
      await sleep(interval)
    } catch (error) {
      if (!retryable(error)) throw error
      failures += 1
      if (failures >= maxFailures) throw error
      await sleep(Math.min(interval * 2 ** failures, 10_000))
    }
  }
}

/** filename="tihuo-cards-3.csv" (or filename*=UTF-8''…) of a Content-Disposition. */
export function filenameFrom(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition)
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim())
    } catch {
      // fall through to the plain one
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;\s]+)/.exec(disposition)
  const name = plain?.[1] ?? plain?.[2]
  return name && !/[\\/]/.test(name) ? name : fallback
}
