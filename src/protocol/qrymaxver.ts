import type { ProgramAnswer } from '../updates/query.js'
import type { Line } from './text.js'

/**
 * The qrymaxver answer, in the order of PROTOCOL.md §3: PCID, then for each program
 * PROG, OK, LICENSE and for each file URL, FILE, DEST, DATE; with v=1 each file's four
 * lines are followed by SIZE and SHA256, and each program's files by RUN, KIND and REASON.
 */
export function qrymaxverLines (pcid: string, answers: ProgramAnswer[], extended: boolean): Line[] {
  const lines: Line[] = [['PCID', pcid]]
  for (let i = 0; i < answers.length; i++) {
    const answer = answers[i]
    const keys = programKeys(i)
    lines.push([keys.prog, answer.program], [keys.ok, answer.ok], [keys.license, answer.license])
    const files = answer.files
    for (let j = 0; j < files.length; j++) {
      const { file, url } = files[j]
      const own = fileKeys(keys, j)
      lines.push([own.url, url], [own.file, file.file], [own.dest, file.dest], [own.date, file.date])
      if (extended) lines.push([own.size, file.size], [own.sha256, file.sha256])
    }
    if (extended) {
      if (files.length > 0) answer.run.forEach((command, k) => lines.push([`RUN[${i}][${k}]`, command]))
      lines.push([keys.kind, answer.kind])
      if (answer.license === '' && answer.reason !== undefined) lines.push([keys.reason, answer.reason])
    }
  }
  return lines
}

/** The keys of program i's lines, and of its files' (made once per index: every poll names them). */
interface ProgramKeys {
  index: number
  prog: string
  ok: string
  license: string
  kind: string
  reason: string
  files: FileKeys[]
}

interface FileKeys { url: string, file: string, dest: string, date: string, size: string, sha256: string }

const programKeysByIndex: ProgramKeys[] = []

function programKeys (i: number): ProgramKeys {
  let keys = programKeysByIndex[i]
  if (keys === undefined) {
    keys = { index: i, prog: `PROG[${i}]`, ok: `OK[${i}]`, license: `LICENSE[${i}]`, kind: `KIND[${i}]`, reason: `REASON[${i}]`, files: [] }
    programKeysByIndex[i] = keys
  }
  return keys
}

/** Kept for the first files of each program; a program listing more has the rest made each time. */
const KEPT_FILES = 64

function fileKeys (program: ProgramKeys, j: number): FileKeys {
  let keys = program.files[j]
  if (keys === undefined) {
    const i = program.index
    keys = { url: `URL[${i}][${j}]`, file: `FILE[${i}][${j}]`, dest: `DEST[${i}][${j}]`, date: `DATE[${i}][${j}]`, size: `SIZE[${i}][${j}]`, sha256: `SHA256[${i}][${j}]` }
    if (j < KEPT_FILES) program.files[j] = keys
  }
  return keys
}
