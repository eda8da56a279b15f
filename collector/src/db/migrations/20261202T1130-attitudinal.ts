import { sql, type Kysely } from 'kysely';
import { grantToRoles } from '../role-grants.js';

/**
 * What people say beside what they do (docs/sql.md, "Surveys, NPS, CSAT and CES"), over
 * `Survey Responded` and `Feedback Submitted`:
 *
 * - `survey_scores`: one row per scored answer, without the free-text comment;
 *   `survey_responses`: the same with the comment (personal data: marketers only).
 * - `nps(since, until, period)`, `nps_by_segment(since, until)`,
 *   `satisfaction_scores(since, until, period)` (CSAT and CES).
 * - `customer_latest_scores`: each customer's latest NPS, CSAT and CES.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- A score outside its scale's range (possible only in events stored before the schema
    -- checked it) is left out rather than skewing the averages.
    create view survey_responses as
    select e.id as event_id, e.customer_id, e."timestamp" as responded_at, e.event,
           e.properties ->> 'survey_id' as survey_id, e.properties ->> 'question_id' as question_id,
           e.properties ->> 'scale' as scale, json_number(e.properties -> 'score') as score,
           e.properties ->> 'comment' as comment
      from events e
     where e.event in ('Survey Responded', 'Feedback Submitted')
       and case e.properties ->> 'scale'
             when 'nps' then json_number(e.properties -> 'score') between 0 and 10
             when 'csat' then json_number(e.properties -> 'score') between 1 and 5
             when 'ces' then json_number(e.properties -> 'score') between 1 and 7
             else false
           end;

    create view survey_scores as
    select event_id, customer_id, responded_at, event, survey_id, question_id, scale, score from survey_responses;

    create function tally_check_period(period text, caller text) returns void
    language plpgsql immutable as $fn$
    begin
      if period is null or period not in ('day', 'week', 'month', 'quarter', 'year') then
        raise exception '%: period must be day, week, month, quarter or year, got %', caller, period using errcode = '22023';
      end if;
    end
    $fn$;

    -- Net Promoter Score per period (UTC): each customer's latest NPS answer in the period
    -- counts once; promoters answer 9–10, detractors 0–6; NPS = 100 × (promoters −
    -- detractors) / answers.
    create function nps(since timestamptz, until timestamptz, period text default 'month')
    returns table (period_start date, responses bigint, promoters bigint, passives bigint, detractors bigint, nps numeric)
    language plpgsql stable as $fn$
    begin
      perform tally_check_range(since, until, 'nps');
      perform tally_check_period(period, 'nps');
      return query
      select l.period_start, count(*), count(*) filter (where l.score >= 9), count(*) filter (where l.score between 7 and 8),
             count(*) filter (where l.score <= 6),
             round(100.0 * (count(*) filter (where l.score >= 9) - count(*) filter (where l.score <= 6)) / count(*), 1)
        from (select distinct on (s.customer_id, date_trunc(period, s.responded_at at time zone 'UTC'))
                     date_trunc(period, s.responded_at at time zone 'UTC')::date as period_start, s.score
                from survey_scores s
               where s.scale = 'nps' and s.responded_at >= since and s.responded_at < until and s.customer_id is not null
               order by s.customer_id, date_trunc(period, s.responded_at at time zone 'UTC'), s.responded_at desc, s.event_id desc) l
       group by l.period_start
       order by l.period_start;
    end
    $fn$;

    -- NPS per segment: each RFM group and each saved segment (as it stands now), from each
    -- customer's latest NPS answer in the range.
    create function nps_by_segment(since timestamptz, until timestamptz)
    returns table (segment_kind text, segment text, responses bigint, promoters bigint, passives bigint, detractors bigint, nps numeric)
    language plpgsql stable as $fn$
    begin
      perform tally_check_range(since, until, 'nps_by_segment');
      return query
      with latest as (
        select distinct on (s.customer_id) s.customer_id, s.score
          from survey_scores s
         where s.scale = 'nps' and s.responded_at >= since and s.responded_at < until and s.customer_id is not null
         order by s.customer_id, s.responded_at desc, s.event_id desc
      ),
      grouped as (
        select distinct 'rfm'::text as kind, r.rfm_group as name, r.customer_id from customer_rfm r
        union all
        select 'saved', m.segment, m.customer_id from segment_memberships m
      )
      select g.kind, g.name, count(*), count(*) filter (where l.score >= 9), count(*) filter (where l.score between 7 and 8),
             count(*) filter (where l.score <= 6),
             round(100.0 * (count(*) filter (where l.score >= 9) - count(*) filter (where l.score <= 6)) / count(*), 1)
        from grouped g
        join latest l on l.customer_id = g.customer_id
       group by g.kind, g.name
       order by g.kind, g.name;
    end
    $fn$;

    -- CSAT (1–5) and CES (1–7) per period: every answer counts. For CSAT, the share of
    -- satisfied answers (4 or 5) too.
    create function satisfaction_scores(since timestamptz, until timestamptz, period text default 'month')
    returns table (period_start date, scale text, responses bigint, average numeric, satisfied_share numeric)
    language plpgsql stable as $fn$
    begin
      perform tally_check_range(since, until, 'satisfaction_scores');
      perform tally_check_period(period, 'satisfaction_scores');
      return query
      select date_trunc(period, s.responded_at at time zone 'UTC')::date, s.scale, count(*), round(avg(s.score), 2),
             case when s.scale = 'csat' then round(count(*) filter (where s.score >= 4)::numeric / count(*), 4) end
        from survey_scores s
       where s.scale in ('csat', 'ces') and s.responded_at >= since and s.responded_at < until
       group by 1, 2
       order by 1, 2;
    end
    $fn$;

    create view customer_latest_scores as
    select customer_id,
           (array_agg(score order by responded_at desc, event_id desc) filter (where scale = 'nps'))[1] as nps_score,
           max(responded_at) filter (where scale = 'nps') as nps_at,
           (array_agg(score order by responded_at desc, event_id desc) filter (where scale = 'csat'))[1] as csat_score,
           max(responded_at) filter (where scale = 'csat') as csat_at,
           (array_agg(score order by responded_at desc, event_id desc) filter (where scale = 'ces'))[1] as ces_score,
           max(responded_at) filter (where scale = 'ces') as ces_at
      from survey_scores
     where customer_id is not null
     group by customer_id;
  `.execute(db);
  await grantToRoles(db, {
    tally_analyst: ['select on survey_scores, customer_latest_scores'],
    tally_marketer: ['select on survey_scores, survey_responses, customer_latest_scores'],
  });
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop view customer_latest_scores;
    drop function satisfaction_scores(timestamptz, timestamptz, text);
    drop function nps_by_segment(timestamptz, timestamptz);
    drop function nps(timestamptz, timestamptz, text);
    drop function tally_check_period(text, text);
    drop view survey_scores;
    drop view survey_responses;
  `.execute(db);
}
