// Types for every API call, from the API document the backend publishes.
//   npm run gen:api            writes src/api/schema.d.ts from openapi.json
//   node scripts/gen-api.mjs --check   exits 1 when the committed file is not what it gives
// openapi.json is written by the backend: `.venv/bin/python scripts/openapi_snapshot.py`
// (repository root). One place holds the options, so the check and the writer agree.
import { readFile, writeFile } from 'node:fs/promises'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'

const source = new URL('../openapi.json', import.meta.url)
const target = new URL('../src/api/schema.d.ts', import.meta.url)

const ast = await openapiTS(source, {
  // A field with a default is optional in a request body (the server fills it in), so
  // defaults must not make properties required.
  defaultNonNullable: false,
})
const text = COMMENT_HEADER + astToString(ast)

if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '')
  if (committed !== text) {
    console.error('src/api/schema.d.ts is out of date: run `npm run gen:api` in console/')
    process.exit(1)
  }
  console.log('src/api/schema.d.ts is up to date')
} else {
  await writeFile(target, text)
  console.log(`src/api/schema.d.ts written (${text.length} characters)`)
}
