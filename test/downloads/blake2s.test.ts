import { randomBytes } from 'node:crypto'
import t from 'tap'
import { blake2s } from '@noble/hashes/blake2.js'
import { Blake2sMac } from '../../src/downloads/blake2s.js'

// The BLAKE2 reference's known answers for keyed BLAKE2s (blake2s-kat.txt): key 00..1f,
// input 00..(n-1), 32-byte MAC; the first (empty input) and last (255 bytes) of its list.
const KAT_KEY = Uint8Array.from({ length: 32 }, (_, i) => i)
const katInput = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i)

t.test('the BLAKE2 reference\'s known answers', async (t) => {
  const mac = new Blake2sMac(KAT_KEY, 32)
  t.equal(mac.mac(katInput(0)).toString('hex'), '48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49')
  t.equal(mac.mac(katInput(255)).toString('hex'), '3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd')
})

t.test('the same MACs as @noble/hashes, for keys, messages and MAC lengths of every kind', async (t) => {
  const lengths = [1, 2, 31, 63, 64, 65, 80, 127, 128, 129, 200, 1000]
  let compared = 0
  for (const keyBytes of [1, 16, 31, 32]) {
    for (const outBytes of [1, 16, 32]) {
      const key = randomBytes(keyBytes)
      const mac = new Blake2sMac(key, outBytes)
      for (const n of lengths) {
        const message = randomBytes(n)
        const expected = Buffer.from(blake2s(message, { key, dkLen: outBytes })).toString('hex')
        if (mac.mac(message).toString('hex') !== expected) t.fail(`key ${keyBytes}, MAC ${outBytes}, message ${n} bytes`)
        compared++
      }
    }
  }
  t.equal(compared, 4 * 3 * lengths.length, 'all compared')
})

t.test('messages sharing a prefix: one state, many MACs, each the message\'s own', async (t) => {
  const key = randomBytes(32)
  const mac = new Blake2sMac(key)
  const prefix = randomBytes(128)
  const state = mac.prefix(prefix, 128)
  const out = Buffer.alloc(16 * 70)
  const rests = Array.from({ length: 70 }, (_, i) => randomBytes(1 + (i % 64)))
  rests.forEach((rest, i) => mac.finish(state, rest, 0, rest.length, out, 16 * i))
  const wrong = rests.filter((rest, i) => !out.subarray(16 * i, 16 * i + 16).equals(Buffer.from(blake2s(Buffer.concat([prefix, rest]), { key, dkLen: 16 }))))
  t.same(wrong, [], 'every MAC as computed on the whole message')
  // The state is not used up, and another MAC object's use leaves it alone.
  new Blake2sMac(randomBytes(32)).mac(randomBytes(100))
  const again = Buffer.alloc(16)
  mac.finish(state, rests[3], 0, rests[3].length, again, 0)
  t.same(again, out.subarray(48, 64))
  // A part of a larger buffer.
  const big = Buffer.concat([randomBytes(7), rests[5], randomBytes(9)])
  mac.finish(state, big, 7, 7 + rests[5].length, again, 0)
  t.same(again, out.subarray(80, 96))
})

t.test('what is refused', async (t) => {
  t.throws(() => new Blake2sMac(Buffer.alloc(0)), RangeError)
  t.throws(() => new Blake2sMac(Buffer.alloc(33)), RangeError)
  t.throws(() => new Blake2sMac(Buffer.alloc(16), 0), RangeError)
  t.throws(() => new Blake2sMac(Buffer.alloc(16), 33), RangeError)
  const mac = new Blake2sMac(Buffer.alloc(16, 1))
  t.throws(() => mac.prefix(Buffer.alloc(64), 32), RangeError, 'not whole blocks')
  t.throws(() => mac.prefix(Buffer.alloc(64), 128), RangeError, 'longer than the message')
  const state = mac.prefix(Buffer.alloc(64), 64)
  t.throws(() => mac.finish(state, Buffer.alloc(65), 0, 65, Buffer.alloc(16), 0), RangeError, 'more than a block')
  t.throws(() => mac.finish(state, Buffer.alloc(1), 0, 0, Buffer.alloc(16), 0), RangeError, 'nothing after the prefix')
})
