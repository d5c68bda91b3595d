-- name: marketing.funnel_by_channel
-- description: customers at each funnel step (app, simulation, request, approval) per acquisition channel
SELECT acquisition_channel, sum(customers) AS customers, sum(app_active) AS app_active,
       sum(simulated) AS simulated, sum(requested) AS requested, sum(approved) AS approved,
       round(sum(approved) / nullif(sum(requested), 0), 4) AS approval_rate
FROM mart_marketing_funnel GROUP BY ALL ORDER BY acquisition_channel
