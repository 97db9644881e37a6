import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * A server secret: the configured one (its UTF-8 bytes), else 32 random bytes kept in
 * DATA_DIR/<file> (base64url), generated on the first start and readable by the server's
 * user alone. `generated` tells the caller to warn that instances must share it.
 */
export async function loadSecret (configured: string | undefined, dataDir: string, file: string): Promise<{ secret: Buffer, generated: boolean }> {
  if (configured !== undefined) return { secret: Buffer.from(configured, 'utf8'), generated: false }
  const path = join(dataDir, file)
  let generated = false
  const text = await readFile(path, 'utf8').catch(async () => {
    await mkdir(dataDir, { recursive: true })
    // Another instance starting on the same DATA_DIR may win the race: its secret is used.
    await writeFile(path, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' }).then(() => { generated = true }, () => {})
    return await readFile(path, 'utf8')
  })
  return { secret: Buffer.from(text.trim(), 'base64url'), generated }
}
