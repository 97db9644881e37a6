import { isProgramName, PROGRAM_NAME_RULE } from '../../src/catalog/program-name.js'
import { keyIsForProgram, validateKey } from '../../src/license/client.js'
import { parseVersion } from '../../src/storage/version.js'
import { ensurePcid } from './check.js'
import type { Context } from './context.js'
import { ClientError, messageOf } from './errors.js'
import { readFtpIni } from './ini.js'
import { dropJob } from './jobs.js'
import { absoluteFolder } from './places.js'

/** The seed's `iUpdate add|update|remove`: the programs this client looks after. */

function checkName (name: string): void {
  if (!isProgramName(name)) throw new ClientError(`"${name}" is not ${PROGRAM_NAME_RULE}`)
}

function checkVersion (version: string): void {
  if (parseVersion(version) === null) throw new ClientError(`"${version}" is not a version (dot-separated numbers, e.g. 2.6.5.1)`)
}

export async function addProgram (context: Context, name: string, version: string, iniPath: string): Promise<void> {
  checkName(name)
  checkVersion(version)
  const ini = await readFtpIni(iniPath)
  if (absoluteFolder(ini.localPath, context.rules, 'LocalPath') === undefined) throw new ClientError(`${iniPath}: [Ftp] LocalPath "${ini.localPath}" is not an absolute path`)
  if (ini.serial !== '') {
    // The key's check characters catch a typo offline (docs/license-key.md); an earlier system's serial is taken as it is.
    const key = validateKey(ini.serial)
    if (!key.valid && key.problem === 'CHECK') context.log.write(`${name}: SN ${ini.serial} looks like a license key with a typo (its check characters do not match)`)
    if (key.valid && !keyIsForProgram(key, name)) context.log.write(`${name}: SN ${ini.serial} is a license key for another program`)
  }
  const replaced = await context.store.update((s) => {
    const before = s.programs[name] !== undefined
    s.programs[name] = { name, version, host: ini.host, ssl: ini.ssl, serial: ini.serial, localPath: ini.localPath, addedAt: new Date().toISOString() }
    return before
  })
  context.log.write(`${name} ${version} ${replaced ? 're-registered' : 'added'}: server ${ini.ssl ? 'https' : 'http'}://${ini.host}, LocalPath ${ini.localPath}${ini.serial === '' ? ', no SN' : ''}`)
  // The seed: "When iUpdate add is run a check for PCID is run immediately."
  try {
    await ensurePcid(context, context.connection(ini.host, ini.ssl), name)
  } catch (err) {
    context.log.write(`no PCID from ${ini.host} yet (${messageOf(err)}); it is asked for again on the next check`)
  }
}

export async function setVersion (context: Context, name: string, version: string): Promise<void> {
  checkVersion(version)
  await context.store.update((s) => {
    const program = s.programs[name]
    if (program === undefined) throw new ClientError(`${name} is not registered`)
    program.version = version
    if (program.newer !== undefined && program.newer.version === version) delete program.newer
  })
  context.log.write(`${name} is now at version ${version}`)
}

export async function removeProgram (context: Context, name: string): Promise<void> {
  const removed = await context.store.update((s) => {
    if (s.programs[name] === undefined) return false
    delete s.programs[name]
    return true
  })
  if (!removed) throw new ClientError(`${name} is not registered`)
  await dropJob(context, { program: name })
  context.log.write(`${name} removed`)
}

/** What `status` prints: programs, their newer versions and jobs. */
export async function describe (context: Context): Promise<string[]> {
  const state = await context.store.read()
  const lines: string[] = []
  for (const p of Object.values(state.programs)) {
    const host = state.hosts[p.host]
    lines.push(`${p.name} ${p.version}  ${p.ssl ? 'https' : 'http'}://${p.host}  PCID ${host?.pcid ?? '(none yet)'}  last check ${host?.lastCheckAt ?? 'never'}${host?.lastError === undefined ? '' : ` (failed: ${host.lastError})`}`)
    if (p.newer !== undefined) lines.push(`  newer version ${p.newer.version} available: ${p.newer.url}`)
    const job = state.jobs[p.name]
    if (job !== undefined) {
      const done = job.files.filter((f) => f.state !== 'pending').length
      lines.push(`  job: ${job.kind} ${job.version}, ${done} of ${job.files.length} file(s) in${job.lastError === undefined ? '' : `, last error: ${job.lastError}, next try ${job.nextAttemptAt ?? 'now'}`}`)
    }
  }
  if (lines.length === 0) lines.push('no programs registered (iupdate-client add <program> <version> <file.ini>)')
  return lines
}
