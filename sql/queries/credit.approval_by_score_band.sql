-- name: credit.approval_by_score_band
-- description: decisions, approval and rejection per risk-score band over a period
-- param: from DATE first request day (inclusive)
-- param: to DATE last request day (inclusive)
SELECT score_band(risk_score) AS risk_score_band, count(*) AS requests,
       count(*) FILTER (WHERE is_decided) AS decided, count(*) FILTER (WHERE is_approved) AS approved,
       count(*) FILTER (WHERE is_rejected) AS rejected,
       round(count(*) FILTER (WHERE is_approved) / nullif(count(*) FILTER (WHERE is_decided), 0), 4)
         AS approval_rate
FROM fact_credit_request
WHERE request_date BETWEEN {{from}} AND {{to}}
GROUP BY ALL ORDER BY risk_score_band
