import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execFileSync } from 'node:child_process'
import { buildSedProgram, summarizeRemovedLines } from '../../src/sanitize-rules.js'

const KNOWN = [
  'statement_timeout',
  'lock_timeout',
  'client_encoding',
  'search_path',
  'default_table_access_method',
  'row_security'
]

// What pg_dump 17 writes at the top of a plain dump, plus data that looks like directives.
const DUMP = [
  '\\restrict abc123',
  'SET statement_timeout = 0;',
  'SET transaction_timeout = 0;',
  'SET lock_timeout = 0;',
  "SET client_encoding = 'UTF8';",
  "SELECT pg_catalog.set_config('search_path', '', false);",
  "SELECT pg_catalog.set_config('made_up.setting', 'x', false);",
  'SET default_table_access_method = heap;',
  'CREATE TABLE public.notes (id integer, body text);',
  'COPY public.notes (id, body) FROM stdin;',
  '1\tSET transaction_timeout = 0;',
  'SET transaction_timeout = 0;',
  '\\restrict inside data',
  '\\.',
  'SET transaction_timeout = 0;',
  '\\unrestrict abc123',
  ''
].join('\n')

function sanitizeWithSed(dump: string, psqlUnderstandsRestrict: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-sed-'))
  const input = path.join(dir, 'in.sql')
  const removed = path.join(dir, 'removed.sql')
  const programFile = path.join(dir, 'program.sed')
  const copyFile = path.join(dir, 'copy.sql')
  fs.writeFileSync(input, dump)
  fs.writeFileSync(
    programFile,
    buildSedProgram({ knownSettings: KNOWN, psqlUnderstandsRestrict, removedLinesFile: removed, copyFile })
  )
  const printed = execFileSync('sed', ['-n', '-E', '-f', programFile, input]).toString()
  // The copy sed keeps for the drill must be what it printed into the restore.
  assert.equal(fs.readFileSync(copyFile, 'utf8'), printed)
  const result = {
    output: printed,
    removed: fs.existsSync(removed) ? fs.readFileSync(removed, 'utf8').split('\n') : []
  }
  fs.rmSync(dir, { recursive: true })
  return result
}

test('removes settings the clean room does not know, outside COPY data only', () => {
  const { output, removed } = sanitizeWithSed(DUMP, true)
  const expected = DUMP.split('\n')
    .filter((line, index) => !(line === 'SET transaction_timeout = 0;' && (index === 2 || index === 14)))
    .filter(line => !line.includes('made_up.setting'))
    .join('\n')
  assert.equal(output, expected)
  assert.deepEqual(summarizeRemovedLines(removed), [
    { parameter: 'transaction_timeout', lines: 2 },
    { parameter: 'made_up.setting', lines: 1 }
  ])
})

test('row data that reads exactly like a directive survives byte for byte', () => {
  const { output } = sanitizeWithSed(DUMP, false)
  const block = output.slice(output.indexOf('COPY public.notes'), output.indexOf('\\.\n') + 3)
  assert.equal(
    block,
    'COPY public.notes (id, body) FROM stdin;\n1\tSET transaction_timeout = 0;\nSET transaction_timeout = 0;\n\\restrict inside data\n\\.\n'
  )
})

test('keeps \\restrict for a psql that knows it and removes it for one that does not', () => {
  assert.match(sanitizeWithSed(DUMP, true).output, /^\\restrict abc123$/m)
  const older = sanitizeWithSed(DUMP, false)
  assert.doesNotMatch(older.output, /^\\(un)?restrict abc123$/m)
  assert.deepEqual(
    summarizeRemovedLines(older.removed).filter(item => item.parameter.startsWith('\\')),
    [
      { parameter: '\\restrict', lines: 1 },
      { parameter: '\\unrestrict', lines: 1 }
    ]
  )
})

test('a dump with nothing unknown passes through unchanged', () => {
  const clean = DUMP.split('\n')
    .filter(line => !/transaction_timeout|made_up/.test(line) || line.startsWith('1\t'))
    .join('\n')
  const { output, removed } = sanitizeWithSed(clean, true)
  assert.equal(output, clean)
  assert.deepEqual(summarizeRemovedLines(removed), [])
})
