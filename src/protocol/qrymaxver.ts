import type { ProgramAnswer } from '../updates/qrymaxver.js'
import type { Line } from './text.js'

/**
 * The qrymaxver answer, in the order of docs/protocol.md §3: PCID, then for each program
 * PROG, OK, LICENSE and for each file URL, FILE, DEST, DATE; with v=1 each file's four
 * lines are followed by SIZE and SHA256, and each program's files by RUN, KIND and REASON.
 */
export function qrymaxverLines (pcid: string, answers: ProgramAnswer[], extended: boolean): Line[] {
  const lines: Line[] = [['PCID', pcid]]
  answers.forEach((answer, i) => {
    lines.push([`PROG[${i}]`, answer.program], [`OK[${i}]`, answer.ok], [`LICENSE[${i}]`, answer.license])
    answer.files.forEach(({ file, url }, j) => {
      lines.push([`URL[${i}][${j}]`, url], [`FILE[${i}][${j}]`, file.file], [`DEST[${i}][${j}]`, file.dest], [`DATE[${i}][${j}]`, file.date])
      if (extended) lines.push([`SIZE[${i}][${j}]`, file.size], [`SHA256[${i}][${j}]`, file.sha256])
    })
    if (extended) {
      if (answer.files.length > 0) answer.run.forEach((command, k) => lines.push([`RUN[${i}][${k}]`, command]))
      lines.push([`KIND[${i}]`, answer.kind])
      if (answer.license === '' && answer.reason !== undefined) lines.push([`REASON[${i}]`, answer.reason])
    }
  })
  return lines
}
