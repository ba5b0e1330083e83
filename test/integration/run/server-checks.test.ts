import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkServers, type CheckedServers } from '../../../src/run/server-checks.js'
import { ENGINES } from '../../support/engines.js'
import { inRun } from '../../support/in-run.js'

// One checkServers for every engine (issue 14): both servers read through the seam's facts(),
// what differs asked of the engine. Each engine's report fields and log lines stay its own:
// PostgreSQL's client tools under their names (report.tools), no product (report.engine), its
// restore rights said later; MySQL/MariaDB's programs by what they do (report.programs), the
// product the server names, the restore's account said here. Every restore's location check
// names the clean room as the guard identified it.

/** The checks before the dump, alone, in a run context against the engine's shared servers. */
async function checkedServers(inputs: Record<string, string>) {
  let checked: CheckedServers | undefined
  let identity: unknown
  const { output, report } = await inRun(inputs, async context => {
    checked = await checkServers(context)
    identity = context.cleanroomIdentity
  })
  assert.ok(checked, 'the checks ran')
  return { checked, report, identity, output }
}

for (const engine of ENGINES) {
  test(`${engine.name}: one checkServers records both servers, the client programs and the clean room's identity in the engine's words`, async () => {
    const shop = await engine.shop('server_checks')
    const { checked, report, identity, output } = await checkedServers(shop.inputs())
    const { production, cleanroom } = checked
    assert.equal(report.production.serverVersion, production.version)
    assert.equal(report.cleanroom.serverVersion, cleanroom.version)
    assert.ok(
      output.includes(`Production: ${production.product} ${production.version} at `) && output.includes('(read-only session)'),
      output
    )
    assert.ok(output.includes(`Clean room: ${cleanroom.product} ${cleanroom.version} at `), output)
    // What the location check of every restore compares: the clean room, never production.
    assert.deepEqual(identity, cleanroom.instance)
    assert.notDeepEqual(identity, production.instance)
    if (engine.name === 'PostgreSQL') {
      assert.equal(production.product, 'PostgreSQL')
      assert.equal(report.engine, undefined, "PostgreSQL's report names no product")
      assert.equal(report.programs, undefined)
      assert.match(report.tools?.pg_dump?.path ?? '', /\/pg_dump$/)
      assert.match(report.tools?.psql?.path ?? '', /\/psql$/)
      assert.deepEqual(Object.keys(report.tools ?? {}).sort(), ['pg_dump', 'psql'])
      assert.match(output, /Client tools: pg_dump \S+ \(\S+\/pg_dump\), psql \S+ \(\S+\/psql\)/)
      assert.doesNotMatch(output, /restore-role applies/)
      // PostgreSQL's instance is its cluster identity, as the location check reads it.
      assert.deepEqual(Object.keys(cleanroom.instance).sort(), ['port', 'startedAt', 'systemIdentifier'])
    } else {
      assert.equal(report.engine, 'MariaDB')
      assert.equal(report.tools, undefined)
      assert.match(report.programs?.dump.name ?? '', /^(mariadb-dump|mysqldump)$/)
      assert.match(report.programs?.restore.name ?? '', /^(mariadb|mysql)$/)
      assert.match(output, /Client programs: (mariadb-dump|mysqldump) \S+ \(\S+\), (mariadb|mysql) \S+ \(\S+\)/)
      assert.match(output, /The restore runs as the clean-room account \(restore-role applies to PostgreSQL only\)\./)
    }
  })
}
