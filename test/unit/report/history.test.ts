import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  HISTORY_LENGTH,
  FileHistoryStore,
  actionsCacheHistoryStore,
  appendRun,
  databaseId,
  historyCharts,
  historyRun,
  parseHistory,
  restoreTimeAlarm,
  trackRun,
  type History,
  type HistoryRun,
  type HistoryStore
} from '../../../src/report/history.js'
import type { Report } from '../../../src/report/report.js'
import { renderSummary } from '../../../src/report/summary.js'
import { capturingStdout } from '../../support/capture-stdout.js'

const temporary: string[] = []
afterEach(() => {
  for (const dir of temporary.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-history-test-'))
  temporary.push(dir)
  return dir
}

/** A report as a run of the shop database leaves it, with the given restore time. */
function report(day: number, restore: number, result: Report['result'] = 'verified'): Report {
  return {
    result,
    verify: 'checksums',
    production: { server: 'app@db:5432/shop', serverVersion: '13.23', database: 'shop' },
    cleanroom: { server: 'postgres@cr:5432/postgres', serverVersion: '13.23' },
    dumpBytes: 2_000_000 + day * 10_000,
    sanitized: [],
    tables: [],
    sabotage: [],
    timings: { dump: 1, sanitize: 0.1, restore, verify: 0.5, total: restore + 2 },
    startedAt: `2026-02-${String(day).padStart(2, '0')}T03:00:00.000Z`
  }
}

const id = databaseId({ host: 'db.internal', port: 5432, database: 'shop' })

test('history accumulates across runs in the store, and flags a restore that grew sharply against the median', async () => {
  const file = path.join(tempDir(), 'nested', 'history.json')
  // Each simulated run opens the store afresh, as a new job would.
  const runOnce = async (r: Report) => trackRun(new FileHistoryStore(file, id), historyRun(r), id)

  const first = await runOnce(report(1, 10))
  assert.deepEqual(
    first.history?.runs.map(run => run.restoreSeconds),
    [10]
  )
  assert.equal(first.trend, undefined, 'one run is no baseline')
  assert.ok(fs.existsSync(file), 'the store kept it')

  const second = await runOnce(report(2, 12))
  assert.deepEqual(
    second.history?.runs.map(run => run.restoreSeconds),
    [10, 12]
  )
  assert.equal(second.trend, undefined)

  // A failed restore is on record, but its time is no recovery time.
  const failed = await runOnce(report(3, 0.4, 'restore-failed'))
  assert.deepEqual(
    failed.history?.runs.map(run => [run.result, run.restoreSeconds]),
    [
      ['verified', 10],
      ['verified', 12],
      ['restore-failed', undefined]
    ]
  )

  const steady = await runOnce(report(4, 11))
  assert.equal(steady.trend, undefined, 'two restores are no baseline yet')
  const normal = await runOnce(report(5, 13))
  assert.deepEqual(normal.trend, { runs: 3, medianSeconds: 11, restoreSeconds: 13, ratio: 1.182, alarm: false })

  const slow = await runOnce(report(6, 30))
  assert.deepEqual(slow.trend, { runs: 4, medianSeconds: 11.5, restoreSeconds: 30, ratio: 2.609, alarm: true })
  assert.equal(slow.history?.runs.length, 6)

  const stored = await new FileHistoryStore(file, id).load()
  assert.deepEqual(stored, slow.history, 'what the next run loads is what this run saved')
  assert.equal(
    restoreTimeAlarm(normal.history, historyRun(report(6, 30))),
    'The restore took 30.00 s, 2.6× the median 11.50 s of the last 4 runs.'
  )

  const charts = historyCharts(stored!)
  const blocks = [...charts.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map(match => match[1])
  assert.equal(blocks.length, 2, 'times and size')
  assert.match(blocks[0], /^xychart-beta\n/)
  assert.match(blocks[0], /x-axis \["1", "2", "3", "4", "5", "6"\]/)
  assert.match(blocks[0], /bar \[12, 14, 2\.4, 13, 15, 32\]/)
  assert.match(blocks[0], /line \[10, 12, 0, 11, 13, 30\]/, 'a failed restore charts as 0')
  assert.match(blocks[0], /2026-02-01 to 2026-02-06/)
  assert.match(blocks[1], /title "Dump size in MiB/)
  assert.match(blocks[1], /line \[1\.92, 1\.93, 1\.94, 1\.95, 1\.96, 1\.96\]/)

  const summary = renderSummary({ ...report(6, 30), restoreTrend: slow.trend }, slow.history)
  assert.match(summary, /Restore time grew sharply/)
  assert.ok(summary.includes(charts), 'the summary carries the history charts')
})

test('tiny restores that jitter are no alarm, and the median covers only the recent window', () => {
  const earlier = (times: number[]): History =>
    times.reduce<History | undefined>(
      (history, seconds, index) =>
        appendRun(history, { startedAt: `2026-03-0${index + 1}`, result: 'verified', restoreSeconds: seconds, tables: 1 }, id),
      undefined
    )!
  const current = (seconds: number): HistoryRun => ({
    startedAt: '2026-03-31',
    result: 'verified',
    restoreSeconds: seconds,
    tables: 1
  })
  assert.equal(restoreTimeAlarm(earlier([0.2, 0.2, 0.2]), current(0.9)), undefined, '4.5× but under a second more')
  assert.match(restoreTimeAlarm(earlier([0.2, 0.2, 0.2]), current(1.5)) ?? '', /7\.5× the median 0\.20 s/)
  assert.equal(restoreTimeAlarm(earlier([10, 10]), current(100)), undefined, 'two runs are no baseline')
  // Slow long ago, fast lately: the old restores have left the window.
  assert.match(
    restoreTimeAlarm(earlier([100, 100, 100, 100, 100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]), current(20)) ?? '',
    /median 10\.00 s of the last 10 runs/
  )
})

test('the history keeps the last 30 runs; a damaged file is no history, not a failure', async () => {
  let history: History | undefined
  for (let index = 0; index < HISTORY_LENGTH + 5; index++)
    history = appendRun(history, historyRun(report((index % 28) + 1, index)), id)
  assert.equal(history!.runs.length, HISTORY_LENGTH)
  assert.equal(history!.runs[0].restoreSeconds, 5)

  assert.equal(parseHistory('{"version":1,"runs":[', id), undefined)
  assert.equal(parseHistory('{"version":2,"runs":[]}', id), undefined)
  assert.deepEqual(
    parseHistory(
      '{"version":1,"runs":[{"startedAt":"x","result":"verified","tables":2,"restoreSeconds":"fast"},{"nonsense":true}]}',
      id
    ),
    {
      version: 1,
      databaseId: id,
      runs: [{ startedAt: 'x', result: 'verified', tables: 2 }]
    }
  )
  const file = path.join(tempDir(), 'history.json')
  fs.writeFileSync(file, 'not json')
  const { history: restarted } = await trackRun(new FileHistoryStore(file, id), historyRun(report(1, 3)), id)
  assert.equal(restarted?.runs.length, 1)
})

test('without a store, or when it fails, there is no history and one notice, never a failure', async () => {
  const missing = await capturingStdout(() => trackRun(undefined, historyRun(report(1, 3)), id))
  assert.deepEqual(missing.value, {})
  assert.equal(missing.output.match(/^::notice::/gm)?.length, 1, missing.output)
  assert.match(missing.output, /::notice::No run history: it is kept in the GitHub Actions cache, which is not available here\./)

  const broken: HistoryStore = {
    load: async () => {
      throw new Error('cache service unreachable')
    },
    save: async () => assert.fail('a history that could not be loaded must not be overwritten')
  }
  const failed = await capturingStdout(() => trackRun(broken, historyRun(report(1, 3)), id))
  assert.deepEqual(failed.value, {})
  assert.match(failed.output, /::notice::No run history: it could not be loaded \(cache service unreachable\)\./)

  const readOnly: HistoryStore = {
    load: async () => undefined,
    save: async () => Promise.reject(new Error('cache write denied'))
  }
  const unsaved = await capturingStdout(() => trackRun(readOnly, historyRun(report(1, 3)), id))
  assert.equal(unsaved.value.history?.runs.length, 1, 'this run still gets its history section')
  assert.equal(unsaved.output.match(/^::notice::/gm)?.length, 1)

  assert.equal(await actionsCacheHistoryStore(id, tempDir(), {}), undefined, 'outside Actions there is no cache')
})

test('the database id names host, port and database by hash, and nothing else', () => {
  assert.match(id, /^[0-9a-f]{16}$/)
  assert.equal(databaseId({ host: 'db.internal', port: 5432, database: 'shop' }), id, 'stable across runs')
  assert.notEqual(databaseId({ host: 'db.internal', port: 5433, database: 'shop' }), id)
  assert.notEqual(databaseId({ host: 'db.internal', port: 5432, database: 'shop2' }), id)
  const withSecrets = { host: 'db.internal', port: 5432, database: 'shop', password: 'hunter2', user: 'app' }
  assert.equal(databaseId(withSecrets), id, 'credentials play no part')
})

test('a history key names the history instead of the address: legs at one address keep apart, a moved database keeps its own', () => {
  const address = { host: 'localhost', port: 5432, database: 'app' }
  const legA = databaseId(address, 'billing')
  const legB = databaseId(address, 'orders')
  assert.match(legA, /^[0-9a-f]{16}$/)
  assert.notEqual(legA, legB, 'two legs at localhost:5432/app with their own keys')
  assert.notEqual(legA, databaseId(address), 'a key is not the default history of that address')
  assert.equal(
    databaseId({ host: 'new-host.internal', port: 6432, database: 'billing_v2' }, 'billing'),
    legA,
    'the key alone decides'
  )
  assert.equal(databaseId(address, undefined), databaseId(address), 'no key: the address decides, as before')
})
