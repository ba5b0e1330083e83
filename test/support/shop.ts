import { readFileSync } from 'node:fs'
import path from 'node:path'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from './shared-servers.js'
import { repoRoot } from './run-action.js'

/** A fresh copy of the shop fixture on the shared production server, and how to point Lazarus at it. */
export interface Shop {
  production: Cluster
  cleanroom: Cluster
  /** The database's name on the production server. */
  database: string
  /** Inputs for a run against `database` (default: the shop), passwords in their own inputs, plus `extra`. */
  inputs(extra?: Record<string, string>, database?: string): Record<string, string>
}

export const SHOP_SQL = readFileSync(path.join(repoRoot, 'test/fixtures/shop.sql'), 'utf8')

/** Creates `<prefix>_…` from test/fixtures/shop.sql (and `extraSql` after it) on the shared production server. */
export async function createShop(prefix = 'shop', extraSql = ''): Promise<Shop> {
  const [production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  const database = uniqueName(prefix)
  await production.createDatabase(database, SHOP_SQL + extraSql)
  return {
    production,
    cleanroom,
    database,
    inputs: (extra = {}, target = database) => ({
      'production-url': production.url(target, { password: null }),
      'production-password': production.password,
      'cleanroom-url': cleanroom.url('postgres', { password: null }),
      'cleanroom-password': cleanroom.password,
      ...extra
    })
  }
}

/**
 * A database whose restore takes seconds without a big dump: the index below is built row by row
 * on restore, and its function sleeps a little per row when it runs in a Lazarus scratch database
 * (production built the index without sleeping). The rows come from generate_series. Used by the
 * tests that must act while a restore runs (cancellation, kills, faults).
 */
export const SLOW_RESTORE_SQL = `
CREATE FUNCTION public.slow_key(n integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF current_database() LIKE 'lazarus\\_%' THEN PERFORM pg_sleep(0.002); END IF;
  RETURN n;
END $$;
CREATE TABLE public.events (id integer PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL);
INSERT INTO public.events SELECT g, md5(g::text), '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 4000) g;
CREATE INDEX events_slow_key ON public.events (public.slow_key(id));
`
