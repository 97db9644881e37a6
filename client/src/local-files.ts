import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'

export async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path), hash)
  return hash.digest('hex')
}

/**
 * Whether the local copy is the listed file, so that it need not be fetched: its modification
 * time is the listed DATE (to the second: the client sets it so when it places a file) and,
 * when SHA256 is listed (v=1), its content hashes to it.
 */
export async function matchesLocal (path: string, listed: { date: string, sha256?: string, size?: number }): Promise<boolean> {
  const local = await stat(path).catch(() => undefined)
  if (local === undefined || !local.isFile()) return false
  const date = Date.parse(listed.date)
  if (Number.isNaN(date) || Math.floor(local.mtimeMs / 1000) !== Math.floor(date / 1000)) return false
  if (listed.size !== undefined && local.size !== listed.size) return false
  return listed.sha256 === undefined || await sha256File(path) === listed.sha256
}
