/**
 * qrymaxver and download benchmark (loopback only, bounded in time). Reports, in one run:
 *  - requests per second and p99 for an empty Fastify route (the reference), qrymaxver with
 *    nothing new (licensed, and unlicensed), qrymaxver listing 5 files and our app's /healthz
 *    (what any request of the app costs), as ratios;
 *  - the throughput of a 1 GiB download next to nginx serving the same file, as a ratio;
 *  - server memory while 200 clients download at once.
 * Needs the build (npm run bench:qrymaxver builds) and nginx (apt-get install nginx-light) for
 * the download comparison. DATABASE_URL: a server where it may create a database; unset, an
 * embedded Postgres is started. BENCH_SECONDS (3) per case and round, BENCH_ROUNDS (5),
 * BENCH_BIG_MIB (1024), BENCH_DOWNLOADS (5), BENCH_CLIENTS (200), BENCH_CALIBRATION_US (10,20),
 * BENCH_PROFILE (see lib.ts).
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPrismaClient } from '../src/db/prisma.js'
import { createLicense } from '../src/license/licenses.js'
import { benchDatabase, compareWithNginx, fetchAll, freePort, load, meanLoad, rssMiB, startNginx, startNode, startServer, stop, summaryRow, waitForOk, type LoadResult } from './lib.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const DOWNLOADS = Number(process.env.BENCH_DOWNLOADS ?? 5)
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 1024)
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200)
const MID_MIB = 32
/** Busy work per request of the calibration rows, in microseconds (BENCH_CALIBRATION_US, comma-separated; empty for none). */
const CALIBRATION_US = (process.env.BENCH_CALIBRATION_US ?? '10,20').split(',').filter((x) => x.trim() !== '').map(Number)

const work = await mkdtemp(join(tmpdir(), 'iupdate-bench-'))
await chmod(work, 0o755)
const cleanups: Array<() => Promise<unknown>> = [async () => await rm(work, { recursive: true, force: true })]
try {
  // Database
  const dbUrl = new URL(await benchDatabase(work, 'iupdate_bench', cleanups))

  // Repository: bench 1.0.0 and 2.0.0 with 5 files each; dl with a big file; dlmid with a mid-size file.
  const ftp = join(work, 'ftp')
  for (const version of ['1.0.0', '2.0.0']) {
    await mkdir(join(ftp, 'bench', version), { recursive: true })
    for (let i = 0; i < 5; i++) await writeFile(join(ftp, 'bench', version, `file${i}.dll`), randomBytes(4096))
  }
  await writeFile(join(ftp, 'bench', '@install.txt'), '%TEMP\\file0.dll')
  const chunk = randomBytes(1 << 20)
  for (const [program, mib] of [['dl', BIG_MIB], ['dlmid', MID_MIB]] as const) {
    await mkdir(join(ftp, program, '2.0'), { recursive: true })
    const handle = await open(join(ftp, program, '2.0', 'big.bin'), 'w')
    for (let i = 0; i < mib; i++) await handle.write(chunk)
    await handle.close()
  }

  // Written back to disk now, not while measuring.
  spawnSync('sync')

  // Seed programs and licenses.
  const prisma = createPrismaClient(dbUrl.toString(), 2)
  cleanups.unshift(async () => await prisma.$disconnect())
  const keys: Record<string, string> = {}
  for (const name of ['bench', 'dl', 'dlmid']) {
    const program = await prisma.program.create({ data: { name } })
    keys[name] = (await createLicense(prisma, { programId: program.id, programName: name, customerName: 'Bench', seatLimit: 100_000 })).key
  }

  // Servers: ours, and the bare Fastify reference.
  const { base, child: server } = await startServer({ DATABASE_URL: dbUrl.toString(), FTP_ROOT: ftp, DATA_DIR: join(work, 'data') }, cleanups)
  const refPort = await freePort()
  const reference = startNode('dist/bench/empty-server.js', { PORT: String(refPort) })
  cleanups.unshift(async () => await stop(reference))
  await waitForOk(`http://127.0.0.1:${refPort}/empty`)
  const getPcid = async (): Promise<string> => (await (await fetch(`${base}/myweb/iupdate.php?f=getpcid`)).text()).trim().slice(5)
  const pcid = await getPcid()
  const q = (prog: string, version: string, serial: string, who = pcid): string =>
    `${base}/myweb/iupdate.php?f=qrymaxver&prog[]=${prog}&version[]=${version}&serial[]=${encodeURIComponent(serial)}&pcid=${who}`
  const check = async (url: string, expect: RegExp): Promise<void> => {
    const text = await (await fetch(url)).text()
    if (!expect.test(text)) throw new Error(`unexpected answer from ${url}:\n${text}`)
  }
  await check(q('bench', '2.0.0', keys.bench), /LICENSE\[0\]=ey[^\r]+\r\n$/)
  await check(q('bench', '1.0.0', keys.bench), /URL\[0\]\[4\]=/)

  // The machine is shared and its speed drifts, by a third within a minute on some machines:
  // the reference is measured right before and right after each case (reference, case 1,
  // reference, case 2, …, reference), a case's ratio in a round is to the mean of its two
  // neighbouring reference loads, and its ratio over the run is the median over rounds.
  const cases: Array<[string, string]> = [
    ['qrymaxver, nothing new (licensed)', q('bench', '2.0.0', keys.bench)],
    ['qrymaxver, nothing new (no serial)', `${base}/myweb/iupdate.php?f=qrymaxver&prog[]=bench&version[]=2.0.0&pcid=${pcid}`],
    ['qrymaxver, 5 files listed', q('bench', '1.0.0', keys.bench)],
    // What every request of our app pays before any iUpdate code runs (logger, hooks, a larger
    // app): the part of the ratios above that is not the poll's own work.
    ['/healthz (our app, no iUpdate code)', `${base}/healthz`]
  ]
  // Calibration: the reference route after a fixed amount of busy work. On a machine whose
  // load generator shares the cores, each microsecond a request costs weighs more than its
  // share (the generator sleeps between answers and is woken for each), so these rows tell
  // what a ratio means in microseconds of work on this machine, in this run.
  for (const us of CALIBRATION_US) cases.push([`empty route + ${us} µs of busy work`, `http://127.0.0.1:${refPort}/busy?us=${us}`])
  const emptyUrl = `http://127.0.0.1:${refPort}/empty`
  console.log(`\nrequests (${ROUNDS} rounds of ${SECONDS} s per case, the reference before and after each case; 50 connections, loopback, 2 cores shared by server, database and load generator)`)
  for (const url of [emptyUrl, ...cases.map(([, url]) => url)]) await load(url, { seconds: 1 })
  // rounds[r][k]: case k in round r; references[r][k]: its reference (the mean of the loads next to it).
  const rounds: LoadResult[][] = []
  const references: LoadResult[][] = []
  const referenceLoads: LoadResult[] = []
  for (let round = 0; round < ROUNDS; round++) {
    let before = await load(emptyUrl, { seconds: SECONDS })
    referenceLoads.push(before)
    const results: LoadResult[] = []
    const refs: LoadResult[] = []
    for (const [, url] of cases) {
      results.push(await load(url, { seconds: SECONDS }))
      const after = await load(emptyUrl, { seconds: SECONDS })
      referenceLoads.push(after)
      refs.push(meanLoad(before, after))
      before = after
    }
    rounds.push(results)
    references.push(refs)
    console.log(`  round ${round + 1}: ${results.map((r, k) => `${r.rps.toFixed(0)}/${refs[k].rps.toFixed(0)}`).join('  ')} req/s (case/reference)`)
  }
  console.log(summaryRow('empty Fastify route (reference)', referenceLoads))
  cases.forEach(([name], k) => console.log(summaryRow(name, rounds.map((r) => r[k]), references.map((r) => r[k]))))

  // Downloads: ours against nginx, the same file.
  const linkFor = async (program: string): Promise<string> => {
    const text = await (await fetch(q(program, '1.0', keys[program], await getPcid()))).text()
    const url = /URL\[0\]\[0\]=([^\r]+)/.exec(text)?.[1]
    if (url === undefined) throw new Error(`no link for ${program}:\n${text}`)
    return url
  }
  const nginxBase = await startNginx(work, ftp, cleanups)
  await compareWithNginx(async () => await linkFor('dl'), nginxBase === undefined ? undefined : `${nginxBase}/dl/2.0/big.bin`, BIG_MIB, DOWNLOADS)

  // Memory with many clients downloading at once.
  const pid = server.pid ?? 0
  const links: string[] = []
  for (let i = 0; i < CLIENTS; i++) links.push(await linkFor('dlmid'))
  const idle = await rssMiB(pid)
  let peak = idle
  const sampler = setInterval(() => { rssMiB(pid).then((m) => { peak = Math.max(peak, m) }).catch(() => {}) }, 100)
  const started = performance.now()
  const results = await Promise.all(links.map(async (url) => await fetchAll(url)))
  clearInterval(sampler)
  const seconds = (performance.now() - started) / 1000
  const complete = results.filter((r) => r.bytes === MID_MIB * 1048576).length
  console.log(`\n${CLIENTS} clients downloading ${MID_MIB} MiB each at once`)
  console.log(`  completed ${complete}/${CLIENTS} in ${seconds.toFixed(1)} s (${(CLIENTS * MID_MIB / seconds).toFixed(0)} MiB/s in all)`)
  console.log(`  server memory: ${idle.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB at most during (+${(peak - idle).toFixed(0)} MiB, ${((peak - idle) / CLIENTS).toFixed(2)} MiB per client)`)
} finally {
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup:', err))
}
