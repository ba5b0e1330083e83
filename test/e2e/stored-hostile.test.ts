import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { runAction, type ActionRun } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'

// Issue 12 with issue 16's rules: a stored backup is untrusted input, in every format. A psql
// meta-command written into an archive's table of contents (pg_restore prints it as it is)
// must stop the restore before psql runs it, whichever path restores it: gzip-compressed plain
// SQL, a custom archive and a directory archive restored in sections over `jobs` pipelines, a
// tar archive in one.

const PG_BIN = '/usr/lib/postgresql/15/bin'
const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-hostile-'))
const PAD = 'A'.repeat(120)
let shop: Shop

before(async () => {
  shop = await createShop('hostile', `COMMENT ON TABLE public.customers IS '${PAD}';`)
})
after(() => rmSync(dir, { recursive: true, force: true }))

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}

/** The comment's literal, replaced in place (every copy: a tar archive holds restore.sql too) by one of the same length that ends it and runs a shell command. */
function hostile(bytes: Buffer, marker: string): Buffer {
  const original = Buffer.from(`'${PAD}';`)
  const replacement = Buffer.from(`'';\n\\! touch ${marker}`.padEnd(original.length, ' '))
  assert.equal(replacement.length, original.length)
  const out = Buffer.from(bytes)
  let copies = 0
  for (let at = out.indexOf(original); at >= 0; at = out.indexOf(original, at + 1), copies++) replacement.copy(out, at)
  assert.ok(copies > 0, 'the comment is in the backup')
  return out
}

function pgDump(format: string, file: string): void {
  execFileSync(
    path.join(PG_BIN, 'pg_dump'),
    [`--format=${format}`, `--file=${file}`, `--dbname=${shop.production.url(shop.database)}`],
    {
      stdio: ['ignore', 'ignore', 'pipe']
    }
  )
}

for (const format of ['gzip', 'custom', 'directory', 'tar'] as const) {
  test(`a ${format} backup holding \\! in its SQL is refused before psql runs it: nothing runs on the runner`, async () => {
    const marker = path.join(dir, `pwned-${format}`)
    const backup = path.join(dir, `${format}.backup`)
    if (format === 'gzip') {
      pgDump('plain', backup)
      // A dump from a pg_dump older than \restrict (before 15.14): psql itself would refuse \! inside one.
      const plain = readFileSync(backup, 'latin1').replace(/^\\(un)?restrict .*\n/gm, '')
      writeFileSync(backup, gzipSync(hostile(Buffer.from(plain, 'latin1'), marker)))
    } else {
      pgDump(format, backup)
      const file = format === 'directory' ? path.join(backup, 'toc.dat') : backup
      writeFileSync(file, hostile(readFileSync(file), marker))
    }
    if (format !== 'gzip') {
      // The attack is real: pg_restore prints the command on a line of its own.
      const sql = execFileSync(path.join(PG_BIN, 'pg_restore'), ['-f', '-', backup], { maxBuffer: 64 * 1024 * 1024 })
      assert.ok(sql.toString('latin1').includes(`\n\\! touch ${marker}`))
    }
    const run = await runAction(
      shop.inputs({ 'backup-path': backup, jobs: '2', ...(format === 'gzip' ? { 'restore-role': 'superuser' } : {}) })
    )
    assert.equal(run.exitCode, 1, explain(run))
    assert.equal(run.outputs.result, 'error', explain(run))
    assert.match(run.report.error, /^The dump holds the psql meta-command \\! outside any string, body or comment/)
    assert.equal(existsSync(marker), false, 'psql never ran the shell command')
  })
}
