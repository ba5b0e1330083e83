import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { quoteIdent } from '../../src/engines/postgres/figure-queries.js'
import {
  errorAnnotations,
  explain,
  runActionProcess,
  runPostStep,
  startAction,
  workspaceRunIds
} from '../support/action-process.js'
import { createShop, type Shop } from '../support/shop.js'
import { uniqueName } from '../support/shared-servers.js'

// Issue 10's family: production's code never runs with the clean room's superuser rights. A
// production user WITHOUT superuser rights plants code that tries to run a shell command on the
// clean-room host (COPY ... TO PROGRAM) wherever a restore executes production-authored code.
// In production nothing happens (not a superuser); restored by a superuser, it would. Lazarus
// restores as a role of its own that logs in without any right beyond the scratch database.

const tag = uniqueName('pwn')
const attacker = `${tag}_attacker`
const marker = (kind: string) => `/tmp/lazarus-pwned-${tag}-${kind}`
const KINDS = ['check', 'domain', 'generated', 'index', 'predicate', 'exclusion', 'matview', 'definer', 'superuser-check']

/**
 * Each member of the family, authored by `attacker` (no superuser rights): the function tries the
 * shell command and swallows the refusal, so the restore goes on either way and only the rights
 * it runs with decide whether the marker file appears. `superuser-check` is the lead's exact form.
 */
const ATTACK_SQL = `
CREATE EXTENSION citext;
CREATE TABLE public.t_citext (name citext PRIMARY KEY);
INSERT INTO public.t_citext VALUES ('Ab'), ('cD');
CREATE ROLE ${quoteIdent(attacker)} LOGIN;
GRANT CREATE ON SCHEMA public TO ${quoteIdent(attacker)};
SET ROLE ${quoteIdent(attacker)};
CREATE FUNCTION public.pwn_volatile(kind text) RETURNS void LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  EXECUTE pg_catalog.format('COPY (SELECT 1) TO PROGRAM %L', 'touch /tmp/lazarus-pwned-${tag}-' || kind);
EXCEPTION WHEN insufficient_privilege THEN NULL;
END $fn$;
CREATE FUNCTION public.pwn(kind text, n int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $fn$
BEGIN
  -- An index expression must be immutable, and an immutable function may not run COPY itself:
  -- it calls a volatile one that does.
  PERFORM public.pwn_volatile(kind);
  RETURN true;
END $fn$;
CREATE FUNCTION public.f(int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN
  IF current_setting('is_superuser') = 'on' THEN
    PERFORM public.pwn_volatile('superuser-check');
  END IF; RETURN true; END $$;
CREATE FUNCTION public.pwn_definer(n int) RETURNS boolean LANGUAGE sql IMMUTABLE SECURITY DEFINER
  AS $$ SELECT public.pwn('definer', n) $$;
CREATE TABLE public.t_plain (id int CHECK (public.f(id)));
INSERT INTO public.t_plain VALUES (1);
CREATE TABLE public.t_check (id int PRIMARY KEY CHECK (public.pwn('check', id)));
INSERT INTO public.t_check VALUES (1), (2);
CREATE DOMAIN public.d_pwn AS int CHECK (public.pwn('domain', VALUE));
CREATE TABLE public.t_domain (id public.d_pwn);
INSERT INTO public.t_domain VALUES (1);
CREATE TABLE public.t_generated (id int, g boolean GENERATED ALWAYS AS (public.pwn('generated', id)) STORED);
INSERT INTO public.t_generated (id) VALUES (1);
CREATE TABLE public.t_index (id int);
INSERT INTO public.t_index VALUES (1);
CREATE INDEX t_index_expr ON public.t_index ((public.pwn('index', id)));
CREATE INDEX t_index_pred ON public.t_index (id) WHERE public.pwn('predicate', id);
CREATE TABLE public.t_exclusion (id int, EXCLUDE USING btree ((public.pwn('exclusion', id) AND id > 0) WITH =));
INSERT INTO public.t_exclusion VALUES (1);
CREATE MATERIALIZED VIEW public.mv AS SELECT public.pwn('matview', 1) AS x;
CREATE TABLE public.t_definer (id int CHECK (public.pwn_definer(id)));
INSERT INTO public.t_definer VALUES (1);
RESET ROLE;
`

let shop: Shop

function markersFound(): string[] {
  return KINDS.filter(kind => existsSync(marker(kind)))
}

function removeMarkers(): void {
  for (const kind of KINDS) rmSync(marker(kind), { force: true })
}

before(async () => {
  removeMarkers()
  shop = await createShop('rights', ATTACK_SQL)
})

after(async () => {
  removeMarkers()
  await shop.production.query(`DROP DATABASE IF EXISTS ${quoteIdent(shop.database)}`).catch(() => undefined)
  await shop.production.query(`DROP ROLE IF EXISTS ${quoteIdent(attacker)}`).catch(() => undefined)
})

/** Roles of one run (by its run id) left in the clean room. */
async function runRoles(runIds: string[]): Promise<string[]> {
  const rows = await shop.cleanroom.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'lazarus\\_%'`)
  return rows.map(row => row.rolname).filter(name => runIds.some(id => name.includes(id)))
}

// The same database holds a trusted extension (citext), which the unprivileged role creates itself.
test('production code planted in checks, domains, generated columns, indexes, exclusion constraints, matviews and SECURITY DEFINER functions never runs as superuser', async () => {
  const run = await runActionProcess(shop.inputs({ verify: 'checksums', amcheck: 'true', sabotage: 'mutate-cell' }))
  assert.deepEqual(markersFound(), [], `no production code ran with superuser rights\n${explain(run)}`)
  assert.equal(run.outputs.result, 'verified', explain(run))
  assert.equal(run.exitCode, 0, explain(run))
  // The drill's copy restored the same way.
  assert.equal(run.report.sabotage[0].detected, true, explain(run))
  assert.equal(run.report.restoreRights.superuser, false, explain(run))
  assert.match(run.report.restoreRights.role, /^lazarus_restore_/)
  assert.match(run.stdout, /The restore runs as lazarus_restore_\w+, a role without superuser rights/)
  assert.match(run.summary, /Restore rights/)
  assert.deepEqual(await runRoles(workspaceRunIds(run.runnerTemp)), [], 'the restore role is dropped at the end')
})

test('restore-role: superuser restores with the clean-room role, and says so (production code then runs with its rights)', async () => {
  const run = await runActionProcess(shop.inputs({ verify: 'counts', 'restore-role': 'superuser' }))
  try {
    assert.equal(run.outputs.result, 'verified', explain(run))
    assert.equal(run.report.restoreRights.superuser, true, explain(run))
    assert.match(run.stdout, /::warning.*The restore runs as postgres, a superuser/)
    // What the default prevents: the same dump restored by a superuser runs the planted code. (It
    // then restores owners too, so index expressions and materialized views run as their owner.)
    assert.deepEqual(markersFound(), ['check', 'domain', 'generated', 'superuser-check'], explain(run))
  } finally {
    removeMarkers()
  }
})

test('the post step drops the restore role after main was killed (kill -9)', async () => {
  const action = await startAction(shop.inputs({ verify: 'counts' }))
  await action.waitForOutput(/The restore runs as lazarus_restore_/, 120_000)
  action.child.kill('SIGKILL')
  const main = await action.finished
  assert.equal(main.signal, 'SIGKILL')
  const runIds = workspaceRunIds(main.runnerTemp)
  assert.ok(JSON.parse(main.state['lazarus-restore-role'] ?? 'null'), 'main recorded its restore role for the post step')
  const post = await runPostStep(shop.inputs({ verify: 'counts' }), main)
  assert.equal(post.exitCode, 0, explain(post))
  assert.deepEqual(errorAnnotations(post.stdout), [], explain(post))
  assert.deepEqual(await runRoles(runIds), [], 'the post step dropped the restore role')
  assert.deepEqual(
    readdirSync('/tmp').filter(name => name.startsWith(`lazarus-pwned-${tag}`)),
    [],
    'nothing ran as superuser meanwhile'
  )
})
