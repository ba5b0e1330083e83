// The worked workflows of docs/scale.md. The fleet workflow is run for real where it can be off
// GitHub: its fleet file read as the first job reads it, each leg's "Record the outcome" script,
// and the summary job's script over what the legs left (downloaded as download-artifact lays
// artifacts out), with bash and jq as a runner runs them. actionlint checks the rest of the
// workflow (workflows.test.ts); a last test holds both workflows to what the page must show.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const scale = fs.readFileSync(path.join(root, 'docs', 'scale.md'), 'utf8')
const temporary: string[] = []
afterEach(() => {
  for (const dir of temporary.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function fenced(language: string): string[] {
  return [...scale.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm'))].map(m => m[1] ?? '')
}

const fleetFile = fenced('json')[0] ?? ''
const fleetWorkflow = fenced('yaml').find(block => block.includes('lazarus-fleet-outcome')) ?? ''

/** The `run: |` script of the step named `name`, dedented. */
function stepScript(workflow: string, name: string): string {
  const lines = workflow.split('\n')
  const start = lines.findIndex(line => line.trim() === `- name: ${name}`)
  assert.notEqual(start, -1, `docs/scale.md's fleet workflow has no step "${name}"`)
  const run = lines.findIndex((line, i) => i > start && /^\s+run: \|$/.test(line))
  assert.notEqual(run, -1, `step "${name}" has no run: | script`)
  const indent = (line: string) => line.length - line.trimStart().length
  const body: string[] = []
  for (const line of lines.slice(run + 1)) {
    if (line.trim() !== '' && indent(line) <= indent(lines[run] ?? '')) break
    body.push(line)
  }
  const margin = Math.min(...body.filter(line => line.trim() !== '').map(indent))
  return body.map(line => line.slice(margin)).join('\n')
}

/** Runs a script as a GitHub runner runs `run:` on Linux (bash --noprofile --norc -eo pipefail). */
function runStep(script: string, cwd: string, env: Record<string, string>) {
  const file = path.join(cwd, 'step.sh')
  fs.writeFileSync(file, script)
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8'
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-docs-test-'))
  temporary.push(dir)
  return dir
}

/** What one leg leaves: its outcome.json, where download-artifact puts the leg's artifact. */
function leg(outcomes: string, name: string, outputs: Record<string, string>): void {
  const work = tempDir()
  const r = runStep(stepScript(fleetWorkflow, 'Record the outcome'), work, {
    NAME: name,
    OUTCOME: outputs.outcome ?? '',
    RESULT: outputs.result ?? '',
    TABLES: outputs.tables ?? '',
    MISMATCHED: outputs.mismatched ?? '',
    MISSED: outputs.missed ?? '',
    RESTORE_SECONDS: outputs.restore ?? ''
  })
  assert.equal(r.status, 0, r.stderr)
  const artifact = path.join(outcomes, `lazarus-fleet-outcome-${name}`)
  fs.mkdirSync(artifact, { recursive: true })
  fs.copyFileSync(path.join(work, 'outcome', 'outcome.json'), path.join(artifact, 'outcome.json'))
}

function summarize(dir: string) {
  const fleet = spawnSync('jq', ['-c', '.'], { input: fleetFile, encoding: 'utf8' })
  assert.equal(fleet.status, 0, `the fleet file is JSON: ${fleet.stderr}`)
  const summary = path.join(dir, 'summary.md')
  fs.writeFileSync(summary, '')
  const r = runStep(stepScript(fleetWorkflow, 'Summarize, and fail when any backup did'), dir, {
    FLEET: fleet.stdout.trim(),
    GITHUB_STEP_SUMMARY: summary
  })
  return { ...r, summary: fs.readFileSync(summary, 'utf8') }
}

test("the fleet file names each database's URL, password secret and major version", () => {
  const fleet = JSON.parse(fleetFile) as Array<Record<string, string>>
  assert.ok(fleet.length >= 2)
  for (const database of fleet) {
    assert.deepEqual(Object.keys(database).sort(), ['name', 'password', 'postgres', 'url'])
    assert.match(database.url ?? '', /^postgresql:\/\/[^:@]+@[^/]+\/\w+$/, 'no password in the URL')
    assert.match(database.password ?? '', /^[A-Z_]+$/, 'the name of a secret')
  }
})

test('the summary lists every leg and fails naming the failed ones and the leg that left no record', () => {
  const dir = tempDir()
  const outcomes = path.join(dir, 'outcomes')
  leg(outcomes, 'billing', {
    outcome: 'success',
    result: 'verified',
    tables: '12',
    mismatched: '0',
    missed: '0',
    restore: '41.200'
  })
  // A mismatch fails the Lazarus step; a bad input fails it before any output is set.
  leg(outcomes, 'orders', {
    outcome: 'failure',
    result: 'mismatch',
    tables: '30',
    mismatched: '1',
    missed: '0',
    restore: '95.000'
  })
  // accounts: the leg never got to record anything (its clean room never became healthy).
  const r = summarize(dir)
  assert.equal(r.status, 1, r.stdout + r.stderr)
  assert.match(r.stdout, /^::error::Backups not proven: orders accounts \(see each leg's log/m)
  assert.deepEqual(
    r.summary.split('\n').filter(line => line.startsWith('| ') && !line.startsWith('| Database') && !line.startsWith('| ---')),
    [
      '| billing | success | verified | 12 | 0 | 0 | 41.200 |',
      '| orders | failure | mismatch | 30 | 1 | 0 | 95.000 |',
      '| accounts | no record | - | - | - | - | - |'
    ]
  )

  leg(outcomes, 'accounts', { outcome: 'failure' })
  const again = summarize(dir)
  assert.match(again.stdout, /::error::Backups not proven: orders accounts /)
  assert.match(again.summary, /^\| accounts \| failure \| - \| - \| - \| - \| - \|$/m, 'empty outputs read as -')
})

test('the summary passes when every leg proved its backup', () => {
  const dir = tempDir()
  for (const name of ['billing', 'orders', 'accounts']) {
    leg(path.join(dir, 'outcomes'), name, {
      outcome: 'success',
      result: 'verified',
      tables: '3',
      mismatched: '0',
      missed: '0',
      restore: '1.5'
    })
  }
  const r = summarize(dir)
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /^Every backup in the fleet is proven\.$/m)
  assert.doesNotMatch(r.stdout, /::error::/)
})

test('the scale page works both cases through: a fleet by one matrix, and a large database with its sizing', () => {
  // The fleet: one leg per database, bounded, none cancelling the others, each with its own
  // history and record, and one job after all legs that names the failed ones.
  assert.match(fleetWorkflow, /^\s+matrix:\n\s+database: \$\{\{ fromJSON\(needs\.fleet\.outputs\.databases\) \}\}$/m)
  assert.match(fleetWorkflow, /^\s+max-parallel: \d+$/m)
  assert.match(fleetWorkflow, /^\s+fail-fast: false$/m)
  assert.match(fleetWorkflow, /^\s+history-key: \S*\$\{\{ matrix\.database\.name \}\}$/m)
  assert.match(fleetWorkflow, /^\s+name: lazarus-fleet-outcome-\$\{\{ matrix\.database\.name \}\}$/m)
  assert.match(fleetWorkflow, /^\s+needs: \[fleet, verify\]\n\s+if: \$\{\{ !cancelled\(\) \}\}$/m)
  // The large database: a bounded job, more sessions, a recovery-time objective, and the time per
  // GiB the benchmark measured, next to the runner and disk it needs.
  const large = fenced('yaml').find(block => !block.includes('lazarus-fleet-outcome')) ?? ''
  assert.match(large, /^\s+timeout-minutes: \d+$/m)
  assert.match(large, /^\s+jobs: \d+$/m)
  assert.match(large, /^\s+rto-seconds: \d+$/m)
  const section = scale.slice(scale.indexOf('## A large database'))
  assert.match(section, /\| Lazarus, `verify: checksums` \| [\d.]+ s \| [\d.]+ s \|/, 'the per-GiB table')
  for (const topic of ['**`timeout-minutes`**', '**`jobs`**', '**Disk.**', '**Runner.**'])
    assert.ok(section.includes(topic), `the large-database section covers ${topic}`)
})
