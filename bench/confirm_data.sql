-- Pending signatures with known confirm links, for the confirming benchmark: the link of
-- signature n is /signatures/confirm/bench-n (only its SHA-256 is stored, as the app does).
INSERT INTO signatures (
    petition_id, state, name, email, canonical_email, country, consent_updates, source,
    duplicate_notices, created_at, updated_at
)
SELECT :petition_id, 'pending', 'Reader ' || n, 'confirm' || n || '@bench.example',
       'confirm' || n || '@bench.example', 'GB', false, 'bench', 0, now(), now()
FROM generate_series(1, :rows) AS n;

INSERT INTO signature_tokens (signature_id, purpose, token_hash, created_at, expires_at)
SELECT s.id, 'confirm', encode(sha256(convert_to('bench-' || substring(s.email FROM 8 FOR position('@' IN s.email) - 8), 'UTF8')), 'hex'),
       now(), now() + interval '30 days'
FROM signatures s WHERE s.source = 'bench';

-- Their journal entry, as signing writes one per signature (here one for them all): without it
-- the counts would fall below zero as they are confirmed, and a worker could not fold them.
INSERT INTO count_journal (petition_id, country, state, delta, new_signature, created_at)
VALUES (:petition_id, 'GB', 'pending', :rows, true, now());
