-- Confirmed signers who asked for campaign updates, for the mail benchmark.
INSERT INTO signatures (
    petition_id, state, name, email, canonical_email, country, consent_updates, source,
    duplicate_notices, created_at, updated_at, confirmed_at
)
SELECT :petition_id, 'confirmed', 'Reader ' || n, 'keen' || n || '@bench.example',
       'keen' || n || '@bench.example', 'GB', true, 'bench', 0, now(), now(), now()
FROM generate_series(1, :rows) AS n;
