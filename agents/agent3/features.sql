-- One row per (snapshot, customer active at the snapshot): behaviour before the snapshot, and
-- whether the customer churned within the next $horizon_days. Snapshots are taken every
-- $snapshot_every_days, going back from the last one whose outcome window fits in the data, as
-- long as $min_history_days of history precede them; several snapshots give the classifier many
-- more churn events than one would. Visits in the last two four-week blocks show a customer
-- fading away.
-- Inputs (views): customers, transactions.
-- Params: $horizon_days, $snapshot_every_days, $n_snapshots, $min_history_days.
WITH bounds AS (
    SELECT min(ts) AS start_ts, max(ts) AS end_ts FROM transactions
),
snapshots AS (
    SELECT
        b.start_ts,
        b.end_ts - to_days(CAST($horizon_days + k * $snapshot_every_days AS INTEGER)) AS cutoff
    FROM bounds AS b, range(CAST($n_snapshots AS BIGINT)) AS steps(k)
),
eligible AS (
    SELECT * FROM snapshots
    WHERE cutoff >= start_ts + to_days(CAST($min_history_days AS INTEGER))
),
profile AS (
    SELECT
        s.cutoff,
        t.customer_id,
        sum(t.amount) AS revenue,
        CAST(count(DISTINCT CAST(t.ts AS DATE)) AS DOUBLE) AS visits,
        avg(t.amount) AS avg_basket,
        CAST(count(DISTINCT t.product_id) AS DOUBLE) AS distinct_products,
        CAST(count(DISTINCT CAST(t.ts AS DATE)) FILTER (WHERE t.ts >= s.cutoff - to_days(28)) AS DOUBLE)
            AS visits_last_28d,
        CAST(count(DISTINCT CAST(t.ts AS DATE)) FILTER (
            WHERE t.ts >= s.cutoff - to_days(56) AND t.ts < s.cutoff - to_days(28)
        ) AS DOUBLE) AS visits_prior_28d,
        max(t.ts) AS last_ts
    FROM eligible AS s
    JOIN transactions AS t ON t.ts < s.cutoff
    GROUP BY s.cutoff, t.customer_id
)
SELECT
    c.customer_id,
    CAST(s.cutoff AS TIMESTAMP) AS snapshot_ts,
    p.revenue,
    p.visits,
    CAST(date_diff('day', p.last_ts, s.cutoff) AS DOUBLE) AS recency_days,
    CAST(date_diff('day', c.signup_date, s.cutoff) AS DOUBLE) AS tenure_days,
    CAST(date_diff('day', greatest(c.signup_date, s.start_ts), s.cutoff) AS DOUBLE) AS observed_days,
    p.avg_basket,
    p.distinct_products,
    p.visits_last_28d,
    p.visits_prior_28d,
    CAST(c.segment = 'budget' AS DOUBLE) AS is_budget,
    CAST(c.segment = 'premium' AS DOUBLE) AS is_premium,
    (c.churn_date IS NOT NULL AND c.churn_date < s.cutoff + to_days(CAST($horizon_days AS INTEGER))) AS churned
FROM eligible AS s
JOIN profile AS p ON p.cutoff = s.cutoff
JOIN customers AS c ON c.customer_id = p.customer_id
WHERE c.signup_date < s.cutoff
  AND (c.churn_date IS NULL OR c.churn_date >= s.cutoff)
ORDER BY snapshot_ts, c.customer_id
