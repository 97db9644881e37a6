import { randomBytes } from 'node:crypto'
import t from 'tap'
import { AesCmac, BLOCK } from '../../src/downloads/cmac.js'
import { independentCmac } from '../helpers/cmac.js'

// RFC 4493 §4: AES-128 key and the four example messages (prefixes of one 64-byte message).
const KEY = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex')
const MESSAGE = Buffer.from('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710', 'hex')

t.test('RFC 4493 test vectors: empty, one block, a padded last block, four blocks', async (t) => {
  const cmac = new AesCmac(KEY)
  t.equal(cmac.mac(MESSAGE.subarray(0, 0)).toString('hex'), 'bb1d6929e95937287fa37d129b756746')
  t.equal(cmac.mac(MESSAGE.subarray(0, 16)).toString('hex'), '070a16b46b4d4144f79bdd9dd04a287c')
  t.equal(cmac.mac(MESSAGE.subarray(0, 40)).toString('hex'), 'dfa66747de9ae63030ca32611497c827')
  t.equal(cmac.mac(MESSAGE.subarray(0, 64)).toString('hex'), '51f0bebf7e3b9d92fc49741779363cfe')
})

t.test('MACs finished together equal each message\'s own MAC, in any number and after any use', async (t) => {
  const key = randomBytes(16)
  const cmac = new AesCmac(key)
  const prefix = randomBytes(4 * BLOCK)
  const lasts = randomBytes(7 * BLOCK)
  cmac.mac(randomBytes(23)) // the long-lived cipher carries nothing from one MAC to the next
  const together = cmac.finish(cmac.chain(prefix), lasts)
  t.equal(together.length, 7 * BLOCK)
  for (let i = 0; i < 7; i++) {
    const message = Buffer.concat([prefix, lasts.subarray(i * BLOCK, (i + 1) * BLOCK)])
    t.same(together.subarray(i * BLOCK, (i + 1) * BLOCK), cmac.mac(message), `message ${i}`)
    t.same(together.subarray(i * BLOCK, (i + 1) * BLOCK), independentCmac(key, message), `message ${i}, computed independently`)
  }
})

t.test('whole blocks only where the chain needs them', async (t) => {
  const cmac = new AesCmac(randomBytes(16))
  t.throws(() => cmac.chain(Buffer.alloc(17)), RangeError)
  t.throws(() => cmac.finish(Buffer.alloc(16), Buffer.alloc(15)), RangeError)
  t.throws(() => new AesCmac(Buffer.alloc(32)), /16-byte/)
})

t.test('chains are independent of each other and leave their input as it was', async (t) => {
  const key = randomBytes(16)
  const cmac = new AesCmac(key)
  // Chains of several lengths, interleaved with MACs: each must equal the one a fresh
  // context computes, whatever the long-lived CBC context did before.
  for (const blocks of [1, 4, 2, 7, 4, 1]) {
    const message = randomBytes(blocks * BLOCK)
    const copy = Buffer.from(message)
    const state = cmac.chain(message)
    t.same(message, copy, `${blocks} blocks: input unchanged`)
    t.same(state, new AesCmac(key).chain(message), `${blocks} blocks: as from a fresh context`)
    const last = randomBytes(BLOCK)
    t.same(cmac.finish(state, last), independentCmac(key, Buffer.concat([message, last])), `${blocks} blocks: the MAC`)
    cmac.mac(randomBytes(blocks * 5 + 3))
  }
  t.same(cmac.chain(Buffer.alloc(0)), Buffer.alloc(BLOCK), 'no blocks: the zero IV')
})
