import type { CheckDialect } from '../types.js'
import { parseRecordText } from './check-queries.js'
import { queryShape, scanSql, UnterminatedError } from './sql-scan.js'

/**
 * PostgreSQL's SQL for the user's checks (the `userChecks` capability's dialect): its lexer
 * (sql-scan.ts) splits a checks file and reads a query's shape, and record_out's text
 * (check-queries.ts parseRecordText) gives a row's values back for display.
 */
export const checkDialect: CheckDialect = {
  scan(text) {
    try {
      return { tokens: scanSql(text) }
    } catch (error) {
      if (error instanceof UnterminatedError) return { unterminated: { message: error.message, start: error.start } }
      throw error
    }
  },
  shape: queryShape,
  rowValues: parseRecordText
}
