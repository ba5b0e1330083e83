import { randomBytes, randomUUID } from 'node:crypto'
import type { DrillRewriter } from '../types.js'
import { type TableName, displayIdentifier, displayName } from '../../util/table-name.js'
import {
  displayCopyValue,
  mutateFirstCharacter,
  mutateBodyCharacter,
  mutateLastDigit,
  parseAddConstraintName,
  parseAlterTable,
  parseCopyHeader,
  parseCreateFunction,
  parseCreateIndex,
  parseSetval,
  dumpLexer
} from './dump-lines.js'

/**
 * The chaos drill's dump rewriters: each streams the lines of a plain dump and corrupts one table's
 * data or one schema object. Which one is planDrill's choice, in drill/plan.ts.
 */

/** A drill operator's rewriter of a copy of the dump, a line at a time: the seam's (engines/types.ts DrillRewriter). */
export type DumpRewriter = DrillRewriter

/** pg_constraint.contype of a table constraint: check, foreign key, primary key, unique, exclusion. */
export type ConstraintType = 'c' | 'f' | 'p' | 'u' | 'x'

// ---------------------------------------------------------------------------------------------
// Rogue row

export type FreshKind = 'integer' | 'text' | 'uuid'

export interface RogueRowTarget {
  schema: string
  name: string
  /** Columns given new values so the copied row is new yet unique: keys, or one plain column. */
  freshColumns: { name: string; kind: FreshKind; maxLength?: number }[]
}

/** The longest fresh text a rogue row writes; the target choice only picks columns that hold it. */
export const ROGUE_TEXT_LENGTH = 20

/**
 * Injects one rogue row at the end of the target table's COPY block: a copy of the block's first
 * row with fresh values in `freshColumns` (integers one past the block's maximum, so they are
 * unused; text and uuids random).
 */
export function rogueRowRewriter(target: RogueRowTarget): DumpRewriter {
  let columnIndexes: number[] = []
  let template: string[] | undefined
  let maxima: bigint[] = []
  let evidence: string | undefined
  return blockRewriter(target, {
    start(columns) {
      columnIndexes = target.freshColumns.map(column => columns.indexOf(column.name))
      maxima = target.freshColumns.map(() => 0n)
      return columnIndexes.every(index => index >= 0)
    },
    row(line) {
      const fields = line.split('\t')
      template ??= fields
      target.freshColumns.forEach((column, i) => {
        const value = fields[columnIndexes[i]]
        if (column.kind === 'integer' && /^-?\d+$/.test(value) && BigInt(value) > maxima[i]) maxima[i] = BigInt(value)
      })
      return [line]
    },
    end() {
      if (!template) return []
      const rogue = [...template]
      const shown: string[] = []
      target.freshColumns.forEach((column, i) => {
        const value = freshValue(column, maxima[i])
        rogue[columnIndexes[i]] = value
        shown.push(value)
      })
      evidence = `(${target.freshColumns.map(column => column.name).join(', ')})=(${shown.join(', ')})`
      return [rogue.join('\t')]
    },
    evidence: () => evidence
  })
}

function freshValue(column: RogueRowTarget['freshColumns'][number], maximum: bigint): string {
  switch (column.kind) {
    case 'integer':
      return (maximum + 1n).toString()
    case 'uuid':
      return randomUUID()
    case 'text':
      return `rogue-${randomBytes(8).toString('hex')}`.slice(
        0,
        Math.min(column.maxLength ?? ROGUE_TEXT_LENGTH, ROGUE_TEXT_LENGTH)
      )
  }
}

// ---------------------------------------------------------------------------------------------
// Row data operators

/** How one operator edits the rows of its table's COPY block. */
interface BlockEdit {
  /** The block starts with these columns; false leaves it alone. */
  start(columns: string[]): boolean
  /** The lines to write for data row number `index` (from 1). */
  row(line: string, index: number): string[]
  /** The lines to write before the block's end marker. */
  end(): string[]
  evidence(): string | undefined
}

/** Runs `edit` over the first COPY block of `table`, leaving every other line alone. */
function blockRewriter(table: TableName, edit: BlockEdit): DumpRewriter {
  const lex = dumpLexer()
  let state: 'before' | 'inside' | 'after' = 'before'
  let index = 0
  return {
    push(line) {
      const facts = lex(line)
      if (state === 'inside') {
        if (line !== '\\.') return edit.row(line, ++index)
        state = 'after'
        return [...edit.end(), line]
      }
      if (facts.copyHeader !== undefined && state === 'before') {
        const header = parseCopyHeader(facts.copyHeader)
        if (header && header.schema === table.schema && header.name === table.name) {
          state = edit.start(header.columns) ? 'inside' : 'after'
        }
      }
      return [line]
    },
    result() {
      const evidence = edit.evidence()
      return evidence === undefined ? undefined : { evidence }
    }
  }
}

/** Names a row for the evidence: by its primary key when the block carries it, else by position. */
function rowNamer(keyColumns: string[] | undefined): {
  start(columns: string[]): void
  name(fields: string[], index: number): string
} {
  let keyIndexes: number[] | undefined
  return {
    start(columns) {
      const indexes = keyColumns?.map(column => columns.indexOf(column))
      keyIndexes = indexes && indexes.every(i => i >= 0) ? indexes : undefined
    },
    name(fields, index) {
      if (!keyIndexes || !keyColumns) return `row ${index} of the data`
      return `row (${keyColumns.join(', ')})=(${keyIndexes.map(i => displayCopyValue(fields[i])).join(', ')})`
    }
  }
}

/** Removes the first row of the table's data. */
export function dropRowRewriter(table: TableName, keyColumns?: string[]): DumpRewriter {
  const rows = rowNamer(keyColumns)
  let evidence: string | undefined
  return blockRewriter(table, {
    start(columns) {
      rows.start(columns)
      return true
    },
    row(line, index) {
      if (evidence !== undefined) return [line]
      evidence = `${rows.name(line.split('\t'), index)} removed`
      return []
    },
    end: () => [],
    evidence: () => evidence
  })
}

/**
 * Changes one character of the first value it can in `columns` (tried in order, row by row):
 * a letter or digit of text, the last digit of a number, never inside a backslash escape.
 */
export function mutateCellRewriter(
  table: TableName,
  columns: { name: string; digitsOnly: boolean }[],
  keyColumns?: string[]
): DumpRewriter {
  const rows = rowNamer(keyColumns)
  let indexes: number[] = []
  let evidence: string | undefined
  return blockRewriter(table, {
    start(header) {
      rows.start(header)
      indexes = columns.map(column => header.indexOf(column.name))
      return indexes.some(i => i >= 0)
    },
    row(line, index) {
      if (evidence !== undefined) return [line]
      const fields = line.split('\t')
      for (const [i, column] of columns.entries()) {
        if (indexes[i] < 0) continue
        const mutated = column.digitsOnly ? mutateLastDigit(fields[indexes[i]]) : mutateFirstCharacter(fields[indexes[i]])
        if (mutated === undefined) continue
        fields[indexes[i]] = mutated
        evidence = `one character of column ${column.name} changed in ${rows.name(fields, index)}`
        return [fields.join('\t')]
      }
      return [line]
    },
    end: () => [],
    evidence: () => evidence
  })
}

/**
 * Exchanges one column's values between the first row and the first later row where that column
 * differs, trying `columns` in order. The rows must also differ elsewhere: two rows that differ
 * in that column alone would come out as the same two rows.
 */
export function swapValuesRewriter(table: TableName, columns: string[], keyColumns?: string[]): DumpRewriter {
  const rows = rowNamer(keyColumns)
  let indexes: number[] = []
  let first: { fields: string[]; index: number } | undefined
  let evidence: string | undefined
  return blockRewriter(table, {
    start(header) {
      rows.start(header)
      indexes = columns.map(column => header.indexOf(column))
      return indexes.some(i => i >= 0)
    },
    row(line, index) {
      if (evidence !== undefined) return [line]
      const fields = line.split('\t')
      // The first row waits, unwritten, for its partner; rows order does not matter to a table.
      if (!first) {
        first = { fields, index }
        return []
      }
      const held = first.fields
      for (const [i, column] of columns.entries()) {
        const at = indexes[i]
        if (at < 0 || fields[at] === held[at]) continue
        if (fields.every((value, j) => j === at || value === held[j])) continue
        evidence = `column ${column} exchanged between ${rows.name(held, first.index)} and ${rows.name(fields, index)}`
        ;[held[at], fields[at]] = [fields[at], held[at]]
        return [held.join('\t'), fields.join('\t')]
      }
      return [line]
    },
    end: () => (evidence === undefined && first ? [first.fields.join('\t')] : []),
    evidence: () => evidence
  })
}

/** Writes the first row of the table's data twice. */
export function duplicateRowRewriter(table: TableName): DumpRewriter {
  let evidence: string | undefined
  return blockRewriter(table, {
    start: () => true,
    row(line, index) {
      if (evidence !== undefined) return [line]
      evidence = `row ${index} of the data written twice`
      return [line, line]
    },
    end: () => [],
    evidence: () => evidence
  })
}

/** Turns the first NULL (`\N`) it finds in `columns` (tried in order, row by row) into ''. */
export function nullToEmptyRewriter(table: TableName, columns: string[], keyColumns?: string[]): DumpRewriter {
  const rows = rowNamer(keyColumns)
  let indexes: number[] = []
  let evidence: string | undefined
  return blockRewriter(table, {
    start(header) {
      rows.start(header)
      indexes = columns.map(column => header.indexOf(column))
      return indexes.some(i => i >= 0)
    },
    row(line, index) {
      if (evidence !== undefined) return [line]
      const fields = line.split('\t')
      const i = indexes.findIndex(at => at >= 0 && fields[at] === '\\N')
      if (i < 0) return [line]
      fields[indexes[i]] = ''
      evidence = `NULL in column ${columns[i]} turned into '' in ${rows.name(fields, index)}`
      return [fields.join('\t')]
    },
    end: () => [],
    evidence: () => evidence
  })
}

/**
 * Cuts the dump after `keepRows` rows of the table's data, as an interrupted upload would: that
 * row is the last line written, and everything after it, including the block's end, is lost.
 */
export function truncateRewriter(table: TableName, keepRows: number): DumpRewriter {
  const lex = dumpLexer()
  let state: 'before' | 'inside' | 'cut' = 'before'
  let kept = 0
  let lineNumber = 0
  let cutAt = 0
  let lost = 0
  return {
    push(line) {
      lineNumber++
      if (state === 'cut') {
        lost++
        return []
      }
      if (state === 'inside') {
        if (kept < keepRows && line !== '\\.') {
          kept++
          return [line]
        }
        state = 'cut'
        cutAt = lineNumber
        lost++
        return []
      }
      const copyHeader = lex(line).copyHeader
      if (copyHeader !== undefined) {
        const header = parseCopyHeader(copyHeader)
        if (header && header.schema === table.schema && header.name === table.name) state = 'inside'
      }
      return [line]
    },
    result() {
      if (state !== 'cut') return undefined
      return { evidence: `dump cut after ${kept} row(s) of ${displayName(table)}'s data, at line ${cutAt}: ${lost} line(s) lost` }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Schema operators

/** Removes the `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table ...;` statement of one index. */
export function dropIndexRewriter(index: { schema: string; table: string; name: string }): DumpRewriter {
  const lex = dumpLexer()
  let lineNumber = 0
  let removing = false
  let evidence: string | undefined
  return {
    push(line) {
      lineNumber++
      const facts = lex(line)
      if (removing) {
        removing = !facts.endsStatement
        return []
      }
      if (evidence !== undefined || !facts.startsStatement) return [line]
      const parsed = parseCreateIndex(line)
      if (!parsed || parsed.name !== index.name || parsed.schema !== index.schema || parsed.table !== index.table) return [line]
      evidence = `CREATE INDEX ${displayIdentifier(index.name)} removed from the dump (line ${lineNumber})`
      removing = !facts.endsStatement
      return []
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

const CONSTRAINT_KINDS: Record<ConstraintType, string> = {
  c: 'CHECK',
  f: 'FOREIGN KEY',
  p: 'PRIMARY KEY',
  u: 'UNIQUE',
  x: 'EXCLUDE'
}

/**
 * Removes one `ALTER TABLE [ONLY] schema.table` + `    ADD CONSTRAINT name ...;` statement,
 * which pg_dump writes on two lines (more when the definition holds a line break).
 */
export function dropConstraintRewriter(constraint: {
  schema: string
  table: string
  name: string
  type?: ConstraintType
}): DumpRewriter {
  const lex = dumpLexer()
  let lineNumber = 0
  let held: string | undefined
  let removing = false
  let evidence: string | undefined
  const kind = constraint.type ? ` (${CONSTRAINT_KINDS[constraint.type]})` : ''

  const consider = (line: string, startsStatement: boolean): string[] => {
    if (evidence !== undefined || !startsStatement) return [line]
    const table = parseAlterTable(line)
    if (table && table.schema === constraint.schema && table.name === constraint.table) {
      held = line
      return []
    }
    return [line]
  }

  return {
    push(line) {
      lineNumber++
      const facts = lex(line)
      if (removing) {
        removing = !facts.endsStatement
        return []
      }
      if (held === undefined) return consider(line, facts.startsStatement)
      const alter = held
      held = undefined
      if (parseAddConstraintName(line) === constraint.name) {
        const lines = `lines ${lineNumber - 1}-${lineNumber}`
        evidence = `ADD CONSTRAINT ${displayIdentifier(constraint.name)}${kind} removed from the dump (${lines})`
        removing = !facts.endsStatement
        return []
      }
      return [alter, ...consider(line, facts.startsStatement)]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

/** Sets one sequence back to its start, as if never used: `setval('seq', start, false)`. */
export function sequenceResetRewriter(sequence: { schema: string; name: string; startValue: string }): DumpRewriter {
  const lex = dumpLexer()
  let evidence: string | undefined
  return {
    push(line) {
      if (evidence !== undefined || !lex(line).startsStatement) return [line]
      const setval = parseSetval(line)
      if (!setval || setval.schema !== sequence.schema || setval.name !== sequence.name) return [line]
      evidence =
        `setval of ${displayName(sequence)} changed from ${setval.value}${setval.called ? '' : ' (not called)'} ` +
        `to ${sequence.startValue} (not called)`
      return [`SELECT pg_catalog.setval('${setval.literal}', ${sequence.startValue}, false);`]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

/** A function body longer than this is left alone rather than held. */
const MAX_HELD_BODY_BYTES = 1024 * 1024

/**
 * Changes one character of a function's body: in `CREATE FUNCTION|PROCEDURE schema.name(arguments)`,
 * the first digit of the dollar-quoted string after `AS` (a constant of its logic), else its first
 * letter. pg_dump turns check_function_bodies off, so the changed body restores as written.
 */
export function mutateFunctionRewriter(fn: { schema: string; name: string; arguments: string }): DumpRewriter {
  const lex = dumpLexer()
  // Row data is never a function's text; every other line (statements, bodies) is read.
  const isSql = (line: string) => !lex(line).data
  let lineNumber = 0
  let state: 'before' | 'header' | 'body' | 'done' = 'before'
  let tag = ''
  // The body's lines, held until its closing tag (a function's text, never table data).
  let held: string[] = []
  let heldBytes = 0
  let firstBodyLine = 0
  let evidence: string | undefined
  const display = `${displayName(fn)}(${fn.arguments})`

  /** The held lines with one character of the body (what stands between the tags) changed. */
  const mutated = (): string[] => {
    const text = held.join('\n')
    const open = text.indexOf(tag) + tag.length
    const close = text.indexOf(tag, open)
    const body = mutateBodyCharacter(text.slice(open, close))
    if (body === undefined) return held
    const changed = (text.slice(0, open) + body + text.slice(close)).split('\n')
    const line = firstBodyLine + changed.findIndex((candidate, i) => candidate !== held[i])
    evidence = `one character of the body of function ${display} changed (line ${line})`
    return changed
  }

  return {
    push(line) {
      lineNumber++
      if (state === 'done') return [line]
      if (state === 'body') {
        held.push(line)
        heldBytes += line.length
        if (!line.includes(tag)) {
          if (heldBytes <= MAX_HELD_BODY_BYTES) return []
          // No closing tag in sight: not a body this rewriter understands. Written back untouched.
          state = 'done'
          return held
        }
        state = 'done'
        return mutated()
      }
      if (!isSql(line)) return [line]
      if (state === 'before') {
        const header = parseCreateFunction(line)
        if (header && header.schema === fn.schema && header.name === fn.name && header.arguments === fn.arguments) {
          state = 'header'
        }
        return [line]
      }
      // Between the header and the body: LANGUAGE, volatility, SET options, then `AS $tag$`.
      const as = /^ {4}AS (\$[A-Za-z0-9_]*\$)/.exec(line)
      if (!as) {
        // A body given otherwise (a C function's 'file', 'symbol') or the end of the statement: leave it.
        if (line.endsWith(';')) state = 'done'
        return [line]
      }
      tag = as[1]
      held = [line]
      firstBodyLine = lineNumber
      if (line.indexOf(tag, as[0].length) < 0) {
        state = 'body'
        return []
      }
      state = 'done'
      return mutated()
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}
