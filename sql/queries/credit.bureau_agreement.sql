-- name: credit.bureau_agreement
-- description: requests whose bureau and risk-API score bands agree, per request month
SELECT request_month, sum(requests) AS requests,
       sum(requests) FILTER (WHERE bands_agree) AS agreeing,
       round(sum(requests) FILTER (WHERE bands_agree) / nullif(sum(requests) FILTER (
         WHERE risk_score_band <> 'none' AND bureau_score_band <> 'none'), 0), 4) AS agreement_rate
FROM mart_credit_score_band GROUP BY ALL ORDER BY request_month
