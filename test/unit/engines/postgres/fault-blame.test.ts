import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { conninfo, parseConnectionUrl } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { compareExtensions, missingExtensionsError } from '../../../../src/engines/postgres/extensions.js'
import { FileHistoryStore } from '../../../../src/report/history.js'
import { blamesCleanroom, isEnvironmentSqlState, withoutVerboseDetail } from '../../../../src/engines/postgres/fault-classes.js'
import {
  cleanroomRestoreError,
  dumpLockTimedOut,
  productionDumpError,
  streamDiskFullError,
  withTcpSafeguards
} from '../../../../src/engines/postgres/pg-tools.js'

// Which failures are the backup's and which the servers', from psql's and pg_dump's real output
// (the e2e tests in test/e2e/faults.test.ts produce each of them against real servers).

const cleanroom = parseConnectionUrl('cleanroom-url', 'postgresql://postgres@10.0.0.2:5433/lazarus_x_backup')
const production = parseConnectionUrl('production-url', 'postgresql://app@10.0.0.1:5432/shop')
const limits = { lockTimeoutSeconds: 60, serverTimeoutSeconds: 60 }

test('a statement of the dump that fails is the backup failing (exit 3, an error of the data or the SQL)', () => {
  for (const stderr of [
    'psql:<stdin>:120: ERROR:  42P01: relation "x" does not exist\nLOCATION:  parserOpenTable, parse_relation.c:1384',
    'psql:<stdin>:9: ERROR:  23505: duplicate key value violates unique constraint "orders_pkey"\nDETAIL:  Key (id)=(1) already exists.',
    'psql:<stdin>:9: ERROR:  42601: syntax error at or near "CREAT"'
  ]) {
    assert.equal(cleanroomRestoreError(3, stderr, cleanroom), undefined, stderr)
  }
})

test("an error of the clean room's own during the restore is not the backup's, and says what to do", () => {
  const cases: [string, RegExp][] = [
    [
      'psql:<stdin>:20: ERROR:  58P01: could not open extension control file "/usr/share/postgresql/13/extension/postgis.control": No such file or directory',
      /SQLSTATE 58P01\)\. To verify the backup, the clean room lacks an extension or library that production uses: use a clean-room server \(image\) that ships it\.$/
    ],
    [
      'psql:<stdin>:99: ERROR:  53100: could not extend file "base/16384/16385": No space left on device',
      /To verify the backup, free disk space on the clean-room server\.$/
    ],
    ['psql:<stdin>:3: ERROR:  42501: permission denied to create extension "plpython3u"', /a privilege the restore needs/],
    [
      'psql:<stdin>:3: ERROR:  57014: canceling statement due to statement timeout',
      /raise statement_timeout for the clean-room role/
    ]
  ]
  for (const [stderr, hint] of cases) {
    const error = cleanroomRestoreError(3, stderr, cleanroom)
    assert.ok(error, stderr)
    assert.match(
      error.message,
      /^The restore stopped on an error of the clean room \(postgres@10\.0\.0\.2:5433\/lazarus_x_backup, 'cleanroom-url'\), not of the backup: psql:<stdin>:\d+: ERROR: {2}[^0-9]/
    )
    assert.match(error.message, hint)
  }
})

test('psql that cannot connect, loses the connection or fails on its own is never the backup failing', () => {
  const refused =
    'psql: error: connection to server at "10.0.0.2", port 5433 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?'
  assert.match(
    cleanroomRestoreError(2, refused, cleanroom)!.message,
    /^psql could not connect to the clean room \(postgres@10\.0\.0\.2:5433\/lazarus_x_backup, 'cleanroom-url'\), so the backup was not tried: psql: error: connection to server at "10\.0\.0\.2", port 5433 failed: Connection refused/
  )
  assert.match(
    cleanroomRestoreError(2, 'psql: error: invalid URI query parameter: "foo"', cleanroom)!.message,
    /^psql could not connect/
  )
  const lost =
    'psql:<stdin>:40: FATAL:  57P01: terminating connection due to administrator command\npsql:<stdin>:40: error: connection to server was lost'
  assert.match(
    cleanroomRestoreError(2, lost, cleanroom)!.message,
    /^psql lost its connection to the clean room .* during the restore/
  )
  assert.match(
    cleanroomRestoreError(undefined, '', cleanroom)!.message,
    /^psql failed on the clean room .*exit code none: it was killed/
  )
  assert.match(
    cleanroomRestoreError(1, 'psql: error: out of memory', cleanroom)!.message,
    /exit code 1\): psql: error: out of memory/
  )
})

test('SQLSTATE classes: the environment (and locks) apart from the data', () => {
  for (const code of ['08006', '53100', '53200', '57P01', '57014', '58P01', '58030', 'XX000', 'XX001', '55P03']) {
    assert.ok(isEnvironmentSqlState(code), code)
  }
  for (const code of ['42P01', '23505', '22P02', '42601', '42501', undefined, 'nope'])
    assert.ok(!isEnvironmentSqlState(code), String(code))
  assert.ok(blamesCleanroom('42501'), 'a missing privilege on the clean room is the clean room')
  assert.equal(
    withoutVerboseDetail(
      'psql:<stdin>:1: ERROR:  42P01: relation "x" does not exist\nLOCATION:  parserOpenTable, parse_relation.c:1384'
    ),
    'psql:<stdin>:1: ERROR:  relation "x" does not exist'
  )
})

test("pg_dump's lock timeouts and connection failures name production and what to change", () => {
  const locked =
    'pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout\npg_dump: detail: Query was: LOCK TABLE public.orders IN ACCESS SHARE MODE'
  assert.match(
    productionDumpError(locked, production, { ...limits, lockTimeoutSeconds: 5 })!.message,
    /^pg_dump waited 5 s for a lock on table public\.orders on production \(app@10\.0\.0\.1:5432\/shop, 'production-url'\): .* raise 'lock-timeout-seconds' to wait longer\.$/
  )
  assert.match(
    productionDumpError(
      'pg_dump: error: connection to server at "10.0.0.1", port 5432 failed: Connection refused',
      production,
      limits
    )!.message,
    /^pg_dump could not connect to production \(app@10\.0\.0\.1:5432\/shop, 'production-url'\)/
  )
  assert.match(
    productionDumpError(
      'pg_dump: error: Dumping the contents of table "t" failed: server closed the connection unexpectedly',
      production,
      limits
    )!.message,
    /^pg_dump lost its connection to production/
  )
  assert.equal(
    productionDumpError('pg_dump: error: query failed: ERROR:  permission denied for table secrets', production, limits),
    undefined
  )
})

test("a batched LOCK TABLE that timed out names the table another session holds, else the batch's first tables", () => {
  const batch =
    'pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout\n' +
    'pg_dump: detail: Query was: LOCK TABLE public.a, public."odd, name", sales.orders, public.b, public.c, public.d IN ACCESS SHARE MODE'
  assert.deepEqual(dumpLockTimedOut(batch), [
    'public.a',
    'public."odd, name"',
    'sales.orders',
    'public.b',
    'public.c',
    'public.d'
  ])
  const held = [
    { kind: 'table', name: 'sales.orders' },
    { kind: 'table', name: 'other.unrelated' }
  ]
  assert.match(
    productionDumpError(batch, production, limits, held)!.message,
    /^pg_dump waited 60 s for a lock on table sales\.orders on production/
  )
  assert.match(
    productionDumpError(batch, production, limits, [])!.message,
    /for a lock on one of the tables public\.a, public\."odd, name", sales\.orders, public\.b, public\.c, \.\.\. on production/
  )
  // The tail of stderr that Lazarus keeps may have cut a long batch's start: the names left count.
  assert.deepEqual(
    dumpLockTimedOut(
      'ders, public.b IN ACCESS SHARE MODE\npg_dump: error: query failed: ERROR:  canceling statement due to lock timeout'
    ),
    ['public.b']
  )
  assert.equal(dumpLockTimedOut('pg_dump: error: query failed: ERROR:  permission denied for table secrets'), undefined)
})

test('a full disk in the stream names the file that filled it, whichever program wrote it', () => {
  const files = {
    '/tmp/w/backup.sql': { what: 'the copy of the dump', dumpSized: true },
    '/tmp/w/sanitize-removed.sql': { what: 'the lines it removed from the dump', dumpSized: false },
    '/tmp/w/stream.sh': { what: "the stream's status file", dumpSized: false }
  }
  assert.match(
    streamDiskFullError("/usr/bin/sed: couldn't write 61 items to /tmp/w/backup.sql: No space left on device", files)!.message,
    /^The disk filled up while sed was writing the copy of the dump to \/tmp\/w \(.*With sabotage or upload-dump, a run keeps a copy/
  )
  assert.match(
    streamDiskFullError("sed: couldn't write 3 items to /tmp/w/sanitize-removed.sql: No space left on device", files)!.message,
    /while sed was writing the lines it removed from the dump to \/tmp\/w .*Besides the copies of the dump/
  )
  assert.match(
    streamDiskFullError('/tmp/w/stream.sh: line 6: echo: write error: No space left on device', files)!.message,
    /while the stream was writing the stream's status file to \/tmp\/w/
  )
  assert.equal(streamDiskFullError('psql:<stdin>:1: ERROR:  syntax error', files), undefined)
  // The clean room's own full disk, as psql relays it: the server's, for cleanroomRestoreError to blame.
  const serverFull = 'psql:<stdin>:99: ERROR:  53100: could not extend file "base/16384/16385": No space left on device'
  assert.equal(streamDiskFullError(serverFull, files), undefined)
  assert.match(cleanroomRestoreError(3, serverFull, cleanroom)!.message, /free disk space on the clean-room server\.$/)
})

test('extensions: a missing one fails before the dump, another version is a difference of the servers', () => {
  const check = compareExtensions(
    [
      { name: 'adminpack', version: '2.1' },
      { name: 'hstore', version: '1.7' },
      { name: 'plpgsql', version: '1.0' },
      { name: 'postgis', version: '3.4.2' },
      { name: 'citext', version: '1.6' }
    ],
    [
      { name: 'hstore', defaultVersion: '1.8', versions: ['1.4', '1.5', '1.6', '1.7', '1.8'] },
      { name: 'plpgsql', defaultVersion: '1.0', versions: ['1.0'] },
      { name: 'citext', defaultVersion: '1.5', versions: ['1.4', '1.5'] }
    ]
  )
  assert.deepEqual(
    check.missing.map(extension => extension.name),
    ['adminpack', 'postgis']
  )
  assert.deepEqual(check.differences, [
    {
      kind: 'extension',
      name: 'hstore',
      production: '1.7',
      cleanroom: '1.8',
      detail: "the dump's CREATE EXTENSION installs the clean room's default version 1.8, not production's 1.7"
    },
    {
      kind: 'extension',
      name: 'citext',
      production: '1.6',
      cleanroom: '1.5',
      detail: "the clean room cannot install production's version 1.6 (it offers 1.4, 1.5) and installs 1.5"
    }
  ])
  assert.match(
    missingExtensionsError(check.missing, cleanroom).message,
    /lacks extension\(s\) that production uses: adminpack 2\.1, postgis 3\.4\.2; it offers no version of them.*\(for postgis: an image such as postgis\/postgis\)/
  )
})

test("libpq's TCP safeguards follow the server timeout, reach pg_dump's and psql's conninfo, and never override the user's own", () => {
  const guarded = withTcpSafeguards(production, { ...limits, serverTimeoutSeconds: 30 })
  assert.deepEqual(guarded.tuning, {
    keepalives: '1',
    keepalives_idle: '10',
    keepalives_interval: '3',
    keepalives_count: '3',
    tcp_user_timeout: '30000'
  })
  assert.match(
    conninfo(guarded),
    / keepalives='1' keepalives_idle='10' keepalives_interval='3' keepalives_count='3' tcp_user_timeout='30000'$/
  )
  // The description the user gave is left as it was: the safeguards are Lazarus's, per program.
  assert.deepEqual(production.tuning, {})
  const own = parseConnectionUrl('production-url', 'postgresql://app@db:5432/shop?keepalives_idle=5&tcp_user_timeout=0')
  const kept = withTcpSafeguards(own, limits).tuning
  assert.equal(kept.keepalives_idle, '5')
  assert.equal(kept.tcp_user_timeout, '0')
  assert.equal(kept.keepalives_count, '3')
})

test('a full disk while saving the run history names the directory and the fix', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-history-full-'))
  try {
    const file = path.join(dir, 'history.json')
    // /dev/full answers every write with ENOSPC, as a full disk does.
    symlinkSync('/dev/full', `${file}.${process.pid}.tmp`)
    await assert.rejects(
      new FileHistoryStore(file, 'db').save({ version: 1, databaseId: 'db', runs: [] }),
      new RegExp(
        `^Error: the disk filled up while Lazarus was writing it to ${dir} \\(No space left on device\\): free disk space on the runner`
      )
    )
    assert.deepEqual(readdirSync(dir), [], 'nothing half-written is left')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test(
  'a server that accepts a connection and then answers nothing fails within the connect timeout, naming it',
  { timeout: 20_000 },
  async () => {
    // Speaks just enough of the protocol to let the client in (authentication ok, a backend key,
    // ready for query), then stays silent, as a server frozen right after accepting would.
    const sockets = new Set<net.Socket>()
    const server = net.createServer(socket => {
      sockets.add(socket)
      let buffered = Buffer.alloc(0)
      let started = false
      socket.on('error', () => undefined)
      socket.on('data', chunk => {
        if (started) return
        buffered = Buffer.concat([buffered, chunk])
        if (buffered.length < 8 || buffered.length < buffered.readInt32BE(0)) return
        const code = buffered.readInt32BE(4)
        buffered = buffered.subarray(buffered.readInt32BE(0))
        // SSLRequest or GSSENCRequest: refused, the client goes on without.
        if (code === 80877103 || code === 80877104) return void socket.write('N')
        started = true
        const message = (type: string, body: Buffer) => {
          const head = Buffer.alloc(5)
          head.write(type, 0, 'latin1')
          head.writeInt32BE(body.length + 4, 1)
          return Buffer.concat([head, body])
        }
        const key = Buffer.alloc(8)
        key.writeInt32BE(4242, 0)
        socket.write(Buffer.concat([message('R', Buffer.alloc(4)), message('K', key), message('Z', Buffer.from('I', 'latin1'))]))
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    try {
      const target = parseConnectionUrl(
        'production-url',
        `postgresql://app@127.0.0.1:${port}/shop?sslmode=disable&connect_timeout=2`
      )
      const started = performance.now()
      await assert.rejects(
        DatabaseSession.open(target, 'production'),
        new RegExp(
          `^UserError: The server at 127\\.0\\.0\\.1:${port} \\('production-url'\\) accepted the connection but answered nothing within 2 s`
        )
      )
      assert.ok(performance.now() - started < 10_000, 'bounded by the connect timeout')
    } finally {
      for (const socket of sockets) socket.destroy()
      server.close()
    }
  }
)
