import { readFile, readlink, realpath } from 'node:fs/promises'
import { basename } from 'node:path'

/**
 * What Linux's /proc tells about another process. A pid alone is not an identity (pids are
 * reused); a pid with its start time is. docs/operations.md, "The embedded database".
 */

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), or undefined when there is no such process. */
export async function processStartTime (pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (stat === undefined) return undefined
  // Field 2, the command, is in parentheses and may itself hold spaces and parentheses.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

/**
 * Whether `pid` is the postmaster of the cluster in `clusterDir`: its program is `postgres`
 * and its working folder (a postmaster runs in its data folder) is that cluster.
 * A `postmaster.pid` left by a Postgres that died may name any process by now.
 */
export async function isPostmasterOf (pid: number, clusterDir: string): Promise<boolean> {
  const [cmdline, cwd, dir] = await Promise.all([
    readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
    readlink(`/proc/${pid}/cwd`).catch(() => undefined),
    realpath(clusterDir).catch(() => clusterDir)
  ])
  return basename(cmdline.split('\0')[0]) === 'postgres' && cwd === dir
}

/** The parent of a process and the program it runs (`node`, `systemd`, …), or undefined when the process is gone. */
export async function parentOf (pid: number): Promise<{ pid: number, program: string } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (stat === undefined) return undefined
  const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  const program = await readlink(`/proc/${parent}/exe`).catch(async () => (await readFile(`/proc/${parent}/comm`, 'utf8').catch(() => '')).trim())
  return { pid: parent, program: basename(program) }
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
