import t from 'tap'
import iconv from 'iconv-lite'
import { charsetFromQuery, contentType, encodeError, encodeLines } from '../../src/protocol/text.js'
import { array, scalar } from '../../src/protocol/fields.js'

t.test('KEY=value lines are CRLF-terminated in windows-1253 by default', async (t) => {
  const body = encodeLines([['PCID', 'ABC'], ['PROG[0]', 'ishop'], ['NOTE', 'Ελληνικά']], charsetFromQuery(undefined))
  t.same(body, Buffer.concat([Buffer.from('PCID=ABC\r\nPROG[0]=ishop\r\nNOTE='), iconv.encode('Ελληνικά', 'win1253'), Buffer.from('\r\n')]))
  t.equal(body.includes(Buffer.from([0xc5, 0xeb])), true, 'Ε and λ as single windows-1253 bytes')
})

t.test('cs=utf8 gives UTF-8, and the content type names the charset', async (t) => {
  t.equal(charsetFromQuery('utf8'), 'utf-8')
  t.equal(charsetFromQuery('UTF-8'), 'utf-8')
  t.equal(charsetFromQuery('latin1'), 'windows-1253')
  t.equal(contentType('utf-8'), 'text/plain; charset=utf-8')
  t.same(encodeLines([['A', 'Ω']], 'utf-8'), Buffer.from('A=Ω\r\n'))
})

t.test('plain ASCII takes the short way; anything else goes through the charset', async (t) => {
  t.same(encodeLines([['A', 'plain ~ ASCII']], 'windows-1253'), Buffer.from('A=plain ~ ASCII\r\n'))
  // Characters whose low byte is ASCII must not pass for ASCII: Ł is U+0141, not 'A'.
  t.same(encodeLines([['A', 'Ł']], 'windows-1253'), Buffer.from('A=?\r\n'), 'no windows-1253 byte: a question mark')
  t.same(encodeLines([['A', 'Ł']], 'utf-8'), Buffer.from('A=Ł\r\n'))
  t.same(encodeLines([['A', 'é']], 'cp437'), Buffer.from([0x41, 0x3d, 0x82, 0x0d, 0x0a]))
})

t.test('a value cannot forge extra lines', async (t) => {
  t.equal(encodeLines([['A', 'x\r\nOK[0]=9.9']], 'utf-8').toString(), 'A=x OK[0]=9.9\r\n')
  t.equal(encodeLines([['A', 'x\nB=1'], ['C', 'y\rD=2'], ['E', 3], ['F', 'Ω\n\nG=4']], 'windows-1253').toString('latin1'), 'A=x B=1\r\nC=y D=2\r\nE=3\r\nF=\xd9 G=4\r\n', 'a lone LF or CR too, in any charset')
})

t.test('errors: ERROR= first, then one description line that nothing can break', async (t) => {
  t.equal(encodeError('BAD_REQUEST', 'first\nsecond', 'utf-8').toString(), 'ERROR=BAD_REQUEST\r\nfirst second\r\n')
  t.equal(encodeError('UNKNOWN_FUNCTION', 'Unknown function f=x\r\nPCID=EVIL\u0000.', 'utf-8').toString(), 'ERROR=UNKNOWN_FUNCTION\r\nUnknown function f=x PCID=EVIL .\r\n')
})

t.test('PHP-style arrays', async (t) => {
  t.same(array({ 'prog[]': ['a', 'b'] }, 'prog', 31), ['a', 'b'])
  t.same(array({ 'prog[]': 'a' }, 'prog', 31), ['a'])
  t.same(array({ 'prog[1]': 'b', 'prog[0]': 'a' }, 'prog', 31), ['a', 'b'])
  t.same(array({ 'serial[0]': 'x', 'serial[2]': 'z' }, 'serial', 31), ['x', undefined, 'z'])
  t.same(array({ prog: 'a', 'progx[]': 'b' }, 'prog', 31), [], 'only prog[...] keys count')
  t.same(array({ 'prog[1x]': 'a', 'prog[-1]': 'b', 'prog[1234567]': 'c', 'prog[': 'd' }, 'prog', 31), [], 'indexes are 1 to 6 digits')
  t.same(array({ 'prog[]': 'a', 'prog[2]': 'c' }, 'prog', 31), ['a', undefined, 'c'], 'appends and indexes mix as in PHP')
  t.throws(() => array({ 'prog[99]': 'a' }, 'prog', 31), RangeError)
  t.equal(scalar({ f: ['a', 'b'] }, 'f'), 'b', 'the last value wins, as in PHP')
  t.equal(scalar({}, 'f'), undefined)
})
