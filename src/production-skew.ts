import type { Queryable } from './queryable.js'
import { productionSkewChecks, type ProductionSkewCheck } from './skew-catalogue.js'

/** One catalogue check that found objects in production, with their names. */
export interface ProductionSkewFinding {
  check: ProductionSkewCheck
  names: string[]
}

/**
 * Runs every check of the version-skew catalogue (skew-catalogue.ts) that applies from
 * production's major to the clean room's, in production's snapshot and read-only; each under
 * `withSavepoint`, so a check cannot end the snapshot the dump is taken from.
 */
export async function findProductionSkew(
  production: Queryable & { withSavepoint<T>(work: () => Promise<T>): Promise<T> },
  majors: { production: number; cleanroom: number },
  include: (check: ProductionSkewCheck) => boolean = () => true
): Promise<ProductionSkewFinding[]> {
  const findings: ProductionSkewFinding[] = []
  for (const check of productionSkewChecks(majors.production, majors.cleanroom).filter(include)) {
    const rows = await production.withSavepoint(() => production.query<{ name: string }>(check.sql))
    if (rows.length > 0) findings.push({ check, names: rows.map(row => row.name) })
  }
  return findings
}
