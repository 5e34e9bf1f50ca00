-- One row per customer active at the cutoff (the last $horizon_days days before the end of the
-- data are the outcome window): behaviour before the cutoff, and whether the customer churned
-- inside the window.
-- Inputs (views): customers, transactions. Params: $horizon_days.
WITH bounds AS (
    SELECT
        max(ts) AS end_ts,
        max(ts) - to_days(CAST($horizon_days AS INTEGER)) AS cutoff
    FROM transactions
),
history AS (
    SELECT t.*
    FROM transactions AS t, bounds AS b
    WHERE t.ts < b.cutoff
),
profile AS (
    SELECT
        customer_id,
        sum(amount) AS revenue,
        CAST(count(DISTINCT CAST(ts AS DATE)) AS DOUBLE) AS visits,
        avg(amount) AS avg_basket,
        CAST(count(DISTINCT product_id) AS DOUBLE) AS distinct_products,
        max(ts) AS last_ts
    FROM history
    GROUP BY customer_id
)
SELECT
    c.customer_id,
    p.revenue,
    p.visits,
    CAST(date_diff('day', p.last_ts, b.cutoff) AS DOUBLE) AS recency_days,
    CAST(date_diff('day', c.signup_date, b.cutoff) AS DOUBLE) AS tenure_days,
    p.avg_basket,
    p.distinct_products,
    (c.churn_date IS NOT NULL AND c.churn_date <= b.end_ts) AS churned
FROM customers AS c
JOIN profile AS p USING (customer_id)
CROSS JOIN bounds AS b
WHERE c.signup_date < b.cutoff
  AND (c.churn_date IS NULL OR c.churn_date >= b.cutoff)
ORDER BY c.customer_id
