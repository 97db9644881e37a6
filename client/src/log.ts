import { appendFileSync, mkdirSync } from 'node:fs'
import { EOL } from 'node:os'
import { join } from 'node:path'

/**
 * The day log of the seed: `<data>/YYYYMMDD.log`, one line per action, `hh:mm:ss.ms message`
 * in local time. Every line is also handed to `echo` (the console of a command, the journal
 * of a service).
 */
export class DayLog {
  private made = false

  constructor (readonly dir: string, private readonly echo: (line: string) => void = () => {}, private readonly now = (): Date => new Date()) {}

  write (message: string): void {
    const at = this.now()
    const text = message.replace(/[\r\n]+/g, ' ')
    if (!this.made) {
      mkdirSync(this.dir, { recursive: true })
      this.made = true
    }
    appendFileSync(join(this.dir, dayLogName(at)), `${timeOfDay(at)} ${text}${EOL}`)
    this.echo(text)
  }
}

const two = (n: number): string => String(n).padStart(2, '0')

export function dayLogName (at: Date): string {
  return `${at.getFullYear()}${two(at.getMonth() + 1)}${two(at.getDate())}.log`
}

export function timeOfDay (at: Date): string {
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`
}
