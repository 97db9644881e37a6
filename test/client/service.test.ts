import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runCli } from '../../client/src/cli.js'
import { makeContext } from '../../client/src/context.js'
import { duePolls } from '../../client/src/service.js'
import { loadSettings } from '../../client/src/settings.js'
import type { State } from '../../client/src/state.js'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { buildToolServer, makePc } from '../helpers/client.js'
import { eventually } from '../helpers/tree.js'

// `run`, the service (docs/client.md): polls, completes jobs, runs RUN lines when allowed,
// fetches questions, stops on a signal. Periods are shortened through settings.json.

const ADMIN = 'bootstrap-admin-token-0123456789abcdef'

t.test('the service installs a new version, runs its RUN line with --run-installers, fetches a question, and stops', async (t) => {
  const installer = 'import { writeFileSync } from "node:fs"; writeFileSync(process.argv[2], process.argv.slice(3).join(" "))'
  const { base, key } = await buildToolServer(t, {
    '@install.txt': `"${process.execPath}" %TEMP\\install.mjs %PROG\\installed.txt /S "quoted arg"`,
    '1.1/install.mjs': installer
  }, { ADMIN_TOKEN: ADMIN })
  const pc = await makePc(t, { pollingPeriodMs: 60_000, jobPollingPeriodMs: 50, sendIntervalMs: 50, questionIntervalMs: 100 })
  t.equal((await pc.run('add', 'tool', '1.0', await pc.ini('tool.ini', { Host: new URL(base).host, SN: key, LocalPath: pc.root }))).code, 0)
  const pcid = (await pc.state()).hosts[new URL(base).host].pcid

  const controller = new AbortController()
  let out = ''
  const service = runCli(['--data', pc.data, '--run-installers', 'run'], { out: (text) => { out += text }, err: (text) => { out += text }, env: {}, signal: controller.signal })
  await eventually(() => out.includes('exited with 0'), 20_000)
  t.equal(await readFile(join(pc.root, 'installed.txt'), 'utf8'), '/S quoted arg', 'the RUN line ran, %TEMP and %PROG made local paths')
  t.equal((await pc.state()).programs.tool.version, '1.1')
  await fetch(`${base}/api/v1/messages/questions`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ pcid, subject: 'Γεια', text: 'Όλα καλά;' }) })
  await eventually(() => out.includes(': Γεια'), 20_000)
  controller.abort()
  t.equal(await service, 0)
  t.match(out, /^service started: polls every 60000 ms, jobs every 50 ms/m)
  t.match(out, /^tool: RUN ".*" %TEMP\\install\.mjs %PROG\\installed\.txt \/S "quoted arg"$/m, 'logged before it runs')
  t.match(out, /service stopped\n$/)
  t.equal((await pc.state()).questions[0].text, 'Όλα καλά;')
})

t.test('which servers are due: the polling period, a failed poll\'s hour, and the 10 minutes of check --hour', async (t) => {
  const data = await mkdtemp(join(tmpdir(), 'iupdate-due-'))
  t.teardown(async () => { await rm(data, { recursive: true, force: true }) })
  const context = makeContext(await loadSettings(data), () => {})
  const now = Date.parse('2026-12-01T12:00:00Z')
  const at = (minutes: number): string => new Date(now + minutes * 60_000).toISOString()
  const program = (name: string, host: string): State['programs'][string] => ({ name, version: '1.0', host, ssl: false, serial: '', localPath: '/x', addedAt: at(-100) })
  const state: State = {
    programs: { a: program('a', 'new'), b: program('b', 'daily'), c: program('c', 'failed') },
    hosts: { daily: { lastCheckAt: at(-20), nextCheckAt: at(24 * 60 - 20) }, failed: { lastCheckAt: at(-30), nextCheckAt: at(30) } },
    jobs: {},
    confirms: [],
    questions: []
  }
  t.same(duePolls(state, context, now), { hosts: ['new'], next: now + 30 * 60_000 }, 'a new server at once; then the failed one\'s retry')
  state.burstUntil = at(40)
  t.same(duePolls(state, context, now), { hosts: ['new', 'daily', 'failed'], next: Infinity }, 'during check --hour every 10 minutes')
  t.same(duePolls(state, context, now + 45 * 60_000).hosts, ['new', 'failed'], 'and after the hour as before')
})

t.test('npx iupdate-client --help works from the repository, and `run` stops on SIGTERM', async (t) => {
  const help = spawn('npx', ['iupdate-client', '--help'], { cwd: PACKAGE_ROOT })
  let text = ''
  help.stdout.on('data', (chunk: Buffer) => { text += chunk.toString() })
  t.equal(await new Promise((resolve) => help.on('exit', resolve)), 0)
  t.match(text, /^iupdate-client: the iUpdate service and Imessage/)
  t.match(text, 'message <program> [-u userid] [-m message] [-s subject] [-437|-utf8] [-f file]...')

  const data = await mkdtemp(join(tmpdir(), 'iupdate-svc-'))
  t.teardown(async () => { await rm(data, { recursive: true, force: true }) })
  const service = spawn(process.execPath, [join(PACKAGE_ROOT, 'client', 'bin', 'iupdate-client.js'), '--data', data, 'run'])
  let out = ''
  service.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  await eventually(() => out.includes('service started'), 10_000)
  service.kill('SIGTERM')
  t.equal(await new Promise((resolve) => service.on('exit', resolve)), 0, 'a clean exit')
  t.match(out, /service stopped\n$/)
})
