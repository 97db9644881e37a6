import { parseArgs } from 'node:util'
import type { Charset } from '../../src/protocol/text.js'
import { checkServers } from './check.js'
import { makeContext, type Context } from './context.js'
import { ClientError, UsageError } from './errors.js'
import { answerQuestion, fetchQuestions, queueMessage, sendMessages } from './imessage.js'
import { processJobs } from './jobs.js'
import { addProgram, describe, removeProgram, setVersion } from './programs.js'
import { runService } from './service.js'
import { defaultDataDir, loadSettings } from './settings.js'

export const USAGE = `iupdate-client: the iUpdate service and Imessage, for iupdate-server (docs/client.md)

Usage: iupdate-client [--data <folder>] [--run-installers] <command> ...

Commands:
  add <program> <version> <file.ini>  register a program; file.ini (windows-1253) has [Ftp]
                                      Host=, SSL=0|1, SN=, LocalPath= (%PROG)
  update <program> <version>          the version now installed
  remove <program>                    forget a program, its download job and files
  status                              programs, PCIDs, newer versions, jobs
  check [--hour]                      poll the servers now, download and place what is due;
                                      --hour: a running service polls every 10 minutes for an hour
  run                                 the service: polls (24 h), downloads (retried hourly),
                                      sends messages, fetches questions, until stopped
  message <program> [-u userid] [-m message] [-s subject] [-437|-utf8] [-f file]...
                                      queue a message with attachments (Imessage) and send it
  questions [--all]                   fetch the vendor's questions; list those not answered
  questions --answer <id> -m <text>   answer one

Options:
  --data <folder>     data folder: state, day logs (YYYYMMDD.log), downloads, messages
                      (default: $IUPDATE_CLIENT_DATA, else ${defaultDataDir()})
  --run-installers    run the RUN lines (@install.txt) when files arrive; logged either way
  -h, --help          this text
`

export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  env?: Record<string, string | undefined>
  /** Stops `run` (main.ts aborts it on SIGINT and SIGTERM). */
  signal?: AbortSignal
}

/** Imessage's `-437` and `-utf8` are words after one dash, which parseArgs cannot read: named as long options first. */
function normalise (args: string[]): string[] {
  return args.map((arg) => arg === '-437' ? '--cp437' : arg === '-utf8' ? '--utf8' : arg)
}

/** Runs one command line; returns the exit status (0 done, 1 failed, 2 bad usage). */
export async function runCli (argv: string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`iupdate-client: ${err.message}\n\n${USAGE}`)
      return 2
    }
    if (err instanceof ClientError) {
      io.err(`iupdate-client: ${err.message}\n`)
      return 1
    }
    throw err
  }
}

async function dispatch (argv: string[], io: Io): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: normalise(argv),
      allowPositionals: true,
      strict: true,
      options: {
        data: { type: 'string' },
        'run-installers': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        hour: { type: 'boolean' },
        all: { type: 'boolean' },
        answer: { type: 'string' },
        u: { type: 'string' },
        m: { type: 'string' },
        s: { type: 'string' },
        f: { type: 'string', multiple: true },
        cp437: { type: 'boolean' },
        utf8: { type: 'boolean' }
      }
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help === true || command === 'help') {
    io.out(USAGE)
    return 0
  }
  if (command === undefined) {
    io.err(USAGE)
    return 2
  }
  const arity = (n: number, shape: string): void => { if (rest.length !== n) throw new UsageError(`usage: iupdate-client ${command} ${shape}`) }
  const env = io.env ?? process.env
  const settings = await loadSettings(values.data ?? defaultDataDir(env), { runInstallers: values['run-installers'] }, env)
  const context: Context = makeContext(settings, (line) => io.out(`${line}\n`))

  switch (command) {
    case 'add':
      arity(3, '<program> <version> <file.ini>')
      await addProgram(context, rest[0], rest[1], rest[2])
      return 0
    case 'update':
      arity(2, '<program> <version>')
      await setVersion(context, rest[0], rest[1])
      return 0
    case 'remove':
      arity(1, '<program>')
      await removeProgram(context, rest[0])
      return 0
    case 'status':
      arity(0, '')
      for (const line of await describe(context)) io.out(`${line}\n`)
      return 0
    case 'check': {
      arity(0, '[--hour]')
      if (values.hour === true) {
        const until = new Date(Date.now() + settings.burstDurationMs).toISOString()
        await context.store.update((s) => { s.burstUntil = until })
        context.log.write(`polling every ${settings.burstIntervalMs} ms until ${until} (by the running service)`)
      }
      const polled = await checkServers(context)
      const jobs = await processJobs(context, true)
      await sendMessages(context)
      return polled.failed.length + jobs.failed.length === 0 ? 0 : 1
    }
    case 'run': {
      arity(0, '')
      const controller = new AbortController()
      io.signal?.addEventListener('abort', () => controller.abort(), { once: true })
      await runService(context, controller.signal)
      return 0
    }
    case 'message': {
      arity(1, '<program> [-u userid] [-m message] [-s subject] [-437|-utf8] [-f file]...')
      if (values.cp437 === true && values.utf8 === true) throw new UsageError('-437 and -utf8 exclude each other')
      const charset: Charset = values.cp437 === true ? 'cp437' : values.utf8 === true ? 'utf-8' : 'windows-1253'
      await queueMessage(context, { program: rest[0], userId: values.u, subject: values.s ?? '', message: values.m ?? '', charset, files: values.f ?? [] })
      return await sendMessages(context) === 0 ? 0 : 1
    }
    case 'questions': {
      arity(0, '[--all] | --answer <id> -m <text>')
      if (values.answer !== undefined) {
        if (values.m === undefined || values.m === '') throw new UsageError('an answer needs -m <text>')
        await answerQuestion(context, values.answer, values.m)
        return 0
      }
      await fetchQuestions(context)
      const { questions } = await context.store.read()
      const shown = questions.filter((q) => values.all === true || q.answeredAt === undefined)
      if (shown.length === 0) io.out('no questions waiting\n')
      for (const q of shown) {
        io.out(`${q.id}  ${q.date}  ${q.host}${q.program === '' ? '' : ` ${q.program}`}${q.answeredAt === undefined ? '' : `  answered ${q.answeredAt}`}\n  ${q.subject}\n${q.text.split(/\r?\n/).map((line) => `  ${line}\n`).join('')}`)
      }
      return 0
    }
    default:
      throw new UsageError(`unknown command ${command}`)
  }
}
