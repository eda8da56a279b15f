import { sql, type Kysely } from 'kysely';

// Merges are reversible (docs/design.md §3): each merge of a stored customer keeps what an
// admin needs to undo it, and each undo is recorded.
//
// `identity_merges` gains, for a merge that moved a stored customer into another:
// - `merged_customer`: the merged-away customer's row as it was (traits, trait timestamps,
//   trait sources, first and last seen, identified at), to create it again;
// - `survivor_before`: the same of the customer it merged into, as it was before the merging
//   batch (null when that customer was new in the batch), to take back what it gained;
// - `moved_identities`: the identities (kind, value) that moved; `moved_event_ids`: the ids of
//   the events that moved. Both are gathered by the statement that moves them, so a merge costs
//   one more round trip of nothing and no second scan however many events the customer has.
// Rows written before this migration, and re-links, have none of these: they cannot be undone.
//
// `identity_merge_undos` has one row per undone merge (at most one: the primary key): when,
// through which channel, by whom, and how much moved back. Forgetting a customer deletes the
// merges naming it, their undo rows with them.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table identity_merges
      add column merged_customer jsonb,
      add column survivor_before jsonb,
      add column moved_identities jsonb,
      add column moved_event_ids bigint[];
    comment on column identity_merges.merged_customer is 'The merged-away customer row as it was (for undo).';
    comment on column identity_merges.survivor_before is 'The surviving customer row before the merge; null when it was new (for undo).';
    comment on column identity_merges.moved_identities is 'The identities (kind, value) the merge moved (for undo).';
    comment on column identity_merges.moved_event_ids is 'The ids of the events the merge moved (for undo).';

    create table identity_merge_undos (
      merge_id bigint primary key references identity_merges (id) on delete cascade,
      undone_at timestamptz not null default now(),
      -- How the undo was asked for: 'cli' or 'admin_api'; and who asked, if known.
      channel text not null,
      actor text,
      identities_moved integer not null,
      events_moved integer not null
    );
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table identity_merge_undos;
    alter table identity_merges
      drop column merged_customer,
      drop column survivor_before,
      drop column moved_identities,
      drop column moved_event_ids;
  `.execute(db);
}
