/**
 * Self-test of the test harness: shared servers, databases per test file, the shop fixture's
 * dump/restore round trip with the client tools, and runAction's emulation of the runner.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import type { Cluster } from './cluster.js'
import { actionInputDefaults, inputEnvName, node24Path, parseFileCommand, repoRoot, runAction } from './run-action.js'
import { cleanroomCluster, productionCluster, uniqueName } from './shared-servers.js'

const execFileP = promisify(execFile)

let production: Cluster
let cleanroom: Cluster

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
})

after(async () => {
  // no-op for the shared servers; stops private ones when this file runs on its own
  await Promise.all([production?.stop(), cleanroom?.stop()])
})

describe('shared servers', () => {
  test('both servers are PostgreSQL 13', async () => {
    for (const c of [production, cleanroom]) {
      const [row] = await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")
      assert.ok(row, `${c.name}: no row`)
      assert.equal(Math.floor(Number(row.v) / 10000), 13, `${c.name} runs ${row.v}`)
    }
    assert.notEqual(production.port, cleanroom.port)
  })

  test('a test file can create and query its own database on the production server', async () => {
    const db = uniqueName('harness')
    await production.createDatabase(
      db,
      `CREATE TABLE t (id int PRIMARY KEY, label text);
       INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 25) i;`
    )
    const rows = await production.query<{ n: string; s: string }>('SELECT count(*) AS n, sum(id) AS s FROM t', db)
    assert.deepEqual(rows, [{ n: '25', s: '325' }])
    // not visible on the clean room server
    const there = await cleanroom.query('SELECT 1 FROM pg_database WHERE datname = $$' + db + '$$')
    assert.equal(there.length, 0)
    await production.query(`DROP DATABASE "${db}"`)
  })

  test('url() carries the password unless told not to, and works with psql', async () => {
    assert.match(production.url(), /^postgresql:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/postgres$/)
    assert.equal(production.url('x y', { password: null }), `postgresql://postgres@127.0.0.1:${production.port}/x%20y`)
    const { stdout } = await execFileP('psql', ['-X', '-At', '-d', production.url(), '-c', 'SELECT current_user'])
    assert.equal(stdout.trim(), 'postgres')
    // TCP connections need the password (scram-sha-256)
    await assert.rejects(
      execFileP('psql', ['-X', '-At', '-w', '-d', production.url('postgres', { password: null }), '-c', 'SELECT 1'], {
        env: { ...process.env, PGPASSWORD: '', PGPASSFILE: '/dev/null' }
      })
    )
  })

  test('uniqueName() yields distinct, valid identifiers', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('Some Prefix-That Is Quite Long Indeed')))
    assert.equal(names.size, 100)
    for (const n of names) assert.match(n, /^[a-z0-9_]{1,63}$/)
  })
})

describe('shop fixture', () => {
  test('loads on PostgreSQL 13 and survives pg_dump | psql into the clean room', async () => {
    const seed = await readFile(path.join(repoRoot, 'test/fixtures/shop.sql'), 'utf8')
    const src = uniqueName('shop')
    const dst = uniqueName('shop_restored')
    await production.createDatabase(src, seed)
    const { stdout: dump } = await execFileP('pg_dump', ['-d', production.url(src, { password: null })], {
      env: { ...process.env, PGPASSWORD: production.password },
      maxBuffer: 64 << 20
    })
    await cleanroom.createDatabase(dst, dump)

    const tables = [
      'public.customers',
      'public.products',
      'public.audit_log',
      'public.gift_cards',
      '"Inventory".warehouses',
      '"Inventory"."StockLevels"',
      'sales.orders',
      'sales.orders_2023',
      'sales.orders_2024',
      'sales.order_items',
      'sales."order notes"',
      'sales.customer_totals'
    ]
    const fingerprint = async (c: Cluster, db: string) => {
      const out: Record<string, string> = {}
      for (const t of tables) {
        const [r] = await c.query<{ n: string; h: string | null }>(
          `SELECT count(*) AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM ${t} x`,
          db
        )
        out[t] = `${r?.n}:${r?.h}`
      }
      return out
    }
    const before = await fingerprint(production, src)
    assert.equal(before['public.gift_cards'], '0:null')
    assert.ok(Number(before['sales.order_items']?.split(':')[0]) > 1000)
    assert.deepEqual(await fingerprint(cleanroom, dst), before)

    await Promise.all([production.query(`DROP DATABASE "${src}"`), cleanroom.query(`DROP DATABASE "${dst}"`)])
  })
})

describe('runAction', () => {
  test('parses both GITHUB_OUTPUT formats', () => {
    const parsed = parseFileCommand(
      [
        'result=verified',
        'eq=a=b<<c',
        'multi<<ghadelimiter_123',
        'line 1',
        'x=y',
        '',
        'ghadelimiter_123',
        'empty<<EOF',
        'EOF',
        'crlf=v\r',
        ''
      ].join('\n')
    )
    assert.deepEqual(parsed, { result: 'verified', eq: 'a=b<<c', multi: 'line 1\nx=y\n', empty: '', crlf: 'v' })
    assert.throws(() => parseFileCommand('x<<EOF\nnever closed\n'), /not terminated/)
  })

  test('input env names and action.yml defaults follow the runner', () => {
    assert.equal(inputEnvName('production-url'), 'INPUT_PRODUCTION-URL')
    assert.equal(inputEnvName('my input'), 'INPUT_MY_INPUT')
    const defaults = actionInputDefaults()
    assert.equal(defaults.verify, 'checksums')
    assert.equal(defaults.sabotage, 'none')
    assert.equal(defaults['production-password'], '')
    assert.equal('cleanroom-url' in defaults, false, 'a required input has no default')
  })

  test('runs a script under Node 24 like the runner does', async t => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lazarus-stub-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const stub = path.join(dir, 'stub.mjs')
    // inherited runner variables must not leak into the action's environment
    process.env.INPUT_LEAKED = 'x'
    process.env.GITHUB_LEAKED = 'x'
    t.after(() => {
      delete process.env.INPUT_LEAKED
      delete process.env.GITHUB_LEAKED
    })
    await writeFile(
      stub,
      `import { appendFileSync, writeFileSync } from 'node:fs';
       import { join } from 'node:path';
       const report = join(process.env.RUNNER_TEMP, 'report.json');
       writeFileSync(report, JSON.stringify({ node: process.version, url: process.env['INPUT_PRODUCTION-URL'] }));
       appendFileSync(process.env.GITHUB_OUTPUT, 'result=verified\\nreport-path=' + report + '\\n');
       appendFileSync(process.env.GITHUB_OUTPUT, 'inputs<<EOF_1\\n' + Object.keys(process.env).filter(k => /^(INPUT|GITHUB|ACTIONS)_/.test(k)).sort().join('\\n') + '\\nEOF_1\\n');
       appendFileSync(process.env.GITHUB_STEP_SUMMARY, '# Hello\\n');
       console.log('log line');
       console.error('err line');
       process.exit(3);`
    )
    const run = await runAction(
      { 'production-url': 'postgresql://app@db/shop', verify: 'counts' },
      { script: stub, env: { EXTRA: '1' } }
    )
    assert.equal(run.exitCode, 3)
    assert.equal(run.stdout, 'log line\n')
    assert.equal(run.stderr, 'err line\n')
    assert.equal(run.outputs.result, 'verified')
    assert.equal(run.summary, '# Hello\n')
    assert.match(run.report.node, /^v24\./)
    assert.equal(run.report.url, 'postgresql://app@db/shop')
    assert.ok(run.outputs['report-path']?.startsWith(run.runnerTemp))
    const seen = run.outputs.inputs?.split('\n') ?? []
    for (const k of [
      'INPUT_PRODUCTION-URL',
      'INPUT_VERIFY',
      'INPUT_SABOTAGE',
      'INPUT_CLEANROOM-PASSWORD',
      'GITHUB_OUTPUT',
      'GITHUB_STEP_SUMMARY'
    ]) {
      assert.ok(seen.includes(k), `missing ${k} in ${seen.join(',')}`)
    }
    assert.ok(!seen.includes('INPUT_CLEANROOM-URL'), 'required input without default must stay unset')
    assert.ok(!seen.includes('INPUT_LEAKED') && !seen.includes('GITHUB_LEAKED'), 'inherited INPUT_/GITHUB_ vars leaked')
    assert.ok(node24Path.endsWith('/bin/node'))
  })
})
