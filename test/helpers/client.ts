import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import iconv from 'iconv-lite'
import type { Test } from 'tap'
import { runCli } from '../../client/src/cli.js'
import { createLicense } from '../../src/license/licenses.js'
import { buildTestApp, listen, type TestApp } from './app.js'
import { makeTree } from './tree.js'
import { dayLogName } from '../../client/src/log.js'
import type { State } from '../../client/src/state.js'

/**
 * A PC with iupdate-client: its own data folder, `%TEMP`, `%WIN32` and drive folders in a
 * temporary directory, and the command line run in this process (as `npx iupdate-client …`).
 */
export interface Pc {
  root: string
  data: string
  folders: { temp: string, win32: string, drives: string }
  run: (...args: string[]) => Promise<{ code: number, out: string, err: string }>
  /** Writes a file.ini in windows-1253 and returns its path. */
  ini: (name: string, ftp: Record<string, string>) => Promise<string>
  state: () => Promise<State>
  log: () => Promise<string>
}

export async function makePc (t: Test, settings: Record<string, unknown> = {}): Promise<Pc> {
  const root = await mkdtemp(join(tmpdir(), 'iupdate-pc-'))
  t.teardown(async () => { await rm(root, { recursive: true, force: true }) })
  const data = join(root, 'data')
  const folders = { temp: join(root, 'temp'), win32: join(root, 'win32'), drives: join(root, 'drives') }
  await mkdir(data, { recursive: true })
  await writeFile(join(data, 'settings.json'), JSON.stringify({ tempDir: folders.temp, win32Dir: folders.win32, drivesDir: folders.drives, requestTimeoutMs: 10_000, ...settings }))
  return {
    root,
    data,
    folders,
    run: async (...args) => {
      let out = ''
      let err = ''
      const code = await runCli(['--data', data, ...args], { out: (text) => { out += text }, err: (text) => { err += text }, env: {} })
      return { code, out, err }
    },
    ini: async (name, ftp) => {
      const path = join(root, name)
      await writeFile(path, iconv.encode(`[Ftp]\r\n${Object.entries(ftp).map(([k, v]) => `${k}=${v}\r\n`).join('')}`, 'win1253'))
      return path
    },
    state: async () => JSON.parse(await readFile(join(data, 'state.json'), 'utf8')) as State,
    log: async () => await readFile(join(data, dayLogName(new Date())), 'utf8')
  }
}

/** A server with one program (`tool`, its files in `ftp/tool/…`) and a license for it, on a real socket. */
export async function buildToolServer (t: Test, files: Record<string, string | Buffer>, env: Record<string, string> = {}): Promise<TestApp & { root: string, base: string, host: string, key: string }> {
  const root = await makeTree(t, Object.fromEntries(Object.entries(files).map(([path, content]) => [`tool/${path}`, content])))
  const built = await buildTestApp(t, { FTP_ROOT: root, REPO_SETTLE_MS: '0', RATE_LIMIT_MAX: '100000', ...env })
  const program = await built.app.prisma.program.create({ data: { name: 'tool' } })
  const { key } = await createLicense(built.app.prisma, { programId: program.id, programName: 'tool', customerName: 'C', seatLimit: 2 })
  const base = await listen(built.app)
  return { ...built, root, base, host: new URL(base).host, key }
}
