-- A million signatures for the export benchmark, made inside PostgreSQL (seconds, not minutes).
-- :petition_id and :rows are psql variables; one signature in ten is still pending.
INSERT INTO signatures (
    petition_id, state, name, email, canonical_email, postcode, country, consent_updates,
    consent_wording_id, consented_at, source, duplicate_notices, created_at, confirmed_at, updated_at
)
SELECT
    :petition_id,
    CASE WHEN n % 10 = 0 THEN 'pending' ELSE 'confirmed' END,
    'Reader ' || n || CASE WHEN n % 97 = 0 THEN ', "Jr."' ELSE '' END,
    'reader' || n || '@example.org',
    'reader' || n || '@example.org',
    CASE WHEN n % 3 = 0 THEN 'SW1A 1AA' ELSE NULL END,
    CASE WHEN n % 5 = 0 THEN 'FR' ELSE 'GB' END,
    n % 4 = 0,
    (SELECT id FROM consent_wordings LIMIT 1),
    CASE WHEN n % 4 = 0 THEN now() ELSE NULL END,
    CASE WHEN n % 2 = 0 THEN 'petition' ELSE 'widget:news.example' END,
    0,
    now() - (n || ' seconds')::interval,
    CASE WHEN n % 10 = 0 THEN NULL ELSE now() - (n || ' seconds')::interval + interval '5 minutes' END,
    now()
FROM generate_series(1, :rows) AS n;
