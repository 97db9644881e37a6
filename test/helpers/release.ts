import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { newPcid } from '../../src/license/pcid.js'
import { createLicense } from '../../src/license/licenses.js'
import { buildTestApp, type TestApp } from './app.js'
import { adminQuery } from './db.js'
import { ADMIN } from './admin.js'
import { makeTree } from './tree.js'

/**
 * A program `app` with versions 1.0, 2.0, 2.5 and 3.0 (and update parts), for the release
 * control tests, with many PCIDs written straight into the database.
 */
export const PROGRAM = 'app'
export const RELEASE_ENV = { REPO_SETTLE_MS: '0', RATE_LIMIT_MAX: '10000000', DOWNLOAD_RATE_LIMIT_MAX: '10000000', ADMIN_TOKEN: ADMIN, TOKEN_SECRET: 'release-control-token-secret-0123456789abcdef' }

export const RELEASE_TREE = {
  'app/@install.txt': '%TEMP\\setup.exe /S',
  'app/1.0/setup.exe': 'installer 1.0',
  'app/2.0/setup.exe': 'installer 2.0',
  'app/2.5/setup.exe': 'installer 2.5',
  'app/3.0/setup.exe': 'installer 3.0',
  'app/updates/2.0/patch.exe': 'patch for 2.0',
  'app/updates/3.0/patch.exe': 'patch for 3.0'
}

export interface ReleaseWorld extends TestApp {
  root: string
  programId: number
  /** A license of `app` with lifetime maintenance and many seats. */
  license: (extra?: { seatLimit?: number }) => Promise<string>
}

export async function buildReleaseWorld (t: Test, env: Record<string, string> = {}, options: { databaseUrl?: string, root?: string } = {}): Promise<ReleaseWorld> {
  const root = options.root ?? await makeTree(t, RELEASE_TREE)
  const built = await buildTestApp(t, { FTP_ROOT: root, ...RELEASE_ENV, ...env }, { databaseUrl: options.databaseUrl })
  const prisma = built.app.prisma
  const program = await prisma.program.upsert({ where: { name: PROGRAM }, create: { name: PROGRAM, purchaseUrl: 'https://shop.example.com/app' }, update: {} })
  await built.app.catalog.refresh()
  const license = async (extra: { seatLimit?: number } = {}): Promise<string> =>
    (await createLicense(prisma, { programId: program.id, programName: PROGRAM, customerName: 'Customer', maintenanceEnd: null, seatLimit: extra.seatLimit ?? 100_000 })).key
  return { ...built, root, programId: program.id, license }
}

/** `count` new PCIDs, inserted in one statement (as f=getpcid would have stored them). */
export async function insertPcids (databaseUrl: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => newPcid())
  await adminQuery('INSERT INTO pcid (id, address) SELECT unnest($1::text[]), \'127.0.0.1\'', [ids], databaseUrl)
  return ids
}

export interface Offer { ok: string, kind: string, license: string, files: string[], reason: string | undefined, body: string }

/** One f=qrymaxver poll for `app` through the public endpoint (inject), v=1, utf-8. */
export async function poll (app: FastifyInstance, pcid: string, version: string, serial = ''): Promise<Offer> {
  const res = await app.inject({ method: 'GET', url: `/myweb/iupdate.php?f=qrymaxver&cs=utf8&v=1&prog[]=${PROGRAM}&version[]=${encodeURIComponent(version)}&serial[]=${encodeURIComponent(serial)}&pcid=${pcid}` })
  if (res.statusCode !== 200) throw new Error(`poll answered ${res.statusCode}: ${res.body}`)
  const map = new Map<string, string>()
  const files: string[] = []
  for (const line of res.body.split('\r\n')) {
    const at = line.indexOf('=')
    if (at < 0) continue
    map.set(line.slice(0, at), line.slice(at + 1))
    if (line.startsWith('URL[0][')) files.push(new URL(line.slice(at + 1)).pathname)
  }
  return { ok: map.get('OK[0]') ?? '', kind: map.get('KIND[0]') ?? '', license: map.get('LICENSE[0]') ?? '', files, reason: map.get('REASON[0]'), body: res.body }
}

/** Polls every PCID (at most `concurrency` at once) and returns the offers in the same order. */
export async function pollAll (app: FastifyInstance, pcids: readonly string[], version: string, concurrency = 32): Promise<Offer[]> {
  const offers: Offer[] = new Array(pcids.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < pcids.length) {
      const i = next++
      offers[i] = await poll(app, pcids[i], version)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return offers
}

/** Waits until `check` resolves true (the periodic job and catalog refreshes run on their own), for at most `ms`. */
export async function until (check: () => Promise<boolean>, ms: number): Promise<void> {
  const started = Date.now()
  while (!await check()) {
    if (Date.now() - started > ms) throw new Error(`not true within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
