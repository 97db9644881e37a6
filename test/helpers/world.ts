import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { createLicense } from '../../src/license/licenses.js'
import { buildTestApp, listen, type TestApp, type TestAppOptions } from './app.js'
import { makeTree } from './tree.js'

/**
 * A vendor's world for end-to-end tests: the program `ishop` with versions 2.6.5.1 and
 * 2.7.0.0 (released 2026-06-01), updates for 2.6 and 2.7, a serial folder, and licenses
 * in every state, served on a real socket.
 */
export const TOKEN_SECRET = 'test-token-secret-0123456789abcdef0123456789'
// Larger than what loopback socket buffers hold, so that a transfer cut short really is.
export const SETUP_SIZE = 24 * 1024 * 1024
export const RELEASED = new Date('2026-06-01T00:00:00Z')

export interface World extends TestApp {
  base: string
  root: string
  setup: Buffer
  keys: { entitled: string, expired: string, suspended: string, single: string, serialFolder: string, many: string }
  pcid: () => Promise<string>
  query: (params: string, base?: string) => Promise<{ status: number, lines: string[], map: Map<string, string> }>
}

export async function buildWorld (t: Test, env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<World> {
  const setup = randomBytes(SETUP_SIZE)
  const keys = { entitled: '', expired: '', suspended: '', single: '', serialFolder: '', many: '' }
  const root = await makeTree(t, {
    'ishop/@install.txt': '%TEMP\\setup.exe /S',
    'ishop/2.6.5.1/setup.exe': 'old installer',
    'ishop/2.7.0.0/setup.exe': setup,
    'ishop/2.7.0.0/@win32/ishopx.dll': 'dll 2.7',
    'ishop/2.7.0.0/docs/readme.txt': 'readme <2.7>',
    'ishop/updates/@install.txt': '%PROG\\patch.exe',
    'ishop/updates/2.6/patch.exe': 'patch for 2.6',
    'ishop/updates/2.7/fix.dll': 'fix for 2.7'
  })
  const app = await buildTestApp(t, { FTP_ROOT: root, REPO_SETTLE_MS: '0', TOKEN_SECRET, RATE_LIMIT_MAX: '100000', DOWNLOAD_RATE_LIMIT_MAX: '100000', ...env }, options)
  const prisma = app.app.prisma
  const program = await prisma.program.create({
    data: { name: 'ishop', displayNameEn: 'iShop <Retail>', displayNameEl: 'iShop Λιανική', purchaseUrl: 'https://shop.example.com/upgrade?p=ishop&lang=en' }
  })
  await prisma.programVersion.create({ data: { programId: program.id, version: '2.7.0.0', releasedAt: RELEASED, notesEn: 'Faster <b>reports</b> & fixes', notesEl: 'Ταχύτερες αναφορές' } })
  const make = async (end: Date | null, extra: { status?: 'active' | 'suspended' | 'revoked', seatLimit?: number } = {}): Promise<string> => {
    const { key, id } = await createLicense(prisma, { programId: program.id, programName: 'ishop', customerName: 'Customer', maintenanceEnd: end, seatLimit: extra.seatLimit ?? 5 })
    if (extra.status !== undefined) await prisma.license.update({ where: { id }, data: { status: extra.status } })
    return key
  }
  keys.entitled = await make(new Date('2027-01-01T00:00:00Z'))
  keys.expired = await make(new Date('2026-01-01T00:00:00Z'))
  keys.suspended = await make(null, { status: 'suspended' })
  keys.single = await make(null, { seatLimit: 1 })
  keys.serialFolder = await make(null)
  keys.many = await make(null, { seatLimit: 10_000 })
  const { writeTree } = await import('./tree.js')
  await writeTree(root, { [`ishop/updates/@${keys.serialFolder}/custom.rpt`]: 'only for one customer' })
  await app.app.repository.rescan('ishop')
  await app.app.catalog.refresh()
  const base = await listen(app.app)

  const pcid = async (): Promise<string> => (await (await fetch(`${base}/myweb/iupdate.php?f=getpcid`)).text()).trim().slice(5)
  const query = async (params: string, at = base): Promise<{ status: number, lines: string[], map: Map<string, string> }> => {
    const res = await fetch(`${at}/myweb/iupdate.php?f=qrymaxver&cs=utf8&${params}`)
    const lines = (await res.text()).split('\r\n').filter((line) => line !== '')
    return { status: res.status, lines, map: new Map(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])) }
  }
  return { ...app, base, root, setup, keys, pcid, query }
}
