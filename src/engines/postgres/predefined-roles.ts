/**
 * PostgreSQL's predefined roles (src/include/catalog/pg_authid.dat of each release), with the
 * major that brought each. No one may create a role named `pg_*`, so a production newer than the
 * clean room can name a predefined role (owner of a schema, grantee of a GRANT) that the clean
 * room neither has nor can create. Such a role is played by a stand-in (cleanroom-roles.ts): a
 * Lazarus role without rights that the replayed statements name in its place and that is read
 * back under the predefined role's name, so owners and ACLs are compared by name, as they are
 * for every other role. What the predefined role implies (pg_read_all_data reads every table)
 * is a property of the server, not of the backup: the stand-in has none of it. Pure.
 */
export const PREDEFINED_ROLES: Readonly<Record<string, number>> = {
  pg_signal_backend: 9,
  pg_monitor: 10,
  pg_read_all_settings: 10,
  pg_read_all_stats: 10,
  pg_stat_scan_tables: 10,
  pg_read_server_files: 11,
  pg_write_server_files: 11,
  pg_execute_server_program: 11,
  pg_database_owner: 14,
  pg_read_all_data: 14,
  pg_write_all_data: 14,
  pg_checkpoint: 15,
  pg_use_reserved_connections: 16,
  pg_create_subscription: 16,
  pg_maintain: 17,
  pg_signal_autovacuum_worker: 18
}

/** Whether a role name is in the namespace reserved for predefined roles (CREATE ROLE refuses it). */
export function isReservedRoleName(name: string): boolean {
  return name.startsWith('pg_')
}

/** The predefined roles a server of `major` lacks (those of newer majors), sorted. */
export function predefinedRolesNewerThan(major: number): string[] {
  return Object.entries(PREDEFINED_ROLES)
    .filter(([, since]) => since > major)
    .map(([name]) => name)
    .sort()
}
