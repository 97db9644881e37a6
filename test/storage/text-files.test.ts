import iconv from 'iconv-lite'
import t from 'tap'
import { decodeControlFile, parseInstall, parseRename } from '../../src/storage/text-files.js'

t.test('@rename.txt in windows-1253 keeps Greek destinations exactly', async (t) => {
  const bytes = iconv.encode('Έγγραφα=C:\\Documents and Settings\\Χρήστης\\Έγγραφα\r\nUser2 = d:\\myfolder1 \r\n\r\nnoequals\r\n=nofolder\r\n', 'win1253')
  t.equal(bytes.includes(Buffer.from('Έ', 'utf8')), false, 'the fixture really is windows-1253')
  const map = parseRename(decodeControlFile(bytes))
  t.same([...map], [['έγγραφα', 'C:\\Documents and Settings\\Χρήστης\\Έγγραφα'], ['user2', 'd:\\myfolder1']])
})

t.test('a UTF-8 byte order mark means UTF-8', async (t) => {
  t.equal(decodeControlFile(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Ω=C:\\Ω')])), 'Ω=C:\\Ω')
})

t.test('@install.txt: one program per line, blank and comment lines skipped', async (t) => {
  t.same(parseInstall('%TEMP\\ishop.exe\r\n\r\n; comment\r\n  %PROG\\patch.exe /S  \n# also a comment\n'), ['%TEMP\\ishop.exe', '%PROG\\patch.exe /S'])
})
