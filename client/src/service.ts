import { setTimeout as sleep } from 'node:timers/promises'
import { checkServers } from './check.js'
import type { Context } from './context.js'
import { messageOf } from './errors.js'
import { fetchQuestions, sendMessages } from './imessage.js'
import { processJobs } from './jobs.js'
import type { State } from './state.js'

/**
 * `run`: the iUpdate service with Imessagesnd and Imessagerd beside it. Each server is polled
 * every pollingPeriodMs (24 hours; a failed poll again in an hour; every burstIntervalMs while
 * a `check --hour` lasts), jobs are looked at every jobPollingPeriodMs, queued messages sent
 * every sendIntervalMs, questions fetched every questionIntervalMs. At start everything due is
 * done at once, failed jobs included (the seed's "plus beginning of Windows").
 */

/** The longest sleep: commands run beside the service (add, check --hour) are noticed within it. */
const WAKE_MS = 30_000

/** The servers to poll now, and when the next one is due. */
export function duePolls (state: State, context: Context, now: number): { hosts: string[], next: number } {
  const burst = state.burstUntil !== undefined && Date.parse(state.burstUntil) > now
  const hosts = new Set(Object.values(state.programs).map((p) => p.host))
  const due: string[] = []
  let next = Infinity
  for (const host of hosts) {
    const entry = state.hosts[host]
    let at = entry?.nextCheckAt === undefined ? now : Date.parse(entry.nextCheckAt)
    if (burst && entry?.lastCheckAt !== undefined) at = Math.min(at, Date.parse(entry.lastCheckAt) + context.settings.burstIntervalMs)
    if (at <= now) due.push(host)
    else next = Math.min(next, at)
  }
  return { hosts: due, next }
}

export async function runService (context: Context, signal: AbortSignal): Promise<void> {
  const { settings, log } = context
  log.write(`service started: polls every ${settings.pollingPeriodMs} ms, jobs every ${settings.jobPollingPeriodMs} ms, data in ${settings.dataDir}`)
  let first = true
  let nextJobs = 0
  let nextSend = 0
  let nextQuestions = 0
  const step = async (what: string, work: () => Promise<unknown>): Promise<void> => {
    try {
      await work()
    } catch (err) {
      log.write(`${what} failed: ${messageOf(err)}`)
    }
  }
  while (!signal.aborted) {
    let now = Date.now()
    let nextPoll = now + WAKE_MS
    await step('poll', async () => {
      const polls = duePolls(await context.store.read(), context, now)
      if (polls.hosts.length > 0) {
        await checkServers(context, polls.hosts)
        nextJobs = 0
      }
      nextPoll = duePolls(await context.store.read(), context, Date.now()).next
    })
    now = Date.now()
    if (now >= nextJobs) {
      await step('jobs', async () => await processJobs(context, first))
      nextJobs = now + settings.jobPollingPeriodMs
    }
    if (now >= nextSend) {
      await step('messages', async () => await sendMessages(context))
      nextSend = now + settings.sendIntervalMs
    }
    if (now >= nextQuestions) {
      await step('questions', async () => await fetchQuestions(context))
      nextQuestions = now + settings.questionIntervalMs
    }
    first = false
    const wait = Math.min(nextPoll, nextJobs, nextSend, nextQuestions) - Date.now()
    await sleep(Math.max(0, Math.min(wait, WAKE_MS)), undefined, { signal }).catch(() => {})
  }
  log.write('service stopped')
}
