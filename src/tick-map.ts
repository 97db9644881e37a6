import { createHook } from 'node:async_hooks'

/**
 * Keeps one of Node's `process.nextTick` queue entries alive for the life of the process, so
 * that V8 never collects the hidden classes (maps) of those entries.
 *
 * Why: every request goes through `process.nextTick` many times (Node's stream and HTTP code),
 * and each call builds its queue entry with one object literal,
 * `{ [async_id_symbol], [trigger_async_id_symbol], callback, args }`. When the server is idle,
 * no such entry is alive. A major GC then (V8's memory reducer starts one when a busy process
 * goes quiet) collects that literal's maps, and the next calls build new ones. After a few
 * idle spells every `nextTick` ends in the runtime (`Runtime_DefineKeyedOwnPropertyInLiteral`,
 * `JSObject::MigrateToMap`): inferred, as a release build does not show IC states, the
 * literal's store ICs have seen too many maps and gone megamorphic. From then on every request
 * costs about a fifth more, for the rest of the process's life. This was the "slow starts" of
 * `bench:qrymaxver`: eight cycles of load, idle and a GC slowed 4 of 4 servers without this and
 * 0 of 5 with it (DEVELOPERS.md).
 *
 * One live entry holds its map and, through the maps' back pointers, the whole chain from the
 * literal's first map. The entry is taken from an async hook's `init` (its `resource`), enabled
 * for one `nextTick` at startup and then disabled. Returns the entry kept (for the test).
 */
let kept: object | undefined

export function keepTickObjectMap (): object | undefined {
  if (kept !== undefined) return kept
  const hook = createHook({
    init (_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && kept === undefined) kept = resource
    }
  })
  hook.enable()
  try {
    process.nextTick(() => {})
  } finally {
    hook.disable()
  }
  return kept
}
