/**
 * What a module needs to run SQL without importing `pg` itself: database.ts stays the only
 * module that talks to PostgreSQL, and logic that needs queries takes one of these.
 */
export interface Queryable {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query<T extends Record<string, any> = Record<string, any>>(sql: string, params?: unknown[]): Promise<T[]>
}
