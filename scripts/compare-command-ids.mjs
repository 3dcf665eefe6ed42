/**
 * The order @oclif/core sorts a plugin's commands in (`a.id.localeCompare(b.id)`), without ICU where that gives the
 * same answer. The first localeCompare of a process builds ICU's collator (~10 ms of every start-up); scripts/build.mjs
 * puts this function's source into @oclif/core's plugin.js in its place (the `oclif-sort-without-icu` plugin).
 *
 * Same answer: command ids of lowercase ASCII letters, digits, `-` and `:`, under a default locale of English, C or
 * POSIX (or none). There ICU's collation orders these characters by one primary weight each, `-` < `:` < digits <
 * letters, and a string before its extensions (test/unit/startup/compare-command-ids.test.ts checks this against
 * localeCompare). Any other id, or any other locale in LC_ALL, LC_MESSAGES or LANG (where ICU takes the default
 * locale from; Danish sorts "aa" after "z", Lithuanian "y" next to "i"), goes to localeCompare itself.
 * Self-contained: its source is copied as text.
 */
export function compareCommandIds(a, b) {
  if (compareCommandIds.plain === undefined) {
    compareCommandIds.plain = ['LC_ALL', 'LC_MESSAGES', 'LANG'].every((k) => {
      const v = process.env[k]
      return !v || /^(C|POSIX|en(_[A-Za-z]{2})?)(\.[\w-]+)?$/.test(v)
    })
  }
  const simple = /^[a-z0-9:-]*$/
  if (!compareCommandIds.plain || !simple.test(a) || !simple.test(b)) return a.localeCompare(b)
  // '-' 1, ':' 2, '0'-'9' 3-12, 'a'-'z' 13-38
  const rank = (c) => (c === 45 ? 1 : c === 58 ? 2 : c <= 57 ? c - 45 : c - 84)
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = rank(a.charCodeAt(i)) - rank(b.charCodeAt(i))
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}
