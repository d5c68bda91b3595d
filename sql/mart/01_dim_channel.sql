-- table: dim_channel
-- refresh: full
-- dim_channel: one row per request channel seen in silver. Key: channel_key (stable
-- within a catalog version only; join on it, do not store it elsewhere).
SELECT CAST(row_number() OVER (ORDER BY channel) AS INTEGER) AS channel_key, channel,
       CASE WHEN channel IN ('app_ios', 'app_android') THEN 'app'
            WHEN channel = 'web' THEN 'web'
            WHEN channel IN ('partner', 'call_center') THEN 'assisted'
            ELSE 'other' END AS channel_group
FROM (SELECT DISTINCT channel FROM src_silver_requests WHERE channel IS NOT NULL)
ORDER BY channel;
