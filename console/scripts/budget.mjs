// The counter's first-load budget: the JS a clerk's phone downloads to show the counter
// (the entry, the counter route's chunks and everything they import statically), gzipped.
// Run after `vite build` (postbuild) or as `npm run budget`. Exits 1 over the budget.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const BUDGET = 250 * 1024
const dist = new URL('../dist/', import.meta.url)
const manifest = JSON.parse(readFileSync(new URL('.vite/manifest.json', dist), 'utf8'))

const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry)
// The counter's route chunk and the layout it renders in (both lazy routes).
const routeKeys = ['src/pages/CounterPage.vue', 'src/layouts/ConsoleLayout.vue']

/** @param {string[]} keys */
function closure(keys) {
  const seen = new Set()
  /** @param {string} key */
  const walk = (key) => {
    if (seen.has(key) || !manifest[key]) return
    seen.add(key)
    for (const dep of manifest[key].imports ?? []) walk(dep)
  }
  keys.forEach(walk)
  return seen
}

const missing = routeKeys.filter((k) => !manifest[k])
if (!entryKey || missing.length) {
  console.error(`budget: not in the manifest: ${missing.join(', ') || 'the entry'}`)
  process.exit(1)
}

const files = new Map()
for (const key of closure([entryKey, ...routeKeys])) {
  const file = manifest[key].file
  if (file.endsWith('.js')) files.set(file, key)
}
const sizes = [...files].map(([file, key]) => {
  const bytes = readFileSync(new URL(file, dist))
  return { file, key, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }
}).sort((a, b) => b.gzip - a.gzip)

/** @param {number} n */
const kb = (n) => `${(n / 1024).toFixed(1)} KB`
console.log('\nCounter first load (entry + counter route, static imports), JS:')
for (const s of sizes) console.log(`  ${kb(s.gzip).padStart(9)} gz  ${kb(s.raw).padStart(9)} raw  ${s.file}  (${s.key})`)
const total = sizes.reduce((sum, s) => sum + s.gzip, 0)
const raw = sizes.reduce((sum, s) => sum + s.raw, 0)
console.log(`  ${kb(total).padStart(9)} gz  ${kb(raw).padStart(9)} raw  total; budget ${kb(BUDGET)} gz`)

// For the record: the lazy camera decoder (only when the browser has no BarcodeDetector).
const lazy = Object.values(manifest).filter((c) => /zxing|barcode/i.test(c.file) || /zxing/.test(c.src ?? ''))
for (const c of lazy) {
  const bytes = readFileSync(new URL(c.file, dist))
  console.log(`  (lazy) ${kb(gzipSync(bytes, { level: 9 }).length)} gz  ${c.file}`)
}

if (total > BUDGET) {
  console.error(`budget: the counter's first load is ${kb(total)} gzipped, over ${kb(BUDGET)}`)
  process.exit(1)
}
