package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// maxEvents is how many events a job keeps: the first per token, signer
// and terminality, which a legitimate job never exceeds.
const maxEvents = 8

// schemaSQL creates the tables and functions in the schema {s} (replaced by
// the quoted name) if they are missing. Every function takes a per-key
// advisory lock (classid LOCKCLASS, objid the key's hash) for its
// transaction, so that the writes about one job are serialised while
// writes about different jobs run in parallel. Every row has an expiry on
// the database's clock, and every read ignores expired rows, so
// correctness never waits for the sweep.
const schemaSQL = `
CREATE SCHEMA IF NOT EXISTS {s};

CREATE TABLE IF NOT EXISTS {s}.jobs (
	key        text PRIMARY KEY,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	name       text NOT NULL,
	kind       text NOT NULL,
	token      text NOT NULL,
	submitted  timestamptz NOT NULL,
	submitted_ns integer NOT NULL, -- nanoseconds below submitted's microsecond
	metadata   jsonb,
	trace      text NOT NULL DEFAULT '', -- W3C traceparent of the submission
	expires_at timestamptz NOT NULL
);
ALTER TABLE {s}.jobs ADD COLUMN IF NOT EXISTS trace text NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS jobs_expires_at ON {s}.jobs (expires_at);
CREATE INDEX IF NOT EXISTS jobs_submitted ON {s}.jobs (submitted, submitted_ns, seq);

CREATE TABLE IF NOT EXISTS {s}.events (
	key        text NOT NULL,
	token      text NOT NULL,
	signer     text NOT NULL DEFAULT '', -- the project secret that verified it; '' for Gemini's keys
	terminal   boolean NOT NULL,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	type       text NOT NULL,
	code       text NOT NULL,
	message    text NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (key, token, signer, terminal)
);
-- Earlier versions kept the signer after a newline in token, under a key
-- without it: split those rows and key the table by signer too.
ALTER TABLE {s}.events ADD COLUMN IF NOT EXISTS signer text NOT NULL DEFAULT '';
DO $mig$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_constraint c
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
			WHERE c.conrelid = '{s}.events'::regclass AND c.contype = 'p' AND a.attname = 'signer') THEN
		ALTER TABLE {s}.events DROP CONSTRAINT events_pkey;
		UPDATE {s}.events SET signer = split_part(token, E'\n', 2), token = split_part(token, E'\n', 1)
			WHERE strpos(token, E'\n') > 0;
		ALTER TABLE {s}.events ADD PRIMARY KEY (key, token, signer, terminal);
	END IF;
END
$mig$;
CREATE INDEX IF NOT EXISTS events_expires_at ON {s}.events (expires_at);

CREATE TABLE IF NOT EXISTS {s}.outcomes (
	key        text PRIMARY KEY,
	state      text NOT NULL,
	code       text NOT NULL,
	message    text NOT NULL,
	value      bytea,
	settled_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS outcomes_expires_at ON {s}.outcomes (expires_at);

CREATE TABLE IF NOT EXISTS {s}.dedupe (
	key        text NOT NULL,
	id         text NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (key, id)
);
CREATE INDEX IF NOT EXISTS dedupe_expires_at ON {s}.dedupe (expires_at);

CREATE TABLE IF NOT EXISTS {s}.leases (
	key        text PRIMARY KEY,
	owner      text NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_expires_at ON {s}.leases (expires_at);

-- Functions whose results changed since an earlier version of this schema.
DROP FUNCTION IF EXISTS {s}.register(text, text, text, text, timestamptz, integer, jsonb, bigint);
DROP FUNCTION IF EXISTS {s}.job_record(text);
DROP FUNCTION IF EXISTS {s}.deliver(text, text, text, boolean, text, text, text, bigint, bigint, text);

-- job_record is what the store knows of one job; expired rows do not exist.
CREATE OR REPLACE FUNCTION {s}.job_record(p_key text)
RETURNS TABLE (name text, kind text, token text, submitted timestamptz, submitted_ns integer, metadata jsonb, trace text,
	events jsonb, state text, code text, message text, value bytea)
LANGUAGE sql STABLE AS $fn$
	SELECT j.name, j.kind, j.token, j.submitted, j.submitted_ns, j.metadata, j.trace,
		(SELECT jsonb_agg(jsonb_build_object('type', e.type, 'terminal', e.terminal,
				'token', e.token, 'signer', e.signer, 'code', e.code, 'message', e.message) ORDER BY e.seq)
			FROM {s}.events e WHERE e.key = p_key AND e.expires_at > now()),
		o.state, o.code, o.message, o.value
	FROM (SELECT 1) one
	LEFT JOIN {s}.outcomes o ON o.key = p_key AND o.expires_at > now()
	LEFT JOIN {s}.jobs j ON j.key = p_key AND j.expires_at > now() AND o.key IS NULL
$fn$;

-- deliver returns 'duplicate', 'settled' (the job has an outcome: not
-- kept), 'kept', or 'dropped' (an event of the same token, signer and
-- terminality is kept already, the job has its maximum of events, or the event is
-- progress of a job nobody registered).
CREATE OR REPLACE FUNCTION {s}.deliver(p_key text, p_id text, p_type text, p_terminal boolean,
	p_token text, p_signer text, p_code text, p_message text, p_dedupe_us bigint, p_event_us bigint, p_channel text)
RETURNS text
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
	job_expiry timestamptz;
	kept int;
BEGIN
	PERFORM pg_advisory_xact_lock(LOCKCLASS, hashtext(p_key));
	IF p_id <> '' THEN
		INSERT INTO {s}.dedupe AS d (key, id, expires_at)
		VALUES (p_key, p_id, now() + p_dedupe_us * interval '1 microsecond')
		ON CONFLICT (key, id) DO UPDATE SET expires_at = excluded.expires_at
			WHERE d.expires_at <= now();
		IF NOT FOUND THEN
			RETURN 'duplicate';
		END IF;
	END IF;
	PERFORM 1 FROM {s}.outcomes o WHERE o.key = p_key AND o.expires_at > now();
	IF FOUND THEN
		RETURN 'settled';
	END IF;
	DELETE FROM {s}.events e WHERE e.key = p_key AND e.expires_at <= now();
	SELECT count(*) INTO kept FROM {s}.events e WHERE e.key = p_key;
	IF kept >= MAXEVENTS THEN
		RETURN 'dropped';
	END IF;
	SELECT j.expires_at INTO job_expiry FROM {s}.jobs j WHERE j.key = p_key AND j.expires_at > now();
	IF job_expiry IS NULL AND NOT p_terminal THEN
		-- Progress of a job nobody waits for: nothing to keep.
		RETURN 'dropped';
	END IF;
	INSERT INTO {s}.events (key, token, signer, terminal, type, code, message, expires_at)
	VALUES (p_key, p_token, p_signer, p_terminal, p_type, p_code, p_message,
		greatest(now() + p_event_us * interval '1 microsecond', job_expiry))
	ON CONFLICT (key, token, signer, terminal) DO NOTHING;
	IF NOT FOUND THEN
		RETURN 'dropped';
	END IF;
	PERFORM pg_notify(p_channel, p_key);
	RETURN 'kept';
END
$fn$;

-- register keeps the first live registration (extending its expiry) and
-- returns the job's record; a settled job is not registered again.
CREATE OR REPLACE FUNCTION {s}.register(p_key text, p_name text, p_kind text, p_token text,
	p_submitted timestamptz, p_submitted_ns integer, p_metadata jsonb, p_trace text, p_job_us bigint)
RETURNS TABLE (name text, kind text, token text, submitted timestamptz, submitted_ns integer, metadata jsonb, trace text,
	events jsonb, state text, code text, message text, value bytea)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
	job_expiry timestamptz;
BEGIN
	PERFORM pg_advisory_xact_lock(LOCKCLASS, hashtext(p_key));
	PERFORM 1 FROM {s}.outcomes o WHERE o.key = p_key AND o.expires_at > now();
	IF NOT FOUND THEN
		DELETE FROM {s}.jobs j WHERE j.key = p_key AND j.expires_at <= now();
		INSERT INTO {s}.jobs AS j (key, name, kind, token, submitted, submitted_ns, metadata, trace, expires_at)
		VALUES (p_key, p_name, p_kind, p_token, p_submitted, p_submitted_ns, p_metadata, p_trace,
			now() + p_job_us * interval '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET expires_at = greatest(j.expires_at, excluded.expires_at)
		RETURNING j.expires_at INTO job_expiry;
		UPDATE {s}.events e SET expires_at = job_expiry
		WHERE e.key = p_key AND e.expires_at > now() AND e.expires_at < job_expiry;
	END IF;
	RETURN QUERY SELECT * FROM {s}.job_record(p_key);
END
$fn$;

-- lease takes or renews key's lease for owner: when it is free, expired
-- or owner's. Its commit does not wait for the disk: a lease lost in a
-- crash costs at most one more poll.
CREATE OR REPLACE FUNCTION {s}.lease(p_key text, p_owner text, p_us bigint)
RETURNS boolean
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	INSERT INTO {s}.leases AS l (key, owner, expires_at)
	VALUES (p_key, p_owner, clock_timestamp() + p_us * interval '1 microsecond')
	ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE l.owner = excluded.owner OR l.expires_at <= clock_timestamp();
	RETURN FOUND;
END
$fn$;

-- release gives up owner's lease on key, without waiting for the disk.
CREATE OR REPLACE FUNCTION {s}.release(p_key text, p_owner text)
RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
	PERFORM set_config('synchronous_commit', 'off', true);
	DELETE FROM {s}.leases l WHERE l.key = p_key AND l.owner = p_owner;
END
$fn$;

-- settle records the first outcome, forgets the job's registration, events
-- and lease, hints, and returns the outcome that holds.
CREATE OR REPLACE FUNCTION {s}.settle(p_key text, p_state text, p_code text, p_message text,
	p_value bytea, p_outcome_us bigint, p_channel text)
RETURNS TABLE (state text, code text, message text, value bytea)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
	PERFORM pg_advisory_xact_lock(LOCKCLASS, hashtext(p_key));
	DELETE FROM {s}.outcomes o WHERE o.key = p_key AND o.expires_at <= now();
	INSERT INTO {s}.outcomes (key, state, code, message, value, expires_at)
	VALUES (p_key, p_state, p_code, p_message, p_value,
		now() + p_outcome_us * interval '1 microsecond')
	ON CONFLICT (key) DO NOTHING;
	IF FOUND THEN
		DELETE FROM {s}.jobs j WHERE j.key = p_key;
		DELETE FROM {s}.events e WHERE e.key = p_key;
		DELETE FROM {s}.leases l WHERE l.key = p_key;
		PERFORM pg_notify(p_channel, p_key);
	END IF;
	RETURN QUERY SELECT o.state, o.code, o.message, o.value FROM {s}.outcomes o WHERE o.key = p_key;
END
$fn$;
`

// lockIDs are the advisory lock numbers of one schema: the class of its
// per-key locks (two-int form) and its sweep and migration locks
// (bigint form, a separate space).
type lockIDs struct {
	keyClass int32
	sweep    int64
	migrate  int64
}

func locksFor(schema string) lockIDs {
	h32 := fnv.New32a()
	h32.Write([]byte("gemhook/key/" + schema))
	h64 := func(s string) int64 {
		h := fnv.New64a()
		h.Write([]byte(s))
		return int64(h.Sum64())
	}
	return lockIDs{
		keyClass: int32(h32.Sum32()),
		sweep:    h64("gemhook/sweep/" + schema),
		migrate:  h64("gemhook/migrate/" + schema),
	}
}

// migrate creates what is missing, one replica at a time: concurrent
// CREATE ... IF NOT EXISTS statements can fail on the catalog's unique
// indexes. The schema's comment names the version of its definitions; when
// it is current, nothing is locked but the advisory lock, since DDL on
// tables in use would wait on (and could deadlock with) the replicas
// writing to them.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, locks lockIDs) error {
	ddl := strings.NewReplacer(
		"{s}", pgx.Identifier{schema}.Sanitize(),
		"LOCKCLASS", fmt.Sprint(locks.keyClass),
		"MAXEVENTS", fmt.Sprint(maxEvents),
	).Replace(schemaSQL)
	sum := sha256.Sum256([]byte(ddl))
	version := "gemhook pgstore " + hex.EncodeToString(sum[:8])
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", locks.migrate); err != nil {
			return err
		}
		var have *string
		err := tx.QueryRow(ctx, "SELECT obj_description(to_regnamespace($1), 'pg_namespace')", schema).Scan(&have)
		if err != nil || (have != nil && *have == version) {
			return err
		}
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "COMMENT ON SCHEMA "+pgx.Identifier{schema}.Sanitize()+" IS "+quote(version))
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: creating tables in %s: %w", schema, err)
	}
	return nil
}

// quote makes a SQL string literal of s, which holds no quote.
func quote(s string) string { return "'" + s + "'" }
