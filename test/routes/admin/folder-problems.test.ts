import t from 'tap'
import { ADMIN, adminApi as api } from '../../helpers/admin.js'
import { multipart } from '../../helpers/multipart.js'
import { writeTree } from '../../helpers/tree.js'
import { buildWorld } from '../../helpers/world.js'

// docs/protocol.md §5: a version folder with nothing to download, or with files that land on
// one path on Windows, is refused at publish time and reported when placed by hand.

const deep = `${Array.from({ length: 17 }, (_, i) => `d${i}`).join('/')}/deep.txt`

t.test('publishing refuses a folder with nothing to download or with names that clash on Windows', async (t) => {
  const w = await buildWorld(t, { ADMIN_TOKEN: ADMIN })
  const cases: Array<[string, Record<string, string>, Record<string, string>, RegExp]> = [
    ['only @rename.txt', {}, { '@rename.txt': 'x=C:\\x\r\n' }, /nothing to download/],
    ['only files too deep', {}, { [deep]: 'deep' }, /deeper than 16 folders/],
    ['A.dll and a.dll', {}, { 'A.dll': '1', 'a.dll': '2' }, /land on one path on Windows/],
    ['two folders renamed to one place', { rename: 'one=C:\\Same\r\ntwo=c:\\same\r\n' }, { 'one/x.txt': '1', 'two/X.TXT': '2' }, /land on one path on Windows/]
  ]
  for (const [what, fields, files, problem] of cases) {
    const upload = multipart({ version: '3.0', ...fields }, files)
    const res = await api(w.app, 'POST', '/api/v1/programs/ishop/versions', upload.body, upload.contentType)
    t.equal(res.status, 400, what)
    t.match(res.json.detail, problem, `${what}: ${res.json.detail}`)
    t.ok(res.json.errors.every((e: { field: string }) => e.field === 'files'), `${what}: the problems name the files`)
  }
  t.equal((await api(w.app, 'GET', '/api/v1/programs/ishop/versions/3.0')).status, 404, 'nothing was published')
  const poll = await w.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${w.keys.entitled}&pcid=${await w.pcid()}`)
  t.equal(poll.map.get('OK[0]'), '2.7.0.0', 'the offered version is unchanged')

  const fine = multipart({ version: '3.0' }, { 'setup.exe': 'x', 'Docs/A.txt': 'a', 'docs2/a.txt': 'b' })
  t.equal((await api(w.app, 'POST', '/api/v1/programs/ishop/versions', fine.body, fine.contentType)).status, 201, 'different folders are no clash')
})

t.test('a folder placed by hand: its problems are shown, and an empty one is never offered', async (t) => {
  const w = await buildWorld(t, { ADMIN_TOKEN: ADMIN })
  await writeTree(w.root, {
    'ishop/3.0/@rename.txt': 'x=C:\\x\r\n',
    'ishop/2.8/Setup.exe': '1',
    'ishop/2.8/setup.EXE': '2'
  })
  await w.app.repository.rescan('ishop')

  const empty = await api(w.app, 'GET', '/api/v1/programs/ishop/versions/3.0')
  t.equal(empty.status, 200)
  t.match(empty.json.problems, [/nothing to download/])
  const clash = await api(w.app, 'GET', '/api/v1/programs/ishop/versions/2.8')
  t.match(clash.json.problems, [/ishop\/2\.8\/Setup\.exe and ishop\/2\.8\/setup\.EXE land on one path on Windows/])
  t.same((await api(w.app, 'GET', '/api/v1/programs/ishop/versions/2.7.0.0')).json.problems, [])

  const poll = await w.query(`prog[]=ishop&version[]=2.6.5.1&serial[]=${w.keys.entitled}&pcid=${await w.pcid()}`)
  t.equal(poll.map.get('OK[0]'), '2.8', 'the empty 3.0 is skipped; 2.8 (only reported) is offered')
})
