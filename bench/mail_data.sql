-- Confirmed signers who asked for campaign updates, for the mail benchmark: each signature
-- with its keyed email hash, and each person's standing answer (consent belongs to the person).
INSERT INTO signatures (
    petition_id, state, name, email, canonical_email, email_hash, country, consent_updates,
    source, duplicate_notices, created_at, updated_at, confirmed_at
)
SELECT :petition_id, 'confirmed', 'Reader ' || n, 'keen' || n || '@bench.example',
       'keen' || n || '@bench.example', encode(sha256(convert_to('keen' || n, 'UTF8')), 'hex'),
       'GB', true, 'bench', 0, now(), now(), now()
FROM generate_series(1, :rows) AS n;

INSERT INTO update_consents (email_hash, wants_updates, changed_at, route)
SELECT encode(sha256(convert_to('keen' || n, 'UTF8')), 'hex'), true, now(), 'signature confirmed'
FROM generate_series(1, :rows) AS n;
