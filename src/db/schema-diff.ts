import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'

/**
 * SQL between two Prisma datamodels, computed by Prisma's own schema engine compiled to
 * WebAssembly (@prisma/schema-engine-wasm, a dev dependency), with no native engine and no
 * shadow database. Used to write new migrations (`npm run db:diff`) and by the drift test.
 */
type Engine = { diff: (params: unknown) => Promise<{ stdout: string | null }> }
type WasmExports = Record<string, unknown>
// The WebAssembly global is not in Node's type definitions for this target.
const { WebAssembly } = globalThis as unknown as {
  WebAssembly: { instantiate: (bytes: Buffer, imports: object) => Promise<{ instance: { exports: WasmExports } }> }
}
type EngineModule = {
  __wbg_set_wasm: (exports: WasmExports) => void
  SchemaEngine: { new: (options: unknown, log: (line: string) => void, adapter: unknown) => Promise<Engine> }
}

let engineModule: Promise<EngineModule> | undefined

async function loadEngineModule (): Promise<EngineModule> {
  const glue = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg')
  // Node 20 cannot import .wasm as an ES module, so the glue is wired to the instance by hand.
  const bg = await import(glue) as EngineModule
  const bytes = await readFile(fileURLToPath(new URL('schema_engine_bg.wasm', glue)))
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg })
  bg.__wbg_set_wasm(instance.exports)
  ;(instance.exports.__wbindgen_start as (() => void) | undefined)?.()
  return bg
}

/** SQL that turns a database shaped by `from` (or an empty one) into one shaped by `to`. */
export async function diffSchemas (from: string | null, to: string, databaseUrl: string): Promise<string> {
  engineModule ??= loadEngineModule()
  const bg = await engineModule
  const { bindMigrationAwareSqlAdapterFactory } = await import('@prisma/driver-adapter-utils')
  // The engine opens a connection even for a diff between two datamodels (to learn the
  // server's version); nothing is read from or written to the database.
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: databaseUrl }))
  const engine = await bg.SchemaEngine.new({ datamodels: [['schema.prisma', to]] }, () => {}, adapter)
  const target = (content: string | null): unknown => content === null
    ? { tag: 'empty' }
    : { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content }] }
  const result = await engine.diff({
    from: target(from),
    to: target(to),
    script: true,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] }
  })
  return result.stdout ?? ''
}
