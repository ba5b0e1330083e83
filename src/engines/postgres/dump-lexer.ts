/**
 * Where psql is in a plain pg_dump, line by line: the lexer the sanitizing sed program runs
 * (sanitize-rules.ts), in TypeScript for the drill's rewriters. Both follow psqlscan.l: quoted
 * strings ('...', E'...' with backslash escapes, B'', X'', U&''), quoted identifiers (which may
 * hold newlines), dollar-quoted bodies with any tag, `--` and nested `/* *\/` comments,
 * parentheses and CREATE FUNCTION's BEGIN ... END (psql ends a statement at `;` only outside
 * both), psql meta-commands, and COPY data blocks, whose header may span lines. A test holds the
 * two lexers to the same answers. Pure: lines in (latin1-decoded, so a character is a byte), facts out.
 */

export interface DumpLine {
  /** The line starts at the top level between statements: pg_dump's own statement may start here. */
  startsStatement: boolean
  /** The line is row data of a COPY block, or the block's `\.` end. */
  data: boolean
  /** The line ends at the top level between statements (the statement, if any, ended). */
  endsStatement: boolean
  /** On the line that completes a `COPY ... FROM stdin;` header: the whole header, lines joined by \n. */
  copyHeader?: string
  /** The state after the line, spelled as the sed program keeps it (see sanitize-rules.ts); none for row data. */
  state?: string
}

type Top = { kind: '.' | 'C' | 'F'; begins: number; parens: number }
type State =
  | { mode: 'T' }
  | ({ mode: 'm' } & Top)
  | { mode: 's' | 'e' | 'i'; top: Top }
  | { mode: 'd'; top: Top; tag: string }
  | { mode: 'c'; top: Top | undefined; depth: number }
  | { mode: 'copy' }

const IDENT_START = /[A-Za-z_\x80-\xff]/
const WORD = /^[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff$]*/
const NUMBER = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)([Ee][-+]?[0-9]+)?/
const DOLLAR = /^\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$/
const SPACE = /^[ \t\r\f\v]+/
const OTHER = /^[^A-Za-z0-9_\x80-\xff'"$;()\\ \t\r\f\v/-]+/

/**
 * A lexer for one dump, fed every line in order. `standardConformingStrings` as the dump
 * declares it (pg_dump writes production's setting; it is on unless production turned it off).
 */
export function dumpLexer(standardConformingStrings = true): (line: string) => DumpLine {
  let state: State = { mode: 'T' }
  let header: string[] | undefined
  return line => {
    if (state.mode === 'copy') {
      if (line !== '\\.') return { startsStatement: false, data: true, endsStatement: false }
      state = { mode: 'T' }
      return { startsStatement: false, data: true, endsStatement: true, state: 'T.' }
    }
    const startsStatement = state.mode === 'T'
    if (startsStatement && line.startsWith('COPY ')) header = []
    if (startsStatement && line.startsWith('\\')) {
      // A psql meta-command (\connect, \restrict): it ends at the end of the line.
      return { startsStatement, data: false, endsStatement: true, state: 'T.' }
    }
    if (!standardConformingStrings && startsStatement && line === 'SET standard_conforming_strings = on;') {
      standardConformingStrings = true
    } else if (standardConformingStrings && startsStatement && line === 'SET standard_conforming_strings = off;') {
      standardConformingStrings = false
    }
    state = lexLine(line, state, standardConformingStrings)
    let copyHeader: string | undefined
    if (header) {
      header.push(line)
      if (state.mode === 'copy') copyHeader = header.join('\n')
      if (state.mode !== 'm' && state.mode !== 'i') header = undefined
    }
    return { startsStatement, data: false, endsStatement: state.mode === 'T', copyHeader, state: stateName(state) }
  }
}

/** A state as the sed program spells it in its hold space. */
function stateName(state: State): string {
  const top = (t: Top) => `m${t.kind}${'b'.repeat(t.begins)}${'('.repeat(t.parens)}`
  switch (state.mode) {
    case 'T':
      return 'T.'
    case 'copy':
      return 'C'
    case 'm':
      return top(state)
    case 's':
    case 'e':
    case 'i':
      return `${state.mode}${top(state.top)}`
    case 'd':
      return `d${top(state.top)}#${state.tag}`
    case 'c':
      return `c${state.top ? top(state.top) : 'T.'}#${'*'.repeat(state.depth)}`
  }
}

function lexLine(line: string, start: State, standardConformingStrings: boolean): State {
  let state = start
  let at = 0
  const rest = () => line.slice(at)
  while (at < line.length) {
    const char = line[at]
    switch (state.mode) {
      case 'T': {
        const space = SPACE.exec(rest())
        if (space) {
          at += space[0].length
        } else if (line.startsWith('--', at) || char === '\\') {
          at = line.length
        } else if (line.startsWith('/*', at)) {
          state = { mode: 'c', top: undefined, depth: 1 }
          at += 2
        } else {
          const kind = line.startsWith('COPY ', at) ? 'C' : /^CREATE (OR REPLACE )?(FUNCTION|PROCEDURE) /.test(rest()) ? 'F' : '.'
          state = { mode: 'm', kind, begins: 0, parens: 0 }
        }
        break
      }
      case 'm': {
        const top: Top = { kind: state.kind, begins: state.begins, parens: state.parens }
        const atDepth0 = top.begins === 0 && top.parens === 0
        if (top.kind === 'C' && atDepth0 && rest() === ' FROM stdin;') return { mode: 'copy' }
        const space = SPACE.exec(rest())
        if (space) {
          at += space[0].length
          break
        }
        const two = line.slice(at, at + 2)
        if (two === '--' || char === '\\') {
          at = line.length
        } else if (two === '/*') {
          state = { mode: 'c', top, depth: 1 }
          at += 2
        } else if (/^[BbXx]'$/.test(two) || /^[Uu]&'/.test(rest())) {
          state = { mode: 's', top }
          at += two === 'U&' || two === 'u&' ? 3 : 2
        } else if (/^[Ee]'$/.test(two)) {
          state = { mode: 'e', top }
          at += 2
        } else if (char === "'") {
          state = { mode: standardConformingStrings ? 's' : 'e', top }
          at += 1
        } else if (/^[Uu]&"/.test(rest())) {
          state = { mode: 'i', top }
          at += 3
        } else if (char === '"') {
          state = { mode: 'i', top }
          at += 1
        } else if (char === '$') {
          const dollar = DOLLAR.exec(rest())
          const param = /^\$[0-9]+/.exec(rest())
          if (dollar) {
            state = { mode: 'd', top, tag: dollar[0] }
            at += dollar[0].length
          } else {
            at += param ? param[0].length : 1
          }
        } else if (IDENT_START.test(char)) {
          const word = WORD.exec(rest())![0]
          // psql counts BEGIN ... END (and CASE ... END inside them) of CREATE FUNCTION at depth 0.
          if (top.kind === 'F' && top.parens === 0) {
            const lower = word.toLowerCase()
            if (lower === 'begin') state = { ...top, mode: 'm', begins: top.begins + 1 }
            else if (lower === 'case' && top.begins > 0) state = { ...top, mode: 'm', begins: top.begins + 1 }
            else if (lower === 'end' && top.begins > 0) state = { ...top, mode: 'm', begins: top.begins - 1 }
          }
          at += word.length
        } else if (/[0-9.]/.test(char) && NUMBER.test(rest())) {
          at += NUMBER.exec(rest())![0].length
        } else if (char === '(') {
          state = { ...top, mode: 'm', parens: top.parens + 1 }
          at += 1
        } else if (char === ')') {
          if (top.parens > 0) state = { ...top, mode: 'm', parens: top.parens - 1 }
          at += 1
        } else if (char === ';') {
          if (atDepth0) state = { mode: 'T' }
          at += 1
        } else {
          const other = OTHER.exec(rest())
          at += other ? other[0].length : 1
        }
        break
      }
      case 's':
      case 'i': {
        const quote = state.mode === 's' ? "'" : '"'
        const end = line.indexOf(quote, at)
        if (end < 0) {
          at = line.length
        } else if (line[end + 1] === quote) {
          at = end + 2
        } else {
          state = { mode: 'm', ...state.top }
          at = end + 1
        }
        break
      }
      case 'e': {
        if (char === '\\') {
          at += 2
        } else if (char === "'") {
          if (line[at + 1] === "'") at += 2
          else {
            state = { mode: 'm', ...state.top }
            at += 1
          }
        } else {
          const next = /['\\]/.exec(rest())
          at = next ? at + next.index : line.length
        }
        break
      }
      case 'd': {
        const end = line.indexOf(state.tag, at)
        if (end < 0) {
          at = line.length
        } else {
          at = end + state.tag.length
          state = { mode: 'm', ...state.top }
        }
        break
      }
      case 'c': {
        const next = /\/\*|\*\//.exec(rest())
        if (!next) {
          at = line.length
        } else if (next[0] === '/*') {
          state = { ...state, depth: state.depth + 1 }
          at += next.index + 2
        } else {
          at += next.index + 2
          state = state.depth > 1 ? { ...state, depth: state.depth - 1 } : state.top ? { mode: 'm', ...state.top } : { mode: 'T' }
        }
        break
      }
      case 'copy':
        return state
    }
  }
  return state
}

/**
 * Follows a plain dump line by line: the returned function tells whether a line starts at the
 * top level (where pg_dump's statements begin, so a statement parser may read it) rather than
 * inside a statement, a literal, an identifier, a comment or row data.
 */
export function sqlLineTracker(standardConformingStrings = true): (line: string) => boolean {
  const lexer = dumpLexer(standardConformingStrings)
  return line => lexer(line).startsStatement
}
