import neostandard from 'neostandard'
import globals from 'globals'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'src/generated/**', 'coverage/**', '.tap/**', 'data/**', 'ftp/**']
  }),
  // The web console runs in the browser.
  { files: ['console/**/*.js'], languageOptions: { globals: globals.browser } }
]
