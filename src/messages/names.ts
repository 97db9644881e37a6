import { segmentProblem } from '../storage/paths.js'

/**
 * Attachment names as the seed's Imessage keeps them: the base name only (a full path is
 * cut to its last part), and same-named files told apart by a number after the base name,
 * the extension kept: a.txt, a2.txt, a3.txt. Characters a file system would refuse become _.
 */
export function baseName (name: string): string {
  const last = name.split(/[\\/]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex
  const cleaned = last.replace(/[\u0000-\u001f\u007f-\u009f<>:"|?*]/g, '_').replace(/^\.+$/, '_').slice(0, 200)
  return cleaned === '' || segmentProblem(cleaned) !== null ? 'attachment' : cleaned
}

export function uniqueNames (names: string[]): string[] {
  const taken = new Set<string>()
  return names.map((original) => {
    const name = baseName(original)
    const dot = name.lastIndexOf('.')
    const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
    let candidate = name
    for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem}${n}${extension}`
    taken.add(candidate.toLowerCase())
    return candidate
  })
}
