import t from 'tap'
import { createHash, createHmac } from 'node:crypto'
import { TOKEN_LENGTH, TokenSigner, type TokenClaims } from '../../src/downloads/tokens.js'

const SECRET = Buffer.from('unit-test-token-secret-0123456789abcdef')
const LICENSE = '0b8f8d0e-8a4b-4d55-9a55-0c1d7b0c9e11'
const in1h = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000)

function claims (over: Partial<TokenClaims> = {}): TokenClaims {
  return { pcid: 'A'.repeat(26), licenseId: LICENSE, path: 'prog/1.0/a.dll', sha256: 'ab'.repeat(32), expiresAt: in1h, ...over }
}

t.test('a token carries its claims, bound to its file, signed with HMAC-SHA-256', async (t) => {
  const signer = new TokenSigner(SECRET)
  const token = signer.issue(claims())
  t.equal(token.length, TOKEN_LENGTH)
  t.match(signer.verify(token, 'prog/1.0/a.dll'), { ok: true, claims: { pcid: 'A'.repeat(26), licenseId: LICENSE, expiresAt: in1h, contentTag: 'ab'.repeat(8) } })
  t.match(signer.verify(token, 'prog/1.0/b.dll'), { ok: false, status: 403 }, 'not for another file')
  // The layout of format 2, checked byte by byte against an independent computation.
  const bytes = Buffer.from(token, 'base64url')
  t.equal(bytes[0], 2)
  t.equal(bytes.readUInt32BE(1), in1h.getTime() / 1000)
  t.equal(bytes.toString('ascii', 5, 31), 'A'.repeat(26))
  t.equal(bytes.toString('hex', 31, 47), LICENSE.replace(/-/g, ''))
  t.same(bytes.subarray(47, 55), createHash('sha256').update('prog/1.0/a.dll').digest().subarray(0, 8))
  t.equal(bytes.toString('hex', 59, 67), 'ab'.repeat(8))
  t.same(bytes.subarray(67), createHmac('sha256', SECRET).update(bytes.subarray(0, 67)).digest().subarray(0, 16))
})

t.test('tokens issued one after another for different PCIDs, licenses and expiries keep their own', async (t) => {
  // The signer keeps the bytes of the last claims for the next file of the same answer: they must never leak into another.
  const signer = new TokenSigner(SECRET)
  const later = new Date(in1h.getTime() + 60_000)
  // Each differs from the one before in one claim only.
  const cases: TokenClaims[] = [
    claims(),
    claims({ path: 'prog/1.0/b.dll' }),
    claims({ pcid: 'B'.repeat(26) }),
    claims(),
    claims({ licenseId: null }),
    claims(),
    claims({ expiresAt: later }),
    claims({ pcid: 'SHORT' })
  ]
  const tokens = cases.map((c) => signer.issue(c))
  cases.forEach((c, i) => {
    const check = signer.verify(tokens[i], c.path)
    if (!check.ok) throw new Error(`token ${i} does not verify`)
    t.same({ ...check.claims, expiresAt: check.claims.expiresAt.getTime() }, { pcid: c.pcid, licenseId: c.licenseId, expiresAt: c.expiresAt.getTime(), contentTag: 'ab'.repeat(8) }, `token ${i}`)
  })
})

t.test('the same file listed twice in one second gets two tokens', async (t) => {
  const signer = new TokenSigner(SECRET)
  t.not(signer.issue(claims()), signer.issue(claims()))
})

t.test('expired, altered and foreign tokens', async (t) => {
  const signer = new TokenSigner(SECRET)
  t.match(signer.verify(signer.issue(claims({ expiresAt: new Date(Date.now() - 1000) })), 'prog/1.0/a.dll'), { ok: false, status: 410 })
  const token = signer.issue(claims())
  const altered = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11)
  t.match(signer.verify(altered, 'prog/1.0/a.dll'), { ok: false, status: 403 })
  t.match(new TokenSigner(Buffer.from('another-secret-another-secret-another')).verify(token, 'prog/1.0/a.dll'), { ok: false, status: 403 })
  t.equal(signer.open(altered), null)
  t.match(signer.open(token), { claims: { pcid: 'A'.repeat(26), licenseId: LICENSE } })
})
