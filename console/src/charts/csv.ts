// A chart's data as a CSV file the merchant opens in Excel: UTF-8 with a BOM (so Excel
// reads Chinese), CRLF lines, quoted fields, and any text cell that a spreadsheet would
// run as a formula (= + - @, tab, carriage return first) neutralised with a leading
// apostrophe (OWASP's CSV-injection advice). Numbers stay numbers.

export type Cell = string | number | null | undefined

const FORMULA = /^[=+\-@\t\r]/

export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : ''
  const text = FORMULA.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) || text !== value ? `"${text.replace(/"/g, '""')}"` : text
}

export function toCsv(header: string[], rows: Cell[][]): string {
  return '\uFEFF' + [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n'
}

/** Offer `text` as a file download (an object URL: nothing leaves the browser). */
export function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
