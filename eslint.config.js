import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  ignores: ['dist/**', 'src/generated/**', 'coverage/**', '.tap/**', 'data/**', 'ftp/**']
})
