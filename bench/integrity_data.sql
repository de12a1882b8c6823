-- What the count journal would have left behind for the signatures admin_data.sql made: the
-- hourly figures, the daily figures by country, a receipt for every confirmed signature and
-- its entry into the count (the next digest publishes them all), and the stored counts.
-- psql variables: petition_id.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

INSERT INTO petition_hours (petition_id, hour, signed, confirmed)
SELECT petition_id, at, sum(signed), sum(confirmed) FROM (
    SELECT petition_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS at,
           1 AS signed, 0 AS confirmed
    FROM signatures WHERE petition_id = :petition_id
    UNION ALL
    SELECT petition_id, date_trunc('hour', confirmed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 0, 1
    FROM signatures WHERE petition_id = :petition_id AND state = 'confirmed'
) AS events GROUP BY petition_id, at;

INSERT INTO petition_country_days (petition_id, day, country, confirmed)
SELECT petition_id, (confirmed_at AT TIME ZONE 'UTC')::date, country, count(*)
FROM signatures WHERE petition_id = :petition_id AND state = 'confirmed' GROUP BY 1, 2, 3;

UPDATE signatures SET receipt_hash = encode(digest('receipt:' || id, 'sha256'), 'hex')
WHERE petition_id = :petition_id AND state = 'confirmed';

INSERT INTO receipt_entries (petition_id, receipt_hash, delta, created_at)
SELECT petition_id, receipt_hash, 1, confirmed_at FROM signatures
WHERE petition_id = :petition_id AND state = 'confirmed' ORDER BY confirmed_at, id;

INSERT INTO petition_tallies (petition_id, name, value) VALUES
    (:petition_id, 'duplicate', 31415), (:petition_id, 'reminded', 120000),
    (:petition_id, 'reminded_ok', 41000), (:petition_id, 'inv:rate', 2718);

VACUUM ANALYZE signatures;
VACUUM ANALYZE receipt_entries;
