import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { numberedLinesUpTo, rewriteLines } from '../../../src/util/dump-lines.js'

// The line streaming every engine's drill and failure report reads dumps with: lines are whole
// across read chunks, every byte passes through unchanged, and a lookup reads no further than asked.

function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dump-lines-'))
  return work(dir).finally(() => rmSync(dir, { recursive: true, force: true }))
}

test('a rewrite sees whole lines across read chunks, keeps every byte, and may drop, keep or add lines', () =>
  withDir(async dir => {
    // Lines longer than a read chunk (64 KiB), bytes that are not UTF-8, and a last line without a newline.
    const long = 'x'.repeat(200_000)
    const input = Buffer.concat([
      Buffer.from(`keep ${long}\ndrop me\n`, 'latin1'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), // "café" in latin1
      Buffer.from('double\nlast', 'latin1')
    ])
    const inFile = path.join(dir, 'in.sql')
    const outFile = path.join(dir, 'out.sql')
    writeFileSync(inFile, input)
    const seen: string[] = []
    await rewriteLines(inFile, outFile, line => {
      seen.push(line.length > 20 ? `${line.slice(0, 5)}(${line.length})` : line)
      if (line === 'drop me') return []
      if (line === 'double') return [line, line]
      return [line]
    })
    assert.deepEqual(seen, [`keep (${long.length + 5})`, 'drop me', 'caf\u00e9', 'double', 'last'])
    const expected = Buffer.concat([
      Buffer.from(`keep ${long}\n`, 'latin1'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]),
      Buffer.from('double\ndouble\nlast', 'latin1')
    ])
    assert.ok(readFileSync(outFile).equals(expected), 'the bytes of the kept lines are the input bytes')
  }))

test('the lines a lookup picks are numbered as the file numbers them, up to the line asked and no further', () =>
  withDir(async dir => {
    const file = path.join(dir, 'dump.sql')
    const filler = Array.from({ length: 30_000 }, (_, i) => `row ${i}`)
    writeFileSync(file, ['-- A', ...filler, '-- B', 'x', '-- C', ''].join('\n'), 'latin1')
    const marked = (text: string) => text.startsWith('-- ')
    assert.deepEqual(await numberedLinesUpTo(file, 1, marked), ['1:-- A'])
    assert.deepEqual(await numberedLinesUpTo(file, 30_001, marked), ['1:-- A'])
    assert.deepEqual(await numberedLinesUpTo(file, 30_002, marked), ['1:-- A', '30002:-- B'])
    assert.deepEqual(await numberedLinesUpTo(file, 1_000_000, marked), ['1:-- A', '30002:-- B', '30004:-- C'])
  }))
