/**
 * Where the mysql/mariadb client is in a mysqldump/mariadb-dump, line by line: the lexer the
 * sanitizing sed program runs (sanitize-rules.ts), in TypeScript for the drill's rewriters and for
 * tests, which hold the two to the same answers. It follows the client's own reader (add_line in
 * client/mysql.cc), since the client is what splits the dump into statements and runs its own
 * commands from it:
 * - strings '...' and "..." with backslash escapes and doubled quotes, `identifiers` with doubled
 *   backquotes and no escapes (each may span lines);
 * - `/* ... *\/` comments, which do not nest; `/*!` and `/*!NNNNN` versioned comments are code to
 *   the client (and `/*M!` to MariaDB's, a plain comment to MySQL's); `-- ` and `#` comments to
 *   the end of the line;
 * - the statement delimiter, `;` or, inside mysqldump's `DELIMITER ;;` blocks (routines,
 *   triggers, events), `;;`;
 * - what the client would run itself rather than send: a backslash command (`\!` runs a shell
 *   command, `\.` reads a file...), and the word `delimiter ` anywhere in code (the client reads
 *   it even inside a word). Any of these outside a string or comment, but mysqldump's own
 *   `DELIMITER ;;` / `DELIMITER ;` lines, is a construct the lexer refuses: `stop` says which.
 * Anything whose reading depends on what the lexer cannot know for sure also stops it: an
 * optimizer hint `/*+` (code to MySQL's client, a comment to MariaDB's).
 * Pure: lines in (latin1-decoded, so a character is a byte), facts out.
 */

export type ClientFlavour = 'mysql' | 'mariadb'

/** The kind of statement a line belongs to, for rules that read inside one. */
export type StatementKind = '.' | 'V' | 'K'

export interface LexState {
  /** T between statements; m statement code; s '...'; q "..."; b `...`; c comment in a statement; C comment between statements. */
  mode: 'T' | 'm' | 's' | 'q' | 'b' | 'c' | 'C'
  /** `.` any statement; `V` a view's CREATE (mysqldump's /*!50001 CREATE ALGORITHM=...); `K` a CREATE TABLE. */
  kind: StatementKind
  /** The delimiter: 1 for `;`, 2 for `;;`. */
  delimiter: 1 | 2
}

export interface DumpLine {
  /** The line starts between statements. */
  startsStatement: boolean
  /** The state at the start of the line. */
  before: LexState
  /** The state after the line; undefined when the lexer stopped. */
  after?: LexState
  /** Why the lexer stopped at this line: what the client would do that Lazarus refuses. */
  stop?: string
}

export const INITIAL_STATE: LexState = { mode: 'T', kind: '.', delimiter: 1 }

/** The state as the sed program spells it in its hold space: mode, kind, delimiter (`T.1`, `mK1`, `s.2`). */
export function stateName(state: LexState): string {
  return `${state.mode}${state.kind}${state.delimiter}`
}

const WORD = /^[A-Za-z0-9_$\x80-\xff]+/
const SPACE = /^[ \t\r\f\v]+/

/**
 * The client's named commands (client/mysql.cc's command table, MySQL's and MariaDB's), which it
 * runs when a line between statements starts with one: outside --binary-mode `source` reads a
 * file, `system` runs a shell command, `tee` writes a file, `connect` and `use` go elsewhere. A
 * dump mysqldump wrote starts no statement with any of them.
 */
export const NAMED_COMMANDS = [
  '?',
  'charset',
  'clear',
  'connect',
  'edit',
  'ego',
  'exit',
  'go',
  'help',
  'nopager',
  'notee',
  'nowarning',
  'pager',
  'print',
  'prompt',
  'query_attributes',
  'quit',
  'rehash',
  'resetconnection',
  'sandbox',
  'source',
  'ssl_session_data_print',
  'status',
  'system',
  'tee',
  'use',
  'warnings'
] as const

/** A line between statements that starts with a named command: the word, then a space, tab, `;` or the line's end. */
export const NAMED_COMMAND_LINE = new RegExp(
  `^[ \t]*(${NAMED_COMMANDS.map(name => name.replace('?', '\\?')).join('|')})([ \t;]|$)`,
  'i'
)

/** mariadb-dump's first line, in both its spellings. */
export const SANDBOX_LINE = /^\/\*M?!999999\\- enable the sandbox mode \*\/ ?$/

/** mysqldump's own delimiter lines, the only `delimiter` the client may read. */
const DELIMITER_LINE = /^DELIMITER (;;?)$/

/**
 * A lexer for one dump, fed every line in order. `client` is the restoring client's flavour.
 */
export function dumpLexer(client: ClientFlavour): (line: string) => DumpLine {
  let state: LexState = INITIAL_STATE
  let first = true
  return line => {
    const before = state
    // mariadb-dump's sandbox line, which only a client that knows it keeps (sanitize-rules.ts): it turns the sandbox on.
    const sandbox = first && SANDBOX_LINE.test(line)
    first = false
    const result = sandbox ? state : lexLine(line, state, client)
    if (typeof result === 'string') return { startsStatement: before.mode === 'T', before, stop: result }
    state = result
    return { startsStatement: before.mode === 'T', before, after: result }
  }
}

/** The state after `line` from `start`, or why the lexer stops there. */
export function lexLine(line: string, start: LexState, client: ClientFlavour): LexState | string {
  let state = start
  if (state.mode === 'T') {
    const delimiter = DELIMITER_LINE.exec(line)
    if (delimiter) return { mode: 'T', kind: '.', delimiter: delimiter[1] === ';;' ? 2 : 1 }
    const named = NAMED_COMMAND_LINE.exec(line)
    if (named) return `the client command ${named[1].toLowerCase()}`
    if (line.startsWith('/*!50001 CREATE ALGORITHM=')) state = { ...state, mode: 'm', kind: 'V' }
    else if (line.startsWith('CREATE TABLE `')) state = { ...state, mode: 'm', kind: 'K' }
  }
  let at = 0
  const rest = () => line.slice(at)
  while (at < line.length) {
    const char = line[at]
    switch (state.mode) {
      case 'T':
      case 'm': {
        const top = state.mode === 'T'
        const space = SPACE.exec(rest())
        if (space) {
          at += space[0].length
          break
        }
        if (char === '#' || (line.startsWith('--', at) && (at + 2 === line.length || /[ \t\r\f\v]/.test(line[at + 2])))) {
          at = line.length
          break
        }
        if (char === '\\') return `the client command ${line.slice(at, at + 2)}`
        if (line.startsWith('/*+', at)) return 'an optimizer hint /*+ ... */ (MySQL and MariaDB clients read it differently)'
        if (line.startsWith('/*!', at)) {
          state = { ...state, mode: 'm' }
          at += 3
          break
        }
        if (line.startsWith('/*M!', at) && client === 'mariadb') {
          state = { ...state, mode: 'm' }
          at += 4
          break
        }
        if (line.startsWith('/*', at)) {
          state = { ...state, mode: top ? 'C' : 'c' }
          at += 2
          break
        }
        if (char === ';') {
          if (state.delimiter === 1 || line[at + 1] === ';') {
            state = { mode: 'T', kind: '.', delimiter: state.delimiter }
            at += state.delimiter
          } else {
            at += 1
          }
          break
        }
        if (char === "'" || char === '"' || char === '`') {
          state = { ...state, mode: char === "'" ? 's' : char === '"' ? 'q' : 'b' }
          at += 1
          break
        }
        const word = WORD.exec(rest())
        if (word) {
          // The client reads `delimiter ` wherever it starts in code, even inside a word.
          if (/delimiter$/i.test(word[0]) && line[at + word[0].length] === ' ') return 'the client command delimiter'
          state = { ...state, mode: 'm' }
          at += word[0].length
          break
        }
        state = { ...state, mode: 'm' }
        at += 1
        break
      }
      case 's':
      case 'q': {
        const quote = state.mode === 's' ? "'" : '"'
        const next = line.slice(at).search(quote === "'" ? /['\\]/ : /["\\]/)
        if (next < 0) {
          at = line.length
        } else if (line[at + next] === '\\') {
          at += next + 2
        } else if (line[at + next + 1] === quote) {
          at += next + 2
        } else {
          state = { ...state, mode: 'm' }
          at += next + 1
        }
        break
      }
      case 'b': {
        const end = line.indexOf('`', at)
        if (end < 0) at = line.length
        else if (line[end + 1] === '`') at = end + 2
        else {
          state = { ...state, mode: 'm' }
          at = end + 1
        }
        break
      }
      case 'c':
      case 'C': {
        const end = line.indexOf('*/', at)
        if (end < 0) at = line.length
        else {
          state = state.mode === 'C' ? { ...state, mode: 'T' } : { ...state, mode: 'm' }
          at = end + 2
        }
        break
      }
    }
  }
  return state
}
