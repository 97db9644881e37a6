import type { JWK } from 'jose'
import t from 'tap'
import { verifyAnswer } from '../../../src/protocol/answer-signature.js'
import { buildWorld } from '../../helpers/world.js'

// docs/protocol.md §9: qrymaxver with a nonce ends with SIGKID and SIG over the answer's bytes.

const enc = encodeURIComponent
const NONCE = 'n0nce-for-the-test_0001'

t.test('a poll with a nonce is signed over its bytes as sent, in either charset; without one nothing changes', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  const jwks = await (await fetch(`${world.base}/.well-known/jwks.json`)).json() as { keys: JWK[] }
  const poll = `/myweb/iupdate.php?f=qrymaxver&prog[]=ishop&version[]=2.6.5.1&serial[]=${enc(world.keys.entitled)}&pcid=${pcid}&v=1`
  // The first poll reads the license and takes a seat; the ones after it find it in memory.
  const plain = Buffer.from(await (await fetch(`${world.base}${poll}`)).arrayBuffer())
  t.notOk(plain.toString('latin1').includes('SIGKID='), 'no nonce: no signature')

  for (const cs of ['', '&cs=utf8']) {
    const res = await fetch(`${world.base}${poll}${cs}&nonce=${NONCE}`)
    t.equal(res.status, 200)
    const body = Buffer.from(await res.arrayBuffer())
    const lines = body.toString('latin1').split('\r\n')
    t.equal(lines.at(-3), `SIGKID=${jwks.keys[0].kid}`, 'SIGKID names the first key of the JWK set')
    t.match(lines.at(-2), /^SIG=[A-Za-z0-9_-]{86}$/)
    const check = verifyAnswer(body, NONCE, jwks)
    t.equal(check.valid, true, `the signature verifies${cs}`)
    const mask = (b: Buffer): string => b.toString('latin1').replace(/\?t=[A-Za-z0-9_-]+/g, '?t=T').replace(/^LICENSE\[0\]=.*$/m, 'LICENSE')
    if (check.valid && cs === '') t.equal(mask(check.answer), mask(plain), 'the signed part is the answer without a nonce')
    const tampered = Buffer.from(body)
    tampered[body.indexOf('ishopx.dll')] = 0x6a
    t.match(verifyAnswer(tampered, NONCE, jwks), { valid: false, problem: 'BAD_SIGNATURE' }, 'one byte changed on the way')
  }
})

t.test('a malformed nonce is BAD_REQUEST, whatever else the poll holds', async (t) => {
  const world = await buildWorld(t)
  const pcid = await world.pcid()
  for (const nonce of ['short', 'x'.repeat(65), 'has%20space-and-more', '']) {
    const res = await world.query(`prog[]=ishop&version[]=2.6.5.1&pcid=${pcid}&nonce=${nonce}`)
    t.same([res.status, res.lines[0]], [400, 'ERROR=BAD_REQUEST'], JSON.stringify(nonce))
  }
  const unknown = await world.query(`prog[]=ishop&version[]=2.6.5.1&pcid=${'Z'.repeat(26)}&nonce=${NONCE}`)
  t.same([unknown.status, unknown.lines], [404, ['ERROR=UNKNOWN_PCID', 'This PC id is not known here; ask f=getpcid for a new one.']], 'errors are not signed')
})
