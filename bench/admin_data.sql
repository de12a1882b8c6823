-- A national campaign's lifetime for the admin benchmark: :rows signatures on petition
-- :petition_id over 60 days, made inside PostgreSQL, plus :mail sent emails still within their
-- retention. Names, domains, addresses and postcodes repeat the way real ones do (a few very
-- common, most rare), so searches meet both kinds. psql variables: petition_id, rows, mail, key
-- (EMAIL_HASH_KEY, so the service's own email search finds these rows).
--
-- Indexes are dropped for the load and built again afterwards, as a restore would: it takes
-- minutes rather than an hour, and the indexes end up as the migrations define them.
SET maintenance_work_mem = '1GB';
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TEMP TABLE saved_indexes AS
    SELECT indexname, indexdef FROM pg_indexes
    WHERE tablename IN ('signatures', 'outbox')
      AND indexname NOT IN (SELECT conname FROM pg_constraint);
CREATE TEMP TABLE saved_constraints AS
    SELECT conrelid::regclass AS tbl, conname, pg_get_constraintdef(oid) AS def
    FROM pg_constraint
    WHERE conrelid IN ('signatures'::regclass, 'outbox'::regclass) AND contype IN ('u', 'f');

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM saved_constraints LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
    FOR r IN SELECT * FROM saved_indexes LOOP
        EXECUTE format('DROP INDEX %I', r.indexname);
    END LOOP;
END $$;

CREATE TEMP TABLE first_names AS
    SELECT array['Amira', 'Ben', 'Chloe', 'Dmytro', 'Emma', 'Farid', 'Grace', 'Hannah', 'Ibrahim',
        'Jack', 'Katie', 'Liam', 'Maryam', 'Noah', 'Olena', 'Priya', 'Quentin', 'Ruth', 'Sam',
        'Tom', 'Uma', 'Viktor', 'Wendy', 'Xavier', 'Yusuf', 'Zoë', 'Oliver', 'Amelia', 'Harry',
        'Isla', 'George', 'Ava', 'Arthur', 'Mia', 'Leo', 'Ivy', 'Oscar', 'Freya', 'Mohammed',
        'Lily'] AS a;
CREATE TEMP TABLE surnames AS
    SELECT array['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies',
        'Patel', 'Robinson', 'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green',
        'Hall', 'Wood', 'Jackson', 'Clarke', 'Khan', 'Ali', 'Ahmed', 'Kowalski', 'Nowak',
        'Shevchenko', 'Kovalenko', 'Bondarenko', 'Murphy', 'O''Brien', 'Kelly', 'Byrne', 'Dupont',
        'Martin', 'Bernard', 'Müller', 'Schmidt', 'Rossi', 'García', 'Fernández', 'Okafor',
        'Mensah', 'Nguyen', 'Chen', 'Singh', 'Begum', 'Hussain', 'Campbell', 'Stewart'] AS a;

INSERT INTO signatures (
    petition_id, state, name, email, canonical_email, email_domain, email_hash, postcode,
    country, consent_updates, consent_wording_id, consented_at, source, utm_source, ip_address,
    duplicate_notices, created_at, confirmed_at, withdrawn_at, updated_at
)
SELECT
    :petition_id,
    -- Pending and withdrawn signatures are recent ones (older ones were purged), so a purge
    -- finds nothing to do.
    CASE WHEN n % 50 = 0 AND recent THEN 'withdrawn' WHEN n % 10 = 0 AND recent THEN 'pending'
         ELSE 'confirmed' END,
    -- 2,000 common names; one signer in a thousand has a name of their own.
    CASE WHEN n % 1000 = 7 THEN 'Reader ' || n
         ELSE f.a[1 + n % 40] || ' ' || s.a[1 + (n / 40) % 50] END,
    email, email, domain,
    encode(hmac(email, :'key', 'sha256'), 'hex'),
    CASE WHEN n % 5 < 4 THEN
        (array['SW1A', 'M1', 'EC1A', 'B1', 'LS1', 'G1', 'CF10', 'BS1', 'NE1', 'L1'])[1 + n % 10]
        || ' ' || (n / 10) % 10 || chr(65 + (n / 100) % 26) || chr(65 + (n / 2600) % 26)
    END,
    CASE WHEN n % 5 < 4 THEN 'GB' WHEN n % 5 = 4 AND n % 3 = 0 THEN 'UA' ELSE 'FR' END,
    n % 4 = 0,
    (SELECT id FROM consent_wordings LIMIT 1),
    CASE WHEN n % 4 = 0 THEN made END,
    CASE WHEN n % 3 = 0 THEN 'widget:news.example' WHEN n % 3 = 1 THEN 'petition'
         ELSE 'article:refugees-welcome' END,
    CASE WHEN n % 7 = 0 THEN 'newsletter' END,
    -- Mostly IPv4 from many networks, one in ten IPv6.
    CASE WHEN n % 10 = 3 THEN format('2001:db8:%s:%s::%s', to_hex(n % 65536), to_hex((n / 7) % 65536), to_hex(n % 4096))
         ELSE format('%s.%s.%s.%s', 1 + (n * 7) % 223, (n / 7) % 256, (n / 1789) % 256, n % 256) END,
    0,
    made,
    CASE WHEN n % 10 <> 0 OR n % 50 = 0 OR NOT recent THEN made + interval '4 minutes' END,
    CASE WHEN n % 50 = 0 AND recent THEN made + interval '1 day' END,
    made
FROM (
    SELECT n, email, split_part(email, '@', 2) AS domain,
           now() - interval '60 days' * (1 - n::float / :rows) AS made, n > :rows * 0.6 AS recent
    FROM (
        SELECT n, 'reader' || n || '@' || CASE
            WHEN n % 10 < 3 THEN 'gmail.com' WHEN n % 10 = 3 THEN 'hotmail.co.uk'
            WHEN n % 10 = 4 THEN 'outlook.com' WHEN n % 10 = 5 THEN 'yahoo.co.uk'
            WHEN n % 10 = 6 THEN 'icloud.com' WHEN n % 10 = 7 THEN 'btinternet.com'
            ELSE 'org' || (n / 10) % 50000 || '.example.org.uk' END AS email
        FROM generate_series(1, :rows) AS n
    ) addresses
) made, first_names f, surnames s;

-- A rare name, to be found among millions.
UPDATE signatures SET name = 'Łukasz Żółć' WHERE id IN (1234567 % :rows, 7654321 % :rows);

INSERT INTO outbox (lane, kind, to_address, subject, created_at, next_attempt_at, attempts, sent_at)
SELECT n % 2, 'confirm', NULL, NULL, now() - interval '0.5 second' * n,
       now() - interval '0.5 second' * n, 1, now() - interval '0.5 second' * n + interval '2 seconds'
FROM generate_series(1, :mail) AS n;

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM saved_constraints LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tbl, r.conname, r.def);
    END LOOP;
    FOR r IN SELECT * FROM saved_indexes LOOP
        EXECUTE r.indexdef;
    END LOOP;
END $$;

VACUUM ANALYZE signatures;
VACUUM ANALYZE outbox;
