import { createHash } from 'node:crypto'
import { compareVersions, type Version } from '../storage/version.js'

/**
 * Release control (docs/protocol.md §3, "Release control"): which of a program's versions a
 * PC may be offered. Pure functions over what the catalog holds in memory; a poll reads no
 * more from the database than before.
 */
export type Channel = 'stable' | 'beta'
export const CHANNELS = ['stable', 'beta'] as const

export interface RolloutStep {
  at: Date
  rollout: number
}

export interface AutoHalt {
  maxFailureRate: number
  minDownloads: number
}

export interface ReleaseControl {
  /** Share of PCs offered the version, 0 to 100. */
  rollout: number
  /** Steps not yet taken by the server's job, in time order. */
  schedule: readonly RolloutStep[]
  channel: Channel
  requiredStep: boolean
  minFromVersion: { text: string, version: Version } | null
  autoHalt: AutoHalt | null
  haltedAt: Date | null
  haltReason: string | null
  /** Downloads count for the automatic halt from here. */
  countedFrom: Date
}

export type RolloutState = 'rolling' | 'halted' | 'complete'

/** What the decision knows of the PC asking. */
export interface Seeker {
  /** Undefined: no PC is named (f=newveravail without pcid): only versions offered to every PC. */
  pcid: string | undefined
  /** The version it runs; null when unknown. */
  current: Version | null
  channel: Channel
  pin: Version | null
}

/** Whether the settings change nothing of the answer (an automatic halt alone only watches). */
export function isNeutral (control: ReleaseControl): boolean {
  return control.rollout >= 100 && control.schedule.length === 0 && control.channel === 'stable' &&
    !control.requiredStep && control.minFromVersion === null && control.haltedAt === null
}

/** The rollout in force at `now`: the last step of the schedule due by then, else the version's rollout. */
export function effectiveRollout (control: ReleaseControl, now: Date): number {
  let rollout = control.rollout
  for (const step of control.schedule) {
    if (step.at.getTime() > now.getTime()) break
    rollout = step.rollout
  }
  return rollout
}

export function rolloutState (control: ReleaseControl | undefined, now: Date): RolloutState {
  if (control === undefined) return 'complete'
  if (control.haltedAt !== null) return 'halted'
  const pending = control.schedule.some((step) => step.at.getTime() > now.getTime())
  return effectiveRollout(control, now) >= 100 && !pending ? 'complete' : 'rolling'
}

/**
 * A PC's place in the program's cohort order, in [0, 100): the first 32 bits of
 * SHA-256(program LF pcid). A PC is in a rollout of r% when its place is below r, so raising
 * r keeps every PC that was in, and the place never changes from one poll to the next.
 */
export function cohortPlace (program: string, pcid: string): number {
  return createHash('sha256').update(`${program}\n${pcid}`).digest().readUInt32BE(0) / 2 ** 32 * 100
}

/** Whether `version` lies within a pin: its first components, as many as the pin has, are not above it (`2.6` admits 2.6.12 and 2.5, not 2.7). */
export function withinPin (version: Version, pin: Version): boolean {
  return compareVersions(version.slice(0, pin.length), pin) <= 0
}

/** Whether a PC on `channel` sees a version of `versionChannel`. */
export function seesChannel (channel: Channel, versionChannel: Channel): boolean {
  return versionChannel === 'stable' || channel === 'beta'
}

/**
 * Whether the PC may take a version newer than the one it runs, by the version's own settings
 * and the PC's pin, in the order docs/protocol.md §3 gives. The stepping-stone ceiling is the caller's.
 */
export function mayTake (version: Version, control: ReleaseControl | undefined, seeker: Seeker, now: Date, place: () => number): boolean {
  if (seeker.pin !== null && !withinPin(version, seeker.pin)) return false
  if (control === undefined) return true
  if (!seesChannel(seeker.channel, control.channel)) return false
  if (control.minFromVersion !== null && (seeker.current === null || compareVersions(seeker.current, control.minFromVersion.version) < 0)) return false
  if (control.haltedAt !== null) return false
  const rollout = effectiveRollout(control, now)
  if (rollout >= 100) return true
  return seeker.pcid !== undefined && place() < rollout
}
