import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { assertSafeSegments } from './paths.js'

/**
 * Publishing into the repository without ever showing a half-written state. Uploads are
 * streamed into FTP_ROOT/.staging/<id>/ (same file system, invisible to the index: names
 * starting with a dot are not programs), hashed while they stream, then moved into place
 * with rename(2): a whole version folder at once, or update files one by one. A failed or
 * interrupted upload removes its staging folder; one left by a crash is removed at start.
 */
export const STAGING = '.staging'

export class UploadTooLargeError extends Error {
  constructor (readonly limit: number) {
    super(`a file is larger than ${limit} bytes`)
    this.name = 'UploadTooLargeError'
  }
}

export class TargetExistsError extends Error {
  constructor (readonly target: string) {
    super(`${target} exists already`)
    this.name = 'TargetExistsError'
  }
}

export interface StagedFile { path: string, size: number, sha256: string }

/** Staging folders are named <host>.<pid>.<random>, so that a restart knows its own dead ones. */
const OWNER = `${hostname().replace(/[^A-Za-z0-9-]/g, '_')}.${process.pid}`

/** A name for a new staging folder of this process. */
export function stagingName (): string {
  return `${OWNER}.${randomUUID()}`
}

/**
 * Removes what uploads cut off by a crash left in the staging area: folders of a process of
 * this host that is no longer running, and any folder untouched for `idleMs` (another
 * instance sharing FTP_ROOT may be receiving an upload right now).
 */
export async function clearStaging (root: string, idleMs = 3_600_000): Promise<number> {
  let removed = 0
  const host = OWNER.slice(0, OWNER.lastIndexOf('.'))
  for (const entry of await readdir(join(root, STAGING), { withFileTypes: true }).catch(() => [])) {
    const dir = join(root, STAGING, entry.name)
    const [entryHost, pid] = entry.name.split('.')
    const orphan = entryHost === host && /^\d+$/.test(pid ?? '') && Number(pid) !== process.pid && !isRunning(Number(pid))
    if (!orphan && Date.now() - await newestChange(dir) < idleMs) continue
    await rm(dir, { recursive: true, force: true })
    removed++
  }
  return removed
}

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'
  }
}

async function newestChange (path: string): Promise<number> {
  const info = await stat(path).catch(() => null)
  if (info === null) return 0
  let newest = info.mtimeMs
  if (info.isDirectory()) {
    for (const entry of await readdir(path).catch(() => [])) newest = Math.max(newest, await newestChange(join(path, entry)))
  }
  return newest
}

export class Staging {
  readonly dir: string
  readonly files: StagedFile[] = []

  private constructor (readonly root: string, id: string) {
    this.dir = join(root, STAGING, id)
  }

  static async open (root: string): Promise<Staging> {
    const staging = new Staging(root, stagingName())
    await mkdir(staging.dir, { recursive: true })
    return staging
  }

  /** Streams one file to `relativePath` (forward slashes) in the staging folder. */
  async write (relativePath: string, source: Readable, limit: number): Promise<StagedFile> {
    const segments = relativePath.split('/')
    assertSafeSegments(segments)
    const target = join(this.dir, ...segments)
    await mkdir(dirname(target), { recursive: true })
    const hash = createHash('sha256')
    let size = 0
    const meter = new Transform({
      transform (chunk: Buffer, _encoding, done) {
        size += chunk.length
        if (size > limit) { done(new UploadTooLargeError(limit)); return }
        hash.update(chunk)
        done(null, chunk)
      }
    })
    await pipeline(source, meter, createWriteStream(target, { flags: 'wx' }))
    const file = { path: segments.join('/'), size, sha256: hash.digest('hex') }
    this.files.push(file)
    return file
  }

  /** Moves the whole staging folder to `segments` below the root; TargetExistsError if it exists. */
  async commitFolder (segments: string[]): Promise<void> {
    assertSafeSegments(segments)
    const target = join(this.root, ...segments)
    await mkdir(dirname(target), { recursive: true })
    if (await exists(target)) throw new TargetExistsError(segments.join('/'))
    await rename(this.dir, target)
  }

  /** Moves each staged file into the folder `segments` below the root, replacing files of the same name. */
  async commitFiles (segments: string[]): Promise<void> {
    assertSafeSegments(segments)
    const target = join(this.root, ...segments)
    for (const file of this.files) {
      const destination = join(target, ...file.path.split('/'))
      await mkdir(dirname(destination), { recursive: true })
      await rename(join(this.dir, ...file.path.split('/')), destination)
    }
    await this.discard()
  }

  async discard (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** Removes `segments` below the root by moving it to the staging area first (atomic for readers). */
export async function removeFolder (root: string, segments: string[]): Promise<boolean> {
  assertSafeSegments(segments)
  const source = join(root, ...segments)
  if (!(await exists(source))) return false
  const trash = join(root, STAGING, `removed-${randomUUID()}`)
  await mkdir(join(root, STAGING), { recursive: true })
  await rename(source, trash)
  await rm(trash, { recursive: true, force: true })
  return true
}

/** Lists files below a folder (relative, forward slashes). */
export async function listFiles (dir: string, below = ''): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const rel = below === '' ? entry.name : `${below}/${entry.name}`
    if (entry.isDirectory()) out.push(...await listFiles(join(dir, entry.name), rel))
    else out.push(rel)
  }
  return out
}

/** Writes a small file under the root atomically (a temporary name, then rename). */
export async function writeFileAtomic (root: string, segments: string[], content: Buffer): Promise<void> {
  assertSafeSegments(segments)
  const target = join(root, ...segments)
  await mkdir(dirname(target), { recursive: true })
  const temporary = `${target}.${randomUUID()}.tmp`
  await writeFile(temporary, content)
  await rename(temporary, target)
}
