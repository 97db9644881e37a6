import { readFileSync, unlinkSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { isAlive, processStartTime } from './processes.js'

/**
 * A lock file holding the pid and start time of its holder. It is held as long as that very
 * process runs, so a server killed with SIGKILL frees it at once, and a stopped (SIGSTOP) or
 * busy one keeps it: a lock that goes stale by the clock (proper-lockfile) would let a second
 * server take over from a paused first one and stop the Postgres it still uses.
 */

export interface LockHolder {
  pid: number
  start?: string
  /** What holds it: `server`, `npm run db:migrate`, … */
  purpose: string
}

export type LockAttempt = { release: () => void, holder?: undefined } | { holder: LockHolder }

// The holder writes its line right after creating the file: a reader that finds it empty waits this long once.
const WRITE_WAIT_MS = 200

export async function acquireLock (file: string, purpose: string): Promise<LockAttempt> {
  const mine = `${JSON.stringify({ pid: process.pid, start: await processStartTime(process.pid), purpose })}\n`
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, mine, { flag: 'wx', mode: 0o600 })
      return { release: () => { releaseLock(file, mine) } }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const seen = await readHolder(file)
    if (seen === undefined) continue
    if (seen.holder !== undefined && await isRunning(seen.holder)) return { holder: seen.holder }
    // Left by a process that is gone: the lock is void. Removed only if nobody replaced it meanwhile.
    if (await readFile(file, 'utf8').catch(() => undefined) === seen.text) await rm(file, { force: true })
  }
  throw new Error(`could not take the lock ${file}: it keeps changing`)
}

/** Synchronous, so that it also runs in a process 'exit' handler. */
function releaseLock (file: string, mine: string): void {
  try {
    if (readFileSync(file, 'utf8') === mine) unlinkSync(file)
  } catch {}
}

async function readHolder (file: string): Promise<{ text: string, holder?: LockHolder } | undefined> {
  let text = await readFile(file, 'utf8').catch(() => undefined)
  if (text === '') {
    await delay(WRITE_WAIT_MS)
    text = await readFile(file, 'utf8').catch(() => undefined)
  }
  if (text === undefined) return undefined
  try {
    const holder = JSON.parse(text) as LockHolder
    return Number.isInteger(holder.pid) && holder.pid > 0 ? { text, holder } : { text }
  } catch {
    return { text }
  }
}

async function isRunning (holder: LockHolder): Promise<boolean> {
  // Without /proc (not Linux) there is no start time to compare: a live pid counts.
  if (holder.start === undefined) return isAlive(holder.pid)
  return await processStartTime(holder.pid) === holder.start
}
