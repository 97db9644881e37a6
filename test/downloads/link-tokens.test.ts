import t from 'tap'
import { createDecipheriv, hkdfSync } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LinkTokens, TOKEN_LENGTH, type LinkGrant, type LinkedFile } from '../../src/downloads/link-tokens.js'

const SECRET = Buffer.from('unit-test-token-secret-0123456789abcdef')
const LICENSE = '0b8f8d0e-8a4b-4d55-9a55-0c1d7b0c9e11'
const in1h = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000)
const A: LinkedFile = { path: 'prog/1.0/a.dll', sha256: 'ab'.repeat(32) }
const B: LinkedFile = { path: 'prog/1.0/sub dir/b.dll', sha256: 'cd'.repeat(32) }

function grant (over: Partial<LinkGrant> = {}): LinkGrant {
  return { pcid: 'A'.repeat(26), licenseId: LICENSE, expiresAt: in1h, ...over }
}

t.test('a token carries its claims, bound to its file, sealed with AES-256-GCM under a key derived from the secret', async (t) => {
  const tokens = new LinkTokens(SECRET)
  const [token] = tokens.issue(grant(), [A])
  t.equal(token.length, TOKEN_LENGTH)
  t.match(token, /^[A-Za-z0-9_-]+$/)
  t.match(tokens.verify(token, A.path), { ok: true, claims: { pcid: 'A'.repeat(26), licenseId: LICENSE, expiresAt: in1h, contentTag: 'ab'.repeat(8) } })
  t.match(tokens.verify(token, B.path), { ok: false, status: 403 }, 'not for another file')
  // Decrypted independently: the layout of docs/protocol.md §7.
  const bytes = Buffer.from(token, 'base64url')
  const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), 'iupdate-server download links, format 5', 32))
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 13))
  decipher.setAAD(bytes.subarray(0, 1))
  decipher.setAuthTag(bytes.subarray(bytes.length - 16))
  const claims = Buffer.concat([decipher.update(bytes.subarray(13, bytes.length - 16)), decipher.final()])
  t.equal(bytes[0], 5)
  t.equal(claims.readUInt32BE(0), in1h.getTime() / 1000)
  t.equal(claims.toString('ascii', 4, 30), 'A'.repeat(26))
  t.equal(claims.toString('hex', 30, 46), LICENSE.replace(/-/g, ''))
})

t.test('every link is its own: a file listed twice gets two links with two keys', async (t) => {
  const tokens = new LinkTokens(SECRET)
  const files = [A, B, { path: 'prog/1.0/c.dll', sha256: 'ef'.repeat(32) }]
  const links = tokens.issue(grant({ licenseId: null }), files)
  t.equal(new Set(links).size, 3)
  files.forEach((file, i) => t.match(tokens.verify(links[i], file.path), { ok: true, claims: { licenseId: null, contentTag: file.sha256.slice(0, 16) } }))
  const again = tokens.issue(grant(), [A])[0]
  const first = tokens.issue(grant(), [A])[0]
  t.not(again, first)
  t.not(tokens.open(again)?.key, tokens.open(first)?.key, 'two records')
  t.same(tokens.issue(grant(), []), [])
})

t.test('expired, altered, foreign and non-canonical tokens', async (t) => {
  const tokens = new LinkTokens(SECRET)
  t.match(tokens.verify(tokens.issue(grant({ expiresAt: new Date(Date.now() - 1000) }), [A])[0], A.path), { ok: false, status: 410 })
  const [token] = tokens.issue(grant(), [A])
  for (const at of [0, 5, 40, 100, TOKEN_LENGTH - 2]) {
    const altered = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1)
    t.match(tokens.verify(altered, A.path), { ok: false, status: 403 }, `changed at ${at}`)
    t.equal(tokens.open(altered), null)
  }
  t.match(tokens.verify(token.slice(0, -1), A.path), { ok: false, status: 403 }, 'shortened')
  t.match(new LinkTokens(Buffer.from('another-secret-another-secret-another')).verify(token, A.path), { ok: false, status: 403 }, 'another secret')
  // The last character's unused bits: the same bytes, another text.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const spelled = token.slice(0, -1) + alphabet[alphabet.indexOf(token[token.length - 1]) ^ 1]
  t.ok(Buffer.from(spelled, 'base64url').equals(Buffer.from(token, 'base64url')))
  t.equal(tokens.open(spelled), null, 'one spelling only')
  const verified = tokens.verify(token, A.path)
  t.equal(verified.ok ? verified.key : undefined, tokens.open(token)?.key, 'verify and open agree on the key records are kept by')
})

t.test('the secret: TOKEN_SECRET, else generated once into DATA_DIR, readable by its owner alone', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iupdate-tokens-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const first = await LinkTokens.load({ dataDir: dir })
  t.equal(first.generated, true)
  t.equal((await stat(join(dir, 'token-secret'))).mode & 0o777, 0o600)
  const second = await LinkTokens.load({ dataDir: dir })
  t.equal(second.generated, false)
  const [token] = first.tokens.issue(grant(), [A])
  t.equal(second.tokens.verify(token, A.path).ok, true, 'the same secret after a restart')
  t.throws(() => new LinkTokens(Buffer.from('short')), /at least 32 bytes/)
})
