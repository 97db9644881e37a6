import t from 'tap'
import { createHash, createHmac, hkdfSync } from 'node:crypto'
import { TOKEN_LENGTH, TokenSigner, type LinkGrant, type LinkedFile } from '../../src/downloads/tokens.js'
import { blake2s } from '@noble/hashes/blake2.js'
import { independentCmac } from '../helpers/cmac.js'

const SECRET = Buffer.from('unit-test-token-secret-0123456789abcdef')
const LICENSE = '0b8f8d0e-8a4b-4d55-9a55-0c1d7b0c9e11'
const in1h = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000)
const A: LinkedFile = { path: 'prog/1.0/a.dll', sha256: 'ab'.repeat(32) }
const B: LinkedFile = { path: 'prog/1.0/sub dir/b.dll', sha256: 'cd'.repeat(32) }

function grant (over: Partial<LinkGrant> = {}): LinkGrant {
  return { pcid: 'A'.repeat(26), licenseId: LICENSE, expiresAt: in1h, ...over }
}

t.test('a token carries its claims, bound to its file, signed with keyed BLAKE2s under a key derived from the secret', async (t) => {
  const signer = new TokenSigner(SECRET)
  const [token] = signer.issue(grant(), [A])
  t.equal(token.length, TOKEN_LENGTH)
  t.equal(TOKEN_LENGTH, 115)
  t.match(signer.verify(token, A.path), { ok: true, claims: { pcid: 'A'.repeat(26), licenseId: LICENSE, expiresAt: in1h, contentTag: 'ab'.repeat(8) } })
  t.match(signer.verify(token, B.path), { ok: false, status: 403 }, 'not for another file')
  // The layout of format 4, checked byte by byte against an independent computation.
  const bytes = Buffer.from(token, 'base64url')
  t.equal(bytes.length, 86)
  t.equal(bytes[0], 4)
  t.equal(bytes.readUInt32BE(1), in1h.getTime() / 1000)
  t.equal(bytes.toString('ascii', 5, 31), 'A'.repeat(26))
  t.equal(bytes.toString('hex', 31, 47), LICENSE.replace(/-/g, ''))
  t.same(bytes.subarray(54, 62), createHash('sha256').update(A.path).digest().subarray(0, 8))
  t.equal(bytes.toString('hex', 62, 70), 'ab'.repeat(8))
  const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), 'iupdate-server download links, format 4', 32))
  const message = Buffer.concat([bytes.subarray(0, 54), Buffer.alloc(10), bytes.subarray(54, 70)])
  t.same(bytes.subarray(70), Buffer.from(blake2s(message, { key, dkLen: 16 })))
})

t.test('links of format 3 (AES-CMAC, the builds before) still verify until they expire', async (t) => {
  const signer = new TokenSigner(SECRET)
  const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), 'iupdate-server download links, format 3', 16))
  /** A token laid out as format 4, with format 3's byte and MAC. */
  const format3 = (expiresAt = in1h): string => {
    const bytes = Buffer.from(signer.issue(grant({ expiresAt }), [A])[0], 'base64url')
    bytes[0] = 3
    const message = Buffer.concat([bytes.subarray(0, 54), Buffer.alloc(10), bytes.subarray(54, 70)])
    independentCmac(key, message).copy(bytes, 70)
    return bytes.toString('base64url')
  }
  const token = format3()
  t.match(signer.verify(token, A.path), { ok: true, claims: { pcid: 'A'.repeat(26), licenseId: LICENSE, expiresAt: in1h, contentTag: 'ab'.repeat(8) } })
  t.match(signer.verify(token, B.path), { ok: false, status: 403 }, 'another file')
  t.match(signer.verify(format3(new Date(Date.now() - 1000)), A.path), { ok: false, status: 410 }, 'expired')
  t.match(signer.open(token), { claims: { pcid: 'A'.repeat(26) } })
  const altered = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21)
  t.match(signer.verify(altered, A.path), { ok: false, status: 403 }, 'altered')
  // Its MAC is not format 4's: the format byte alone changed makes it a forgery.
  const relabelled = Buffer.from(token, 'base64url')
  relabelled[0] = 4
  t.match(signer.verify(relabelled.toString('base64url'), A.path), { ok: false, status: 403 }, 'format 3 bytes under format 4')
})

t.test('the links of one answer: each bound to its own file, sharing their first 54 bytes', async (t) => {
  const signer = new TokenSigner(SECRET)
  const files = [A, B, { path: 'prog/1.0/c.dll', sha256: 'ef'.repeat(32) }]
  const tokens = signer.issue(grant({ licenseId: null }), files)
  t.equal(tokens.length, 3)
  t.equal(new Set(tokens).size, 3)
  t.equal(new Set(tokens.map((token) => token.slice(0, 72))).size, 1, 'one shared beginning')
  files.forEach((file, i) => {
    t.match(signer.verify(tokens[i], file.path), { ok: true, claims: { licenseId: null, contentTag: file.sha256.slice(0, 16) } }, `link ${i}`)
    files.forEach((other, j) => { if (j !== i) t.match(signer.verify(tokens[i], other.path), { ok: false, status: 403 }, `link ${i} is not for file ${j}`) })
  })
  t.same(signer.issue(grant(), []), [], 'no files, no links')
})

t.test('a file whose content changed gets links with its new content tag, and answers of any size are whole', async (t) => {
  const signer = new TokenSigner(SECRET)
  const file: LinkedFile = { path: 'prog/1.0/a.dll', sha256: 'ab'.repeat(32) }
  const tagOf = (token: string): string | undefined => signer.open(token)?.claims.contentTag
  t.equal(tagOf(signer.issue(grant(), [file])[0]), 'ab'.repeat(8))
  // The same object with new content, then a new object for the path: parts are kept by path and content.
  file.sha256 = '12'.repeat(32)
  t.equal(tagOf(signer.issue(grant(), [file])[0]), '12'.repeat(8), 'the same object, changed')
  t.equal(tagOf(signer.issue(grant(), [{ path: file.path, sha256: '34'.repeat(32) }])[0]), '34'.repeat(8), 'another object for the path')
  t.equal(tagOf(signer.issue(grant(), [file])[0]), '12'.repeat(8), 'the first object again')
  // Growing scratch space between answers: each answer's links are its own, each whole.
  for (const n of [1, 40, 3, 200]) {
    const files = Array.from({ length: n }, (_, i) => ({ path: `prog/1.0/f${i}.dll`, sha256: i.toString(16).padStart(64, '0') }))
    const tokens = signer.issue(grant(), files)
    t.equal(tokens.length, n)
    const bad = files.filter((f, i) => tokens[i].length !== TOKEN_LENGTH || !signer.verify(tokens[i], f.path).ok || tagOf(tokens[i]) !== f.sha256.slice(0, 16))
    t.same(bad, [], `${n} files: every link verifies for its file`)
  }
})

t.test('answers issued one after another keep their own claims', async (t) => {
  const signer = new TokenSigner(SECRET)
  const later = new Date(in1h.getTime() + 60_000)
  // Each differs from the one before in one claim only.
  const grants: LinkGrant[] = [grant(), grant({ pcid: 'B'.repeat(26) }), grant(), grant({ licenseId: null }), grant(), grant({ expiresAt: later }), grant({ pcid: 'SHORT' })]
  const tokens = grants.map((g) => signer.issue(g, [A, B]))
  grants.forEach((g, i) => {
    for (const [j, file] of [A, B].entries()) {
      const check = signer.verify(tokens[i][j], file.path)
      if (!check.ok) throw new Error(`answer ${i}, link ${j} does not verify`)
      t.same({ ...check.claims, expiresAt: check.claims.expiresAt.getTime() }, { pcid: g.pcid, licenseId: g.licenseId, expiresAt: g.expiresAt.getTime(), contentTag: file.sha256.slice(0, 16) }, `answer ${i}, link ${j}`)
    }
  })
})

t.test('the same file listed twice in one second gets two links', async (t) => {
  const signer = new TokenSigner(SECRET)
  const first = signer.issue(grant(), [A])[0]
  const second = signer.issue(grant(), [A])[0]
  t.not(first, second)
  t.ok(signer.verify(first, A.path).ok && signer.verify(second, A.path).ok)
})

t.test('expired, altered and foreign tokens', async (t) => {
  const signer = new TokenSigner(SECRET)
  t.match(signer.verify(signer.issue(grant({ expiresAt: new Date(Date.now() - 1000) }), [A])[0], A.path), { ok: false, status: 410 })
  const [token] = signer.issue(grant(), [A])
  // One character changed in the shared part, in the file's block, in the MAC; then a shortened token.
  for (const at of [10, 80, 110]) {
    const altered = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1)
    t.match(signer.verify(altered, A.path), { ok: false, status: 403 }, `changed at ${at}`)
    t.equal(signer.open(altered), null)
  }
  t.match(signer.verify(token.slice(0, 114), A.path), { ok: false, status: 403 })
  t.match(signer.verify(token.replace(/.$/, '+'), A.path), { ok: false, status: 403 }, 'not base64url')
  t.match(new TokenSigner(Buffer.from('another-secret-another-secret-another')).verify(token, A.path), { ok: false, status: 403 })
  t.match(signer.open(token), { claims: { pcid: 'A'.repeat(26), licenseId: LICENSE } })
})

t.test('links of the earlier formats 1 and 2 (HMAC-SHA-256) still verify until they expire', async (t) => {
  const signer = new TokenSigner(SECRET)
  /** A token laid out as the earlier builds issued it. */
  const legacy = (format: 1 | 2, path: string, expiresAt = in1h): string => {
    const body = Buffer.alloc(67)
    body[0] = format
    body.writeUInt32BE(expiresAt.getTime() / 1000, 1)
    body.write('C'.repeat(26), 5, 'ascii')
    Buffer.from(LICENSE.replace(/-/g, ''), 'hex').copy(body, 31)
    createHash('sha256').update(path).digest().copy(body, 47, 0, format === 2 ? 8 : 12)
    body.write('ab'.repeat(8), 59, 'hex')
    return Buffer.concat([body, createHmac('sha256', SECRET).update(body).digest().subarray(0, 16)]).toString('base64url')
  }
  for (const format of [1, 2] as const) {
    const token = legacy(format, A.path)
    t.equal(token.length, 111)
    t.match(signer.verify(token, A.path), { ok: true, claims: { pcid: 'C'.repeat(26), licenseId: LICENSE, expiresAt: in1h, contentTag: 'ab'.repeat(8) } }, `format ${format}`)
    t.match(signer.verify(token, B.path), { ok: false, status: 403 }, `format ${format}, another file`)
    t.match(signer.verify(legacy(format, A.path, new Date(Date.now() - 1000)), A.path), { ok: false, status: 410 }, `format ${format}, expired`)
    t.match(signer.open(token), { claims: { pcid: 'C'.repeat(26) } })
    const altered = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21)
    t.match(signer.verify(altered, A.path), { ok: false, status: 403 }, `format ${format}, altered`)
  }
})
