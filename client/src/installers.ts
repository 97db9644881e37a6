import { spawn } from 'node:child_process'
import type { Context } from './context.js'
import { messageOf } from './errors.js'
import { destinationFolder, type Folders } from './places.js'

/**
 * The `RUN` lines (the vendor's @install.txt, docs/protocol.md §5): programs to run once the
 * files have arrived, e.g. `%TEMP\ishopinst.exe /S`. They run only when the operator allows
 * it (`--run-installers`, or `runInstallers` in settings.json); every line is logged either way.
 */
const INSTALLER_WAIT_MS = 30 * 60_000

/** A RUN line as a program and its arguments: words split at blanks (double quotes group), `%TEMP\…`, `%PROG\…` and `%WIN32\…` made local paths. */
export function commandLine (line: string, folders: Folders, rules: Context['rules']): { file: string, args: string[] } {
  const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2])
  const local = words.map((word) => /^%(TEMP|PROG|WIN32)(?=[\\/]|$)/i.test(word) ? destinationFolder(word, folders, rules) : word)
  if (local.length === 0) throw new Error('an empty RUN line')
  return { file: local[0], args: local.slice(1) }
}

export async function runInstallers (context: Context, program: string, lines: readonly string[], folders: Folders): Promise<void> {
  for (const line of lines) {
    if (!context.settings.runInstallers) {
      context.log.write(`${program}: RUN ${line} not executed (allow with --run-installers)`)
      continue
    }
    try {
      const { file, args } = commandLine(line, folders, context.rules)
      context.log.write(`${program}: RUN ${line}`)
      const code = await execute(file, args)
      context.log.write(`${program}: ${line} ${code === undefined ? `still runs after ${INSTALLER_WAIT_MS / 60_000} minutes; not waited for` : `exited with ${code}`}`)
    } catch (err) {
      context.log.write(`${program}: RUN ${line} failed: ${messageOf(err)}`)
    }
  }
}

/** Runs a program without a shell; its exit code, or undefined when it is still running after INSTALLER_WAIT_MS. */
async function execute (file: string, args: string[]): Promise<number | undefined> {
  return await new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'ignore', windowsHide: true })
    const timer = setTimeout(() => { child.unref(); resolve(undefined) }, INSTALLER_WAIT_MS)
    child.on('error', (err) => { clearTimeout(timer); reject(err) })
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? (signal === null ? -1 : 128)) })
  })
}
