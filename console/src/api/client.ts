// Typed calls: openapi-fetch over the generated paths (src/api/schema.d.ts, `npm run gen:api`).
import createClient from 'openapi-fetch'
import { ApiError, NetworkError, toApiError } from './errors'
import { consoleFetch } from './http'
import type { paths } from './schema'
import { randomId } from '@/random'

export const api = createClient<paths>({
  baseUrl: '',
  credentials: 'same-origin',
  // The wrapper is looked up per call, so tests can replace globalThis.fetch.
  fetch: (request: Request) => consoleFetch(request),
})

interface FetchResult<T> {
  data?: T
  error?: unknown
  response: Response
}

/** The answer's data, or throws ApiError (refused) / NetworkError (no answer). */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>
  try {
    result = await call
  } catch (cause) {
    if (cause instanceof ApiError) throw cause
    throw new NetworkError(cause)
  }
  if (!result.response.ok) throw toApiError(result.response.status, result.error)
  return result.data as T
}

/** A device id for the pickup failure limit (X-Device-Id): one per browser, kept locally. */
export function deviceId(): string {
  const key = 'tihuo.device'
  let id = localStorage.getItem(key)
  if (!id || !/^[A-Za-z0-9_.:-]{1,64}$/.test(id)) {
    id = `console-${randomId()}`
    localStorage.setItem(key, id)
  }
  return id
}
