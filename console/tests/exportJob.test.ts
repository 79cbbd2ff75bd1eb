import { describe, expect, it } from 'vitest'
import { ApiError, NetworkError } from '@/api/errors'
import { filenameFrom, followExport, isWorking, percent, stepOf, type ExportJob } from '@/cards/exportJob'

const job = (status: string, done = 0, total = 10, downloads = 0): ExportJob =>
  ({ id: 7, batch_id: 3, status, cards_done: done, cards_total: total, downloads })

describe('an export job, step by step', () => {
  it('offers what comes next in each state', () => {
    expect(stepOf(job('queued'))).toBe('working')
    expect(stepOf(job('running', 5))).toBe('working')
    expect(stepOf(job('ready', 10, 10, 0))).toBe('download')
    expect(stepOf(job('ready', 10, 10, 1))).toBe('confirm') // downloaded: confirm (or download again)
    expect(stepOf(job('delivered', 10, 10, 2))).toBe('delivered')
    expect(stepOf(job('expired'))).toBe('expired')
    expect(stepOf(job('failed'))).toBe('failed')
    expect(stepOf(job('something new'))).toBe('failed')
    expect(isWorking(job('queued'))).toBe(true)
    expect(isWorking(job('ready'))).toBe(false)
  })

  it('counts progress in whole percent, 100 only when the passwords are stored', () => {
    expect(percent(job('queued', 0, 0))).toBe(0)
    expect(percent(job('running', 1, 3))).toBe(33)
    expect(percent(job('running', 10, 10))).toBe(99) // all hashed, not stored yet
    expect(percent(job('running', 12, 10))).toBe(99)
    expect(percent(job('ready', 10, 10))).toBe(100)
    expect(percent(job('delivered', 0, 10))).toBe(100)
  })
})

describe('following an export until it stops working', () => {
  const noWait = async () => {}

  it('reads until ready, reporting every answer', async () => {
    const answers = [job('queued'), job('running', 4), job('running', 8), job('ready', 10)]
    const seen: ExportJob[] = []
    const last = await followExport(async () => answers.shift()!, (j) => seen.push(j), { sleep: noWait })
    expect(last?.status).toBe('ready')
    expect(seen.map((j) => percent(j))).toEqual([0, 40, 80, 100])
  })

  it('stops at failed, delivered or expired too', async () => {
    for (const status of ['failed', 'delivered', 'expired']) {
      const answers = [job('running', 1), job(status)]
      expect((await followExport(async () => answers.shift()!, () => {}, { sleep: noWait }))?.status).toBe(status)
    }
  })

  it('rides out lost answers and busy servers, backing off', async () => {
    const waits: number[] = []
    const answers: (ExportJob | Error)[] = [new NetworkError(), new ApiError(503, 'unavailable', ''), job('running', 5), new ApiError(429, 'rate_limited', ''), job('ready', 10)]
    const last = await followExport(async () => {
      const next = answers.shift()!
      if (next instanceof Error) throw next
      return next
    }, () => {}, { sleep: async (ms) => { waits.push(ms) }, intervalMs: 100 })
    expect(last?.status).toBe('ready')
    expect(waits).toEqual([200, 400, 100, 200])
  })

  it('gives up on a refusal retrying cannot fix, or after too many failures', async () => {
    await expect(followExport(async () => { throw new ApiError(404, 'not_found', 'No such card export.') }, () => {}, { sleep: noWait }))
      .rejects.toMatchObject({ status: 404 })
    let reads = 0
    await expect(followExport(async () => { reads++; throw new NetworkError() }, () => {}, { sleep: noWait, maxFailures: 3 }))
      .rejects.toBeInstanceOf(NetworkError)
    expect(reads).toBe(3)
  })

  it('stops when the page is left', async () => {
    let reads = 0
    let left = false
    const last = await followExport(async () => { reads++; if (reads === 2) left = true; return job('running', reads) },
      () => {}, { sleep: noWait, stopped: () => left })
    expect(reads).toBe(2)
    expect(last?.cards_done).toBe(2)
  })
})

describe('the download file name', () => {
  it('comes from Content-Disposition, never a path', () => {
    expect(filenameFrom('attachment; filename="card-batch-3.csv"', 'x.csv')).toBe('card-batch-3.csv')
    expect(filenameFrom("attachment; filename*=UTF-8''%E5%8D%A1.csv", 'x.csv')).toBe('卡.csv')
    expect(filenameFrom('attachment; filename=plain.csv', 'x.csv')).toBe('plain.csv')
    expect(filenameFrom('attachment; filename="../../etc/passwd"', 'x.csv')).toBe('x.csv')
    expect(filenameFrom(null, 'x.csv')).toBe('x.csv')
  })
})
