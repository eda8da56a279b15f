import { sql, type Kysely } from 'kysely';

/**
 * `segment_memberships` (and so the `segments` column of `customer_profiles`) leaves out a
 * saved segment whose definition fails when it runs, with a warning that names the segment
 * and the database's message, instead of failing for every customer. A definition checked
 * when it was stored can stop running later (a table it reads dropped, a trait it casts
 * holding a value that does not cast): one broken segment then hid every profile's segments.
 * `segment_members` and `segment_counts` of that segment still fail with the message, and
 * the dashboard's Segments page shows it on the segment's own row.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(membershipsFunction(`
        begin
          return query select s.name, m.customer_id from segment_members(s.name) m;
        exception when others then
          raise warning 'segment_memberships: the segment % is left out, its definition fails: %', s.name, sqlerrm;
        end;`)).execute(db);
}

/** Puts back the function of 20261202T1110-segments, which fails with the first definition that does. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw(membershipsFunction(`
        return query select s.name, m.customer_id from segment_members(s.name) m;`)).execute(db);
}

/** `tally_segment_memberships()`, which the view `segment_memberships` reads: `each` runs for every saved segment `s`. */
function membershipsFunction(each: string): string {
  return `
    create or replace function tally_segment_memberships()
    returns table (segment text, customer_id uuid)
    language plpgsql stable as $fn$
    declare
      s record;
    begin
      for s in select name from segments order by name loop${each}
      end loop;
    end
    $fn$;`;
}
