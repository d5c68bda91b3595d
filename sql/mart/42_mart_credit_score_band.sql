-- table: mart_credit_score_band
-- refresh: full
-- mart_credit_score_band (credit): per request month, risk-score band and bureau-score
-- band: decisions, approval and rejection, and whether the bureau and the risk API
-- agree (same band). Bands are 200 points wide ("0-199" ... "800-1000"); "none" when
-- the score is missing. Key: (request_month, risk_score_band, bureau_score_band).
WITH r AS (
  SELECT CAST(date_trunc('month', request_date) AS DATE) AS request_month,
         score_band(risk_score) AS risk_score_band, score_band(bureau_score) AS bureau_score_band,
         is_decided, is_approved, is_rejected, status
  FROM fact_credit_request
)
SELECT request_month, risk_score_band, bureau_score_band, count(*) AS requests,
       count(*) FILTER (WHERE is_decided) AS decided, count(*) FILTER (WHERE is_approved) AS approved,
       count(*) FILTER (WHERE is_rejected) AS rejected,
       count(*) FILTER (WHERE status = 'MANUAL_REVIEW') AS manual_review,
       round(count(*) FILTER (WHERE is_approved) / nullif(count(*) FILTER (WHERE is_decided), 0),
             4) AS approval_rate,
       risk_score_band = bureau_score_band AND risk_score_band <> 'none' AS bands_agree
FROM r GROUP BY ALL ORDER BY ALL;
