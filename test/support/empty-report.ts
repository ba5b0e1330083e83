import type { Report } from '../../src/report/report.js'
import type { VerifyLevel } from '../../src/verification/compare.js'

/** The report a run starts from (as action/main.ts builds it): production's database named, nothing established yet. */
export function emptyReport(database: string, verify: VerifyLevel = 'checksums'): Report {
  return {
    result: 'error',
    verify,
    production: { server: 'production', database },
    cleanroom: { server: 'cleanroom' },
    sanitized: [],
    tables: [],
    sabotage: [],
    timings: {},
    startedAt: new Date().toISOString()
  }
}
