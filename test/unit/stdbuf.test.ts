import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { STREAM_BUFFER, streamBuffers } from '../../src/stdbuf.js'

test('stdbuf gives the stream 1 MiB buffers where it is installed, and nothing changes where it is not', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-stdbuf-'))
  try {
    const empty = path.join(dir, 'empty')
    const found = path.join(dir, 'found')
    for (const sub of [empty, found]) mkdirSync(sub)
    writeFileSync(path.join(empty, 'stdbuf'), 'not executable')
    writeFileSync(path.join(found, 'stdbuf'), '#!/bin/sh\n')
    chmodSync(path.join(found, 'stdbuf'), 0o755)
    // Relative directories in PATH are never searched: the stream runs from another directory.
    assert.deepEqual(
      streamBuffers({ input: true, output: true }, [path.relative(process.cwd(), found), empty].join(path.delimiter)),
      []
    )
    assert.deepEqual(streamBuffers({ input: true, output: true }, [empty, found].join(path.delimiter)), [
      path.join(found, 'stdbuf'),
      `-i${STREAM_BUFFER}`,
      `-o${STREAM_BUFFER}`
    ])
    assert.deepEqual(streamBuffers({ input: true, output: false }, found), [path.join(found, 'stdbuf'), `-i${STREAM_BUFFER}`])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a program run through stdbuf writes exactly what it wrote without it', () => {
  const prefix = streamBuffers({ input: true, output: true })
  assert.ok(prefix.length > 0, 'stdbuf is installed here (coreutils), as on the runner')
  const input = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `row ${i}\t\\N\t${'x'.repeat(i % 97)}`).join('\n'))
  const [program, ...args] = [...prefix, 'sed', '-n', 'p']
  assert.ok(
    execFileSync(program, args, { input, maxBuffer: 1 << 26 }).equals(
      execFileSync('sed', ['-n', 'p'], { input, maxBuffer: 1 << 26 })
    )
  )
})
