import { sql, type Kysely } from 'kysely';

/** A privilege clause as `grant` takes it: `select on customer_revenue`, `execute on function f(text)`. */
export type Privilege = string;

/**
 * Grants what a migration creates to Tally's roles (see migration 20261201T1100-roles),
 * when the three roles exist: a server where the collector may not create roles has none,
 * and its administrator runs the grants by hand (docs/sql.md, "Access by data category").
 * `tally_admin` needs nothing: it holds every table and function by default privileges.
 *
 * @example
 * await grantToRoles(db, { tally_analyst: ['select on revenue_by_day'], tally_marketer: ['select on revenue_by_day'] });
 */
export async function grantToRoles(db: Kysely<any>, grants: Partial<Record<'tally_analyst' | 'tally_marketer', Privilege[]>>): Promise<void> {
  const statements = Object.entries(grants).flatMap(([role, privileges]) =>
    (privileges ?? []).map((privilege) => `grant ${privilege} to ${role};`),
  );
  if (statements.length === 0) return;
  await sql
    .raw(
      `do $do$
       begin
         if (select count(*) from pg_roles where rolname in ('tally_admin', 'tally_marketer', 'tally_analyst')) < 3 then
           return;
         end if;
         ${statements.join('\n         ')}
       end
       $do$;`,
    )
    .execute(db);
}
