-- Per-transaction features for unsupervised anomaly scoring.
-- Inputs (views): transactions, products. Params: $holdout_fraction (latest share of time held out).
WITH customer_baseline AS (
    SELECT
        customer_id,
        avg(amount) AS customer_mean_amount,
        coalesce(stddev_samp(amount), 0.0) AS customer_std_amount
    FROM transactions
    GROUP BY customer_id
)
SELECT
    t.transaction_id,
    t.ts,
    ln(1 + t.amount) AS log_amount,
    CAST(t.quantity AS DOUBLE) AS quantity,
    t.unit_price / p.base_price AS price_ratio,
    CAST(hour(t.ts) AS DOUBLE) AS hour_of_day,
    (t.amount - b.customer_mean_amount) / greatest(b.customer_std_amount, 1.0) AS amount_zscore,
    CASE
        WHEN percent_rank() OVER (ORDER BY t.ts, t.transaction_id) >= 1 - $holdout_fraction THEN 'holdout'
        ELSE 'train'
    END AS split
FROM transactions AS t
JOIN products AS p USING (product_id)
JOIN customer_baseline AS b USING (customer_id)
ORDER BY t.transaction_id
