import t from 'tap'
import { coalesce, parseRange } from '../../src/downloads/ranges.js'

t.test('Range header parsing', async (t) => {
  t.equal(parseRange(undefined, 100), null)
  t.same(parseRange('bytes=0-9', 100), [{ start: 0, end: 9 }])
  t.same(parseRange('bytes=90-', 100), [{ start: 90, end: 99 }])
  t.same(parseRange('bytes=-10', 100), [{ start: 90, end: 99 }])
  t.same(parseRange('bytes=-500', 100), [{ start: 0, end: 99 }], 'a suffix longer than the file is the file')
  t.same(parseRange('bytes=50-500', 100), [{ start: 50, end: 99 }], 'an end past the file is clipped')
  t.same(parseRange('BYTES = 0-1, 5-6', 100), [{ start: 0, end: 1 }, { start: 5, end: 6 }])
  t.equal(parseRange('bytes=100-', 100), 'unsatisfiable')
  t.equal(parseRange('bytes=-0', 100), 'unsatisfiable')
  for (const ignored of ['items=0-1', 'bytes=', 'bytes=5-1', 'bytes=a-b', 'bytes=-', 'bytes=0-1,' + '2-3,'.repeat(40)]) {
    t.equal(parseRange(ignored, 100), null, `${ignored.slice(0, 20)}: ignored, the whole file is sent`)
  }
})

t.test('overlapping and adjacent ranges are merged', async (t) => {
  t.same(coalesce([{ start: 10, end: 19 }, { start: 0, end: 4 }, { start: 5, end: 7 }, { start: 15, end: 30 }]), [{ start: 0, end: 7 }, { start: 10, end: 30 }])
})
