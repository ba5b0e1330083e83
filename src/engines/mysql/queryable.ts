/**
 * What the SQL modules of this folder need of a session: statements with `?` parameters, rows as
 * objects of strings (numbers and dates come back as their text, never as lossy JS numbers).
 * Implemented by database.ts, the only module that speaks to the server.
 */
export interface MysqlQueryable {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query<T extends Record<string, any> = Record<string, any>>(sql: string, params?: unknown[]): Promise<T[]>
}
