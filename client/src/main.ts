import { runCli } from './cli.js'

// The command line (client/bin/iupdate-client.js starts this). `run` stops cleanly on SIGINT and SIGTERM.
const controller = new AbortController()
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort())
process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  signal: controller.signal
})
