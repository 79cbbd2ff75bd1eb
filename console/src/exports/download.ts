// A file from the API saved by the browser: fetched through the session cookie
// (consoleFetch: no token in a URL), handed over as an object URL. One way for every
// download of the console (card exports, data exports).
import { NetworkError, toApiError } from '@/api/errors'
import { consoleFetch } from '@/api/http'
import { filenameFrom } from '@/cards/exportJob'

export async function saveFile(path: string, fallbackName: string): Promise<void> {
  let response: Response
  try {
    response = await consoleFetch(new Request(new URL(path, location.href)))
  } catch (cause) {
    throw new NetworkError(cause)
  }
  if (!response.ok) throw toApiError(response.status, await response.json().catch(() => null))
  const blob = await response.blob()
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = filenameFrom(response.headers.get('Content-Disposition'), fallbackName)
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}
