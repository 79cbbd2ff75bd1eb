// Data exports (GET /api/admin/exports/<kind>.<format>, POST /api/admin/exports): a small
// one streams straight to a file; one over the streaming cap (409 export_too_large)
// becomes a background job whose progress is followed until its file can be downloaded.
import { api, unwrap } from '@/api/client'
import type { components } from '@/api/schema'
import { ApiError } from '@/api/errors'
import { saveFile } from './download'

export type ExportKind = components['schemas']['ExportIn']['kind']
export type ExportFormat = 'csv' | 'xlsx'
export type ExportJob = components['schemas']['ExportOut']
export interface ExportFilters { from?: string | null; to?: string | null; storeId?: number | null }

/** The query string of a streamed export (only the filters given). */
export function exportQuery(filters: ExportFilters): string {
  const q = new URLSearchParams()
  if (filters.from) q.set('from', filters.from)
  if (filters.to) q.set('to', filters.to)
  if (filters.storeId) q.set('store_id', String(filters.storeId))
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** Progress of a job in whole percent; null until its rows are counted. */
export function jobPercent(job: ExportJob): number | null {
  if (job.status === 'ready') return 100
  if (job.rows_total == null) return null
  if (job.rows_total === 0) return 100
  return Math.min(99, Math.floor(((job.rows_done ?? 0) * 100) / job.rows_total))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function runExport(kind: ExportKind, format: ExportFormat, filters: ExportFilters,
  onJob: (job: ExportJob) => void = () => {}, pollMs = 1000): Promise<void> {
  const name = `${kind}.${format}`
  try {
    await saveFile(`/api/admin/exports/${name}${exportQuery(filters)}`, name)
    return
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'export_too_large')) throw error
  }
  let job = await unwrap(api.POST('/api/admin/exports', {
    body: { kind, format, filters: { from: filters.from ?? null, to: filters.to ?? null, store_id: filters.storeId ?? null } },
  }))
  onJob(job)
  while (job.status === 'queued' || job.status === 'running') {
    await sleep(pollMs)
    job = await unwrap(api.GET('/api/admin/exports/{export_id}', { params: { path: { export_id: job.id! } } }))
    onJob(job)
  }
  if (job.status !== 'ready') throw new ApiError(500, 'export_failed', job.error ?? job.status ?? 'failed')
  await saveFile(`/api/admin/exports/${job.id}/download`, name)
}
