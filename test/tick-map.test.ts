import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { PACKAGE_ROOT } from '../src/paths.js'

// In a child process with V8's natives syntax (%HaveSameMap) and gc(): the compiled module, as
// the server runs it (npm test builds first).
const script = `
import { createHook } from 'node:async_hooks'
const { keepTickObjectMap } = await import(${JSON.stringify(pathToFileURL(join(PACKAGE_ROOT, 'dist', 'src', 'tick-map.js')).href)})
const kept = keepTickObjectMap()
const again = keepTickObjectMap()
// Idle spells, each ended by a full GC while no other queue entry is alive: what collected the
// entries' maps in a server between loads.
for (let i = 0; i < 8; i++) {
  for (let j = 0; j < 1000; j++) process.nextTick(() => {})
  await new Promise((resolve) => setTimeout(resolve, 5))
  gc()
}
let fresh
const hook = createHook({ init (id, type, trigger, resource) { if (type === 'TickObject') fresh ??= resource } }).enable()
process.nextTick(() => {})
hook.disable()
console.log(JSON.stringify({
  kept: kept !== undefined,
  once: kept === again,
  symbols: kept === undefined ? [] : Object.getOwnPropertySymbols(kept).map(String),
  fields: kept === undefined ? [] : Object.keys(kept),
  sameMap: kept !== undefined && fresh !== undefined && %HaveSameMap(kept, fresh)
}))
`

t.test('one nextTick queue entry is kept, and new entries still share its map after idle GCs', async (t) => {
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' })
  t.equal(run.status, 0, run.stderr)
  const result = JSON.parse(run.stdout) as { kept: boolean, once: boolean, symbols: string[], fields: string[], sameMap: boolean }
  t.ok(result.kept, 'an entry was taken from the hook')
  t.ok(result.once, 'a second call keeps the same entry')
  t.same(result.symbols, ['Symbol(async_id_symbol)', 'Symbol(trigger_async_id_symbol)'], 'it is a nextTick queue entry')
  t.same(result.fields, ['callback', 'args'])
  t.ok(result.sameMap, 'entries made after eight idle GCs have the kept entry\'s map')
})
