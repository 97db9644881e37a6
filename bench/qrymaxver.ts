/**
 * qrymaxver and download benchmark (loopback only, bounded in time). Reports, in one run:
 *  - requests per second and p99 for an empty Fastify route (the reference), qrymaxver with
 *    nothing new (licensed, and unlicensed), and qrymaxver listing 5 files, as ratios;
 *  - the throughput of a 1 GiB download next to nginx serving the same file, as a ratio;
 *  - server memory while 200 clients download at once.
 * Needs the build (npm run bench:qrymaxver builds) and nginx (apt-get install nginx-light) for
 * the download comparison. DATABASE_URL: a server where it may create a database; unset, an
 * embedded Postgres is started. BENCH_SECONDS (10), BENCH_BIG_MIB (1024), BENCH_CLIENTS (200).
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { chmod, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPrismaClient } from '../src/db/prisma.js'
import { createLicense } from '../src/license/licenses.js'
import { benchDatabase, freePort, load, row, rssMiB, startNode, stop, waitForOk } from './lib.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 1024)
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200)
const MID_MIB = 32

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

  // Seed programs and licenses.
  const prisma = createPrismaClient(dbUrl.toString(), 2)
  cleanups.unshift(async () => await prisma.$disconnect())
  const keys: Record<string, string> = {}
  for (const name of ['bench', 'dl', 'dlmid']) {
    const program = await prisma.program.create({ data: { name } })
    keys[name] = (await createLicense(prisma, { programId: program.id, programName: name, customerName: 'Bench', seatLimit: 100_000 })).key
  }

  // Servers: ours, and the bare Fastify reference.
  const port = await freePort()
  const server = startNode('dist/src/server.js', {
    DATABASE_URL: dbUrl.toString(),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    FTP_ROOT: ftp,
    DATA_DIR: join(work, 'data'),
    RATE_LIMIT_MAX: '1000000000',
    REPO_SETTLE_MS: '0',
    MIGRATE_ON_START: 'false'
  })
  cleanups.unshift(async () => await stop(server))
  const refPort = await freePort()
  const reference = startNode('dist/bench/empty-server.js', { PORT: String(refPort) })
  cleanups.unshift(async () => await stop(reference))
  const base = `http://127.0.0.1:${port}`
  await waitForOk(`${base}/readyz`)
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

  console.log(`\nrequests (${SECONDS} s each, 50 connections, loopback, 2 cores shared by server, database and load generator)`)
  await load(`http://127.0.0.1:${refPort}/empty`, { seconds: 2 })
  const empty = await load(`http://127.0.0.1:${refPort}/empty`, { seconds: SECONDS })
  console.log(row('empty Fastify route (reference)', empty))
  const nothingNew = await load(q('bench', '2.0.0', keys.bench), { seconds: SECONDS })
  console.log(row('qrymaxver, nothing new (licensed)', nothingNew, empty))
  const unlicensed = await load(`${base}/myweb/iupdate.php?f=qrymaxver&prog[]=bench&version[]=2.0.0&pcid=${pcid}`, { seconds: SECONDS })
  console.log(row('qrymaxver, nothing new (no serial)', unlicensed, empty))
  const five = await load(q('bench', '1.0.0', keys.bench), { seconds: SECONDS })
  console.log(row('qrymaxver, 5 files listed', five, empty))

  // Downloads: ours against nginx, the same file.
  const fetchAll = async (url: string): Promise<{ mibps: number, bytes: number }> => await new Promise((resolve, reject) => {
    const started = performance.now()
    let bytes = 0
    request(url, (res) => {
      res.on('data', (d: Buffer) => { bytes += d.length })
      res.on('end', () => resolve({ mibps: bytes / 1048576 / ((performance.now() - started) / 1000), bytes }))
      res.on('error', reject)
    }).on('error', reject).end()
  })
  const linkFor = async (program: string): Promise<string> => {
    const text = await (await fetch(q(program, '1.0', keys[program], await getPcid()))).text()
    const url = /URL\[0\]\[0\]=([^\r]+)/.exec(text)?.[1]
    if (url === undefined) throw new Error(`no link for ${program}:\n${text}`)
    return url
  }
  const ours: number[] = []
  for (let i = 0; i < 3; i++) {
    const r = await fetchAll(await linkFor('dl'))
    if (r.bytes !== BIG_MIB * 1048576) throw new Error(`short download: ${r.bytes}`)
    ours.push(r.mibps)
  }
  const best = (xs: number[]): number => Math.max(...xs)
  console.log(`\ndownload of ${BIG_MIB} MiB (best of 3)`)
  console.log(`  iupdate-server                      ${best(ours).toFixed(0).padStart(6)} MiB/s`)
  const nginxBinary = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0)
  if (nginxBinary === undefined) {
    console.log('  nginx                               not installed (apt-get install nginx-light): no ratio')
  } else {
    const nginxPort = await freePort()
    const prefix = join(work, 'nginx')
    await mkdir(join(prefix, 'logs'), { recursive: true })
    await writeFile(join(prefix, 'nginx.conf'), `worker_processes 1;\ndaemon off;\nerror_log ${prefix}/logs/error.log;\npid ${prefix}/nginx.pid;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  server { listen 127.0.0.1:${nginxPort}; root ${ftp}; }\n}\n`)
    const nginx = spawn(nginxBinary, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'inherit' })
    cleanups.unshift(async () => { nginx.kill('SIGQUIT'); await new Promise((resolve) => setTimeout(resolve, 200)) })
    await waitForOk(`http://127.0.0.1:${nginxPort}/bench/1.0.0/file0.dll`)
    const theirs: number[] = []
    for (let i = 0; i < 3; i++) theirs.push((await fetchAll(`http://127.0.0.1:${nginxPort}/dl/2.0/big.bin`)).mibps)
    console.log(`  nginx (sendfile)                    ${best(theirs).toFixed(0).padStart(6)} MiB/s`)
    console.log(`  ratio                               ${(100 * best(ours) / best(theirs)).toFixed(0)}% of nginx`)
  }

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
