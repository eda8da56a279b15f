-- Net Promoter Score per month over the last year, each customer's latest answer in a
-- month counted once; then CSAT and CES.
select 'nps' as measure, to_char(period_start, 'YYYY-MM') as month, responses, nps as score
  from nps(date_trunc('month', now()) - interval '11 months', now(), 'month')
union all
select scale, to_char(period_start, 'YYYY-MM'), responses, average
  from satisfaction_scores(date_trunc('month', now()) - interval '11 months', now(), 'month')
 order by 1, 2;
