import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { visibleLog, type ActionResult } from './action-process.js'

// Where the e2e tests of secrets (secrets.test.ts for PostgreSQL, mysql.test.ts for MySQL and
// MariaDB) look for a password, in one place so that every engine's run is held to the same
// contract: no form of it in the log, the outputs, the job summary, the report, any file the
// run left, or any process's command line while it ran.

/** Every form a secret could leak in. */
export function secretForms(secret: string): Record<string, string> {
  const url = new URL('postgresql://host/db')
  url.password = secret
  return {
    raw: secret,
    'percent-encoded': encodeURIComponent(secret),
    'form-encoded': new URLSearchParams({ p: secret }).toString().slice(2),
    'URL userinfo': url.password,
    base64: Buffer.from(secret).toString('base64'),
    base64url: Buffer.from(secret).toString('base64url')
  }
}

/** Command lines of every process, sampled until stopped (what `ps -eo args` shows). */
export function sampleCommandLines(): { stop(): Set<string> } {
  const seen = new Set<string>()
  const sample = () => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim()
        if (args) seen.add(args)
      } catch {
        // ended meanwhile
      }
    }
  }
  const timer = setInterval(sample, 20)
  sample()
  return {
    stop: () => {
      clearInterval(timer)
      sample()
      return seen
    }
  }
}

/** Every file under a directory, as latin1 text (so any byte sequence can be searched). */
function filesUnder(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => {
      const file = path.join(entry.parentPath, entry.name)
      return { file, text: readFileSync(file, 'latin1') }
    })
}

/** What the run registered with the runner's masking (`::add-mask::`), decoded. */
export function maskedValues(run: Pick<ActionResult, 'stdout'>): string[] {
  return run.stdout
    .split('\n')
    .filter(line => line.startsWith('::add-mask::'))
    .map(line => line.slice('::add-mask::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
}

/** Asserts that no form of `secret` appears in anything the run produced (`name`: which run, for the message). */
export function assertNothingLeaks(name: string, run: ActionResult, secret: string): void {
  const places: { where: string; text: string }[] = [
    { where: 'the log', text: visibleLog(run) },
    { where: 'the outputs', text: JSON.stringify(run.outputs) },
    { where: 'the job summary', text: run.summary },
    { where: 'the report', text: JSON.stringify(run.report ?? {}) },
    ...filesUnder(run.runnerTemp).map(({ file, text }) => ({ where: path.relative(run.runnerTemp, file), text })),
    ...filesUnder(run.commandDir).map(({ file, text }) => ({ where: path.relative(run.commandDir, file), text }))
  ]
  for (const { where, text } of places) {
    for (const [form, value] of Object.entries(secretForms(secret))) {
      assert.ok(!text.includes(value), `${name}: the password (${form}) leaked into ${where}`)
    }
  }
}

/** Asserts that no form of `secret` was on a sampled command line. */
export function assertNoCommandLineHolds(commandLines: Iterable<string>, secret: string): void {
  for (const args of commandLines) {
    for (const [form, value] of Object.entries(secretForms(secret))) {
      assert.ok(!args.includes(value), `the password (${form}) is on a command line: ${args}`)
    }
  }
}
