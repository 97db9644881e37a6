import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as ed from '@noble/ed25519'
import t from 'tap'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { requestNonce, signatureLines, signedData, verifyAnswer } from '../../src/protocol/answer-signature.js'

/** The test vector of docs/protocol.md §9, read from the page itself. */
async function docsVector (): Promise<{ jwk: { kty: string, crv: string, d: string, x: string, kid: string }, nonce: string, answer: Buffer, kid: string, sig: string }> {
  const page = await readFile(join(PACKAGE_ROOT, 'docs', 'protocol.md'), 'utf8')
  const section = page.slice(page.indexOf('## §9 Verifiable answers'))
  const block = /```text\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  const hexLines = block.split('\n').filter((line) => /^([0-9a-f]{2} )*[0-9a-f]{2}$/.test(line))
  return {
    jwk: JSON.parse(/^key\s+(\{.*\})$/m.exec(block)?.[1] ?? '{}'),
    nonce: /^nonce\s+(\S+)$/m.exec(block)?.[1] ?? '',
    answer: Buffer.from(hexLines.join('').replace(/ /g, ''), 'hex'),
    kid: /^SIGKID=(\S+)$/m.exec(block)?.[1] ?? '',
    sig: /^SIG=(\S+)$/m.exec(block)?.[1] ?? ''
  }
}

t.test('the test vector of docs/protocol.md §9 verifies with an independent Ed25519 implementation', async (t) => {
  const v = await docsVector()
  t.equal(v.answer.length, 303, 'the answer bytes as the page counts them')
  t.equal(v.answer.includes(Buffer.from('c5392e66726d', 'hex')), true, 'FILE is in windows-1253 (Ε9.frm)')
  const publicKey = Buffer.from(v.jwk.x, 'base64url')
  const signed = Buffer.concat([Buffer.from(`${v.nonce}\n`), v.answer])
  t.equal(await ed.verifyAsync(Buffer.from(v.sig, 'base64url'), signed, publicKey), true, '@noble/ed25519 accepts the signature')
  t.same(Buffer.from(await ed.getPublicKeyAsync(Buffer.from(v.jwk.d, 'base64url'))), publicKey, 'the private key is the public key\'s')
  t.equal(Buffer.from(await ed.signAsync(signed, Buffer.from(v.jwk.d, 'base64url'))).toString('base64url'), v.sig, 'and signs to the same bytes (Ed25519 is deterministic)')

  const key = createPrivateKey({ key: v.jwk, format: 'jwk' })
  t.equal(signatureLines(key, v.kid, v.nonce, v.answer), `SIGKID=${v.kid}\r\nSIG=${v.sig}\r\n`, 'the server makes exactly these lines')
  const body = Buffer.concat([v.answer, Buffer.from(`SIGKID=${v.kid}\r\nSIG=${v.sig}\r\n`)])
  const check = verifyAnswer(body, v.nonce, { keys: [{ kty: 'OKP', crv: 'Ed25519', x: v.jwk.x, kid: v.kid }] })
  t.same(check, { valid: true, kid: v.kid, answer: v.answer })
})

t.test('any changed byte, another nonce, another key or a changed spelling of SIG is refused', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] }
  const answer = Buffer.from('PCID=7Q2M9K4XWJ3HN8RT5VCZ6DPA1E\r\nPROG[0]=ishop\r\nOK[0]=2.7.0.0\r\n')
  const nonce = 'abcdefghijklmnop'
  const body = Buffer.concat([answer, Buffer.from(signatureLines(privateKey, 'k1', nonce, answer))])
  t.equal(verifyAnswer(body, nonce, jwks).valid, true)
  for (let i = 0; i < answer.length; i++) {
    const changed = Buffer.from(body)
    changed[i] ^= 0x01
    if (verifyAnswer(changed, nonce, jwks).valid) t.fail(`byte ${i} changed, still valid`)
  }
  t.match(verifyAnswer(body, 'abcdefghijklmnoq', jwks), { valid: false, problem: 'BAD_SIGNATURE' }, 'another nonce (a replayed answer)')
  t.match(verifyAnswer(body, nonce, { keys: [{ ...jwks.keys[0], kid: 'k2' }] }), { valid: false, problem: 'UNKNOWN_KEY', kid: 'k1' })
  t.match(verifyAnswer(answer, nonce, jwks), { valid: false, problem: 'UNSIGNED' }, 'no signature lines')
  t.match(verifyAnswer(Buffer.concat([body, Buffer.from('X=1\r\n')]), nonce, jwks), { valid: false, problem: 'UNSIGNED' }, 'a line after SIG')
  const text = body.toString('latin1')
  const last = text.at(-3)
  const respelled = text.slice(0, -3) + (last === 'A' ? 'B' : 'A') + '\r\n'
  t.match(verifyAnswer(Buffer.from(respelled, 'latin1'), nonce, jwks), { valid: false }, 'the spare bits of the last SIG character')
  t.equal(signedData(nonce, answer).subarray(0, 17).toString(), `${nonce}\n`)
})

t.test('a nonce is 16 to 64 characters of A-Z a-z 0-9 - _', async (t) => {
  t.equal(requestNonce(undefined), undefined)
  t.equal(requestNonce('a'.repeat(16)), 'a'.repeat(16))
  t.equal(requestNonce('Az09-_'.repeat(10).slice(0, 64)), 'Az09-_'.repeat(10).slice(0, 64))
  for (const bad of ['', 'a'.repeat(15), 'a'.repeat(65), 'abcdefghijklmno=', 'abcdefghijklmnop\r\n', 'αβγδεζηθικλμνξοπ']) {
    t.throws(() => requestNonce(bad), { code: 'BAD_REQUEST' }, JSON.stringify(bad))
  }
})
