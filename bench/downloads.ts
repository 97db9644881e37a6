/**
 * Downloads when clients are slow: 2,000 downloads of a 64 MiB file at once, each client
 * reading at 64 KiB/s (BITS on an office line). Target: the server's memory grows by at most
 * 128 KiB per running download, and every download completes with the right SHA-256. In the
 * same run, a lone 1 GiB download against nginx with sendfile: 90% or more.
 *
 * A full run takes as long as a slow download: 64 MiB at 64 KiB/s is about 17 minutes.
 * Run: npm run bench:downloads. DATABASE_URL as for the other benchmarks; BENCH_SLOW_CLIENTS
 * (2000), BENCH_SLOW_MIB (64), BENCH_SLOW_KIBPS (64), BENCH_RAMP_SECONDS (20: the clients start over
 * this time), BENCH_BIG_MIB (1024), BENCH_DOWNLOADS (5).
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, open, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { createPrismaClient } from '../src/db/prisma.js'
import { createLicense } from '../src/license/licenses.js'
import { benchDatabase, compareWithNginx, median, rssMiB, startNginx, startServer } from './lib.js'

const CLIENTS = Number(process.env.BENCH_SLOW_CLIENTS ?? 2000)
const SLOW_MIB = Number(process.env.BENCH_SLOW_MIB ?? 64)
const KIBPS = Number(process.env.BENCH_SLOW_KIBPS ?? 64)
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 1024)
const DOWNLOADS = Number(process.env.BENCH_DOWNLOADS ?? 5)
const RAMP_SECONDS = Number(process.env.BENCH_RAMP_SECONDS ?? 20)

const work = await mkdtemp(join(tmpdir(), 'iupdate-downloads-'))
await chmod(work, 0o755)
const cleanups: Array<() => Promise<unknown>> = [async () => await rm(work, { recursive: true, force: true })]
try {
  const url = await benchDatabase(work, 'iupdate_downloads', cleanups)
  const ftp = join(work, 'ftp')
  const digests: Record<string, string> = {}
  for (const [program, mib] of [['slow', SLOW_MIB], ['dl', BIG_MIB]] as const) {
    await mkdir(join(ftp, program, '2.0'), { recursive: true })
    const hash = createHash('sha256')
    const handle = await open(join(ftp, program, '2.0', 'big.bin'), 'w')
    for (let i = 0; i < mib; i++) {
      const chunk = randomBytes(1 << 20)
      hash.update(chunk)
      await handle.write(chunk)
    }
    await handle.close()
    digests[program] = hash.digest('hex')
  }
  spawnSync('sync')
  const prisma = createPrismaClient(url, 2)
  cleanups.unshift(async () => await prisma.$disconnect())
  const keys: Record<string, string> = {}
  for (const name of ['slow', 'dl']) {
    const program = await prisma.program.create({ data: { name } })
    keys[name] = (await createLicense(prisma, { programId: program.id, programName: name, customerName: 'Bench', seatLimit: 100_000 })).key
  }

  const { base, child: server } = await startServer({ DATABASE_URL: url, FTP_ROOT: ftp, DATA_DIR: join(work, 'data') }, cleanups)
  const pcid = (await (await fetch(`${base}/myweb/iupdate.php?f=getpcid`)).text()).trim().slice(5)
  const link = async (program: string): Promise<string> => {
    const text = await (await fetch(`${base}/myweb/iupdate.php?f=qrymaxver&prog[]=${program}&version[]=1.0&serial[]=${keys[program]}&pcid=${pcid}`)).text()
    const found = /URL\[0\]\[0\]=([^\r]+)/.exec(text)?.[1]
    if (found === undefined) throw new Error(`no link for ${program}:\n${text}`)
    return found
  }

  // The lone fast download first, while the machine is quiet.
  const nginxBase = await startNginx(work, ftp, cleanups)
  await compareWithNginx(async () => await link('dl'), nginxBase === undefined ? undefined : `${nginxBase}/dl/2.0/big.bin`, BIG_MIB, DOWNLOADS)

  const links: string[] = []
  for (let i = 0; i < CLIENTS; i++) links.push(await link('slow'))
  const pid = server.pid ?? 0
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const idle = await rssMiB(pid)
  let peak = idle
  let running = 0
  let peakRunning = 0
  const sampler = setInterval(() => { rssMiB(pid).then((m) => { peak = Math.max(peak, m) }).catch(() => {}) }, 500)
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity })
  const bytesPerTick = KIBPS * 1024 / 10
  const started = performance.now()
  console.log(`\n${CLIENTS} clients downloading ${SLOW_MIB} MiB each at ${KIBPS} KiB/s (about ${(SLOW_MIB * 1024 / KIBPS / 60).toFixed(0)} minutes)`)
  const progress = setInterval(() => { console.log(`  ${((performance.now() - started) / 60_000).toFixed(1)} min: ${running} running, server RSS ${peak.toFixed(0)} MiB at most so far`) }, 60_000)
  const failures = new Map<string, number>()
  const failed = (why: string): void => { failures.set(why, (failures.get(why) ?? 0) + 1) }
  let retries = 0
  /** Each completed download's mean rate (KiB/s): what the clients really read at. */
  const rates: number[] = []
  const download = async (target: string, attempt = 0): Promise<{ ok: boolean, bytes: number }> => await new Promise<{ ok: boolean, bytes: number }>((resolve) => {
    const hash = createHash('sha256')
    let bytes = 0
    let allowance = bytesPerTick
    request(target, { agent }, (res) => {
      // Told to come back later, a client does (BITS retries a job), within reason.
      if (res.statusCode === 503 && attempt < 5) {
        res.resume()
        retries++
        setTimeout(() => { download(target, attempt + 1).then(resolve, () => resolve({ ok: false, bytes: 0 })) }, 1000 * Number(res.headers['retry-after'] ?? 1))
        return
      }
      if (res.statusCode !== 200) failed(`status ${res.statusCode ?? 0}`)
      running++
      peakRunning = Math.max(peakRunning, running)
      // Reads bytesPerTick every 100 ms on average: the socket fills and the server waits. A
      // piece larger than the allowance (a socket read is up to 64 KiB) is paid back in the next
      // ticks; resetting the allowance instead let clients read several times their rate.
      const tick = setInterval(() => {
        allowance = Math.min(bytesPerTick, allowance + bytesPerTick)
        if (allowance > 0 && res.isPaused()) res.resume()
      }, 100)
      res.on('data', (piece: Buffer) => {
        hash.update(piece)
        bytes += piece.length
        allowance -= piece.length
        if (allowance <= 0) res.pause()
      })
      const began = performance.now()
      res.on('end', () => {
        clearInterval(tick)
        running--
        rates.push(bytes / 1024 / ((performance.now() - began) / 1000))
        resolve({ ok: hash.digest('hex') === digests.slow, bytes })
      })
      res.on('error', (err: Error & { code?: string }) => { failed(`response ${err.code ?? err.message}`); clearInterval(tick); running--; resolve({ ok: false, bytes }) })
    }).on('error', (err: Error & { code?: string }) => { failed(`request ${err.code ?? err.message}`); resolve({ ok: false, bytes: 0 }) }).end()
  })
  // The clients start over RAMP_SECONDS, as offices do, not in one instant.
  const results = await Promise.all(links.map(async (target, i) => {
    await new Promise((resolve) => setTimeout(resolve, (i / links.length) * RAMP_SECONDS * 1000))
    return await download(target)
  }))
  clearInterval(sampler)
  clearInterval(progress)
  const good = results.filter((r) => r.ok && r.bytes === SLOW_MIB * 1048576).length
  const perDownloadKiB = (peak - idle) * 1024 / Math.max(1, peakRunning)
  if (retries > 0) console.log(`  ${retries} answers were 503 (busy): retried after Retry-After, as BITS does`)
  if (failures.size > 0) console.log(`  failures: ${JSON.stringify(Object.fromEntries(failures))}`)
  console.log(`  ${good}/${CLIENTS} complete with the right SHA-256 in ${((performance.now() - started) / 60_000).toFixed(1)} min; ${peakRunning} running at most`)
  console.log(`  the clients read at ${median(rates).toFixed(0)} KiB/s (median of the downloads; asked ${KIBPS})`)
  console.log(`  server RSS ${idle.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB at most: ${perDownloadKiB.toFixed(0)} KiB per running download`)
  console.log(`${good === CLIENTS ? 'met   ' : 'missed'}  slow downloads complete: ${good}/${CLIENTS} (target all, right SHA-256)`)
  console.log(`${perDownloadKiB <= 128 ? 'met   ' : 'missed'}  memory per slow download: ${perDownloadKiB.toFixed(0)} KiB (target at most 128 KiB)`)
} finally {
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup:', err))
}
