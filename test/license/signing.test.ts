import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet } from 'jose'
import t, { type Test } from 'tap'
import { LicenseVerificationError, verifyLicense } from '../../src/license/client.js'
import { LicenseSigner, SigningKeyError } from '../../src/license/signing.js'
import { buildTestApp, listen } from '../helpers/app.js'

const claims = { prog: 'ishop', sub: '1ND10-00G40-R40M3-0E209-18520', pcid: '7Q2M9K4XWJ3HN8RT5VCZ6DPA1E', ver: '2.7.0.0', mnt: '2027-01-01T00:00:00.000Z' }

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'iupdate-keys-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

t.test('a LICENSE string issued by the server verifies with jose against the served JWK set', async (t) => {
  const { app } = await buildTestApp(t)
  const base = await listen(app)
  const res = await fetch(`${base}/.well-known/jwks.json`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /application\/jwk-set\+json/)
  const jwks = await res.json() as JSONWebKeySet
  t.equal(jwks.keys.length, 1)
  t.match(jwks.keys[0], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: app.signer.kid })
  t.notOk('d' in jwks.keys[0], 'no private part is served')

  const token = await app.signer.sign(claims)
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`)), { algorithms: ['EdDSA'] })
  t.equal(protectedHeader.alg, 'EdDSA')
  t.equal(protectedHeader.kid, app.signer.kid, 'the key id is in the header')
  t.match(payload, { prog: 'ishop', sub: claims.sub, pcid: claims.pcid, ver: '2.7.0.0', mnt: claims.mnt, iss: 'iupdate-server' })
  t.equal((payload.exp ?? 0) - (payload.iat ?? 0), 30 * 86_400, 'expires after LICENSE_TTL_DAYS')

  const verified = await verifyLicense(token, jwks, { program: 'ishop', pcid: claims.pcid })
  t.match(verified, { prog: 'ishop', ver: '2.7.0.0', kid: app.signer.kid })

  // Tampered: a claim changed, the signature kept.
  const [header, body, signature] = token.split('.')
  const forged = JSON.parse(Buffer.from(body, 'base64url').toString())
  forged.ver = '9.9.9.9'
  const tampered = [header, Buffer.from(JSON.stringify(forged)).toString('base64url'), signature].join('.')
  await t.rejects(jwtVerify(tampered, createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`))), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })
  const mine = { program: 'ishop', pcid: claims.pcid }
  await t.rejects(verifyLicense(tampered, jwks, mine), LicenseVerificationError)
  await t.rejects(verifyLicense(token, jwks, { ...mine, program: 'taxspooler' }), { message: /for ishop, not taxspooler/ })
  await t.rejects(verifyLicense(token, jwks, { ...mine, pcid: 'OTHERPC' }), { message: /another PC/ })
  await t.rejects(verifyLicense(token, jwks, undefined as never), { message: /needs the program and the PCID/ }, 'program and PCID are required')
  await t.rejects(verifyLicense(token, jwks, mine, { currentDate: new Date(Date.now() + 31 * 86_400_000) }), LicenseVerificationError, 'expired')
  const expiry = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number
  await t.rejects(verifyLicense(token, jwks, mine, { currentDate: new Date((expiry + 120) * 1000) }), LicenseVerificationError, 'two minutes past exp: beyond the tolerance of 60 s')
  await t.rejects(verifyLicense(token, jwks, mine, { currentDate: new Date(Date.now() - 600_000) }), { message: /issued in the future/ }, 'a clock ten minutes behind the string')
  const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
  await t.rejects(verifyLicense(token, { keys: [{ ...await exportJWK(stranger.publicKey), kid: app.signer.kid }] }, mine), LicenseVerificationError, 'another key')
})

t.test('a key is generated into DATA_DIR on first start and reused after', async (t) => {
  const dir = await tempDir(t)
  const first = await LicenseSigner.load({ dataDir: dir }, { issuer: 'x', ttlSeconds: 60 })
  t.equal(first.generated, true)
  t.equal(((await stat(join(dir, 'signing-keys.json'))).mode & 0o777), 0o600, 'private key file readable by the owner only')
  const second = await LicenseSigner.load({ dataDir: dir }, { issuer: 'x', ttlSeconds: 60 })
  t.equal(second.generated, false)
  t.equal(second.signer.kid, first.signer.kid)
  const token = await first.signer.sign(claims)
  t.ok(await verifyLicense(token, second.signer.jwks(), { program: claims.prog, pcid: claims.pcid }))
})

t.test('several keys: the first signs, all verify (rotation)', async (t) => {
  const dir = await tempDir(t)
  const old = await LicenseSigner.load({ dataDir: dir }, { issuer: 'x', ttlSeconds: 60 })
  const oldToken = await old.signer.sign(claims)
  const oldKeys = JSON.parse(await readFile(join(dir, 'signing-keys.json'), 'utf8')).keys
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const fresh = await exportJWK(privateKey)
  const file = join(dir, 'rotated.json')
  await writeFile(file, JSON.stringify({ keys: [fresh, ...oldKeys] }))
  const { signer } = await LicenseSigner.load({ file, dataDir: dir }, { issuer: 'x', ttlSeconds: 60 })
  t.not(signer.kid, old.signer.kid, 'the new key signs')
  t.equal(signer.jwks().keys.length, 2)
  const newToken = await signer.sign(claims)
  t.equal(JSON.parse(Buffer.from(newToken.split('.')[0], 'base64url').toString()).kid, signer.kid)
  t.ok(await verifyLicense(oldToken, signer.jwks(), { program: claims.prog, pcid: claims.pcid }), 'strings signed by the old key still verify')
  t.ok(await verifyLicense(newToken, signer.jwks(), { program: claims.prog, pcid: claims.pcid }))
  const fromEnv = await LicenseSigner.load({ json: JSON.stringify({ keys: [fresh] }), dataDir: dir }, { issuer: 'x', ttlSeconds: 60 })
  t.equal(fromEnv.signer.kid, signer.kid, 'SIGNING_KEYS gives the same key id (RFC 7638 thumbprint)')
})

t.test('bad key configuration is a readable error', async (t) => {
  const dir = await tempDir(t)
  const load = async (json: string): Promise<unknown> => await LicenseSigner.load({ json, dataDir: dir }, { issuer: 'x', ttlSeconds: 60 })
  await t.rejects(load('not json'), new SigningKeyError('signing keys are not valid JSON (expected {"keys":[Ed25519 private JWKs]})'))
  await t.rejects(load('{"keys":[]}'), SigningKeyError)
  await t.rejects(load('{"keys":[{"kty":"RSA"}]}'), { message: /signing key 0 is not an Ed25519 private JWK/ })
  await t.rejects(LicenseSigner.load({ file: join(dir, 'missing.json'), dataDir: dir }, { issuer: 'x', ttlSeconds: 60 }), { message: /cannot be read/ })
})

t.test('a stored LICENSE string is handed out again while it names the same claims and has more than half its life left', async (t) => {
  const dir = await tempDir(t)
  const { signer } = await LicenseSigner.load({ dataDir: dir }, { issuer: 'test', ttlSeconds: 30 * 86_400 })
  const at = new Date('2026-11-24T10:00:00Z')
  const days = (n: number): Date => new Date(at.getTime() + n * 86_400_000)
  const first = await signer.issue(claims, at)
  t.equal(await signer.issue(claims, days(14), first), first, 'after 14 of its 30 days: the same string, no signature')
  t.not(await signer.issue(claims, days(16), first), first, 'with less than half its life left: a new one')
  t.not(await signer.issue(claims, days(1), null), first, 'nothing stored: a new one')
  for (const [name, other] of Object.entries({ ver: '2.8.0.0', mnt: null, sub: '1ND10-00000-00000-00000-00CH3', pcid: 'A'.repeat(26), prog: 'taxspooler' })) {
    t.not(await signer.issue({ ...claims, [name]: other }, days(1), first), first, `not for another ${name}`)
  }
  t.not(await signer.issue(claims, days(1), 'not.a.jws'), 'not.a.jws', 'a stored string that is not one of ours is never handed out')
  // After a key rotation (a new key put first) strings of the old key are signed again.
  const rotated = await LicenseSigner.load({ json: JSON.stringify({ keys: [JSON.parse((await readFile(join(dir, 'signing-keys.json'), 'utf8'))).keys[0]] }), dataDir: dir }, { issuer: 'test', ttlSeconds: 30 * 86_400 })
  t.equal(await rotated.signer.issue(claims, days(1), first), first, 'the same key: reused')
  const other = await LicenseSigner.load({ dataDir: await tempDir(t) }, { issuer: 'test', ttlSeconds: 30 * 86_400 })
  t.not(await other.signer.issue(claims, days(1), first), first, 'another key: signed again')
})
