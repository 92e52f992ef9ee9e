-- The change feed (DESIGN.md §5): one row in `changes` for every change applied to
-- an object table, written in the transaction that applied it, readable in commit
-- order by a `seq` without gaps. Ids and column names only, never personal data:
-- a reader joins the object's table for the current values.
--
-- How a row gets there:
--   1. Statement-level triggers on each object table (one call per statement, with
--      transition tables) stage what the statement changed in a temporary table of
--      the session: kind, id, op, version, and the names of the columns whose values
--      changed. A row written with nothing changed (a stale event is refused by the
--      ordering guard and writes nothing; an erasure of what is already erased
--      changes nothing) stages nothing.
--   2. At commit, a deferred constraint trigger on the staging table seals the
--      transaction's changes: it takes the row lock of `change_sequence`, numbers
--      them after its `last_seq`, and inserts them into `changes`.
--
-- Why this gives commit order without gaps: the row lock of `change_sequence` is
-- taken as the transaction's last statement and held until its commit is visible
-- (Postgres releases a transaction's locks after it leaves the running set). So a
-- transaction that numbers after another can only do so once the other has
-- committed (or aborted, and then its numbers are taken again): seq order is commit
-- order, and any snapshot sees a prefix of seq. A reader that pages by `seq > cursor`
-- never skips a row that commits later.
--
-- Attribution: the worker tells the triggers which event wrote an object with two
-- settings local to the transaction: `clerk_sync.svix_id` (the event being applied
-- now, read per statement) or `clerk_sync.events` (a JSON object id -> svix-id for a
-- batch, read once at seal; a cascaded row is found by its parent's id). Backfill
-- and reconcile set neither: their changes have no svix-id.

CREATE TABLE changes (
    seq          BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    op           TEXT NOT NULL CHECK (op IN ('upsert', 'tombstone')),
    version      TIMESTAMPTZ,
    svix_id      TEXT,
    committed_at TIMESTAMPTZ NOT NULL,
    columns      TEXT[] NOT NULL
);

-- The last seq handed out; its row lock orders the commits of the writers.
CREATE TABLE change_sequence (
    only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    last_seq BIGINT NOT NULL DEFAULT 0
);
INSERT INTO change_sequence DEFAULT VALUES;

-- How far `worker prune` has deleted: every change with seq <= pruned_through may be
-- gone. A cursor below it is behind the retention.
CREATE TABLE change_retention (
    only_row       BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    pruned_through BIGINT NOT NULL DEFAULT 0,
    pruned_at      TIMESTAMPTZ
);
INSERT INTO change_retention DEFAULT VALUES;

-- How far each relay (`worker relay`, CHANGES_RELAY_NAME) has published to RabbitMQ,
-- written only after the broker confirmed. Prune keeps what a relay has not passed.
CREATE TABLE change_relays (
    name            TEXT PRIMARY KEY,
    relayed_through BIGINT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The session's staging table, made on first use (a temporary table is the
-- session's own: no WAL, no locks shared with other sessions, emptied at commit),
-- and the transaction's marker: its one row fires the seal at commit.
--
-- Every function of the feed runs with the search_path of the migration that made
-- it (`SET search_path FROM CURRENT`), so a session with another search_path (an
-- operator's psql, the app's role calling changes_since) gets the same tables; and
-- without JIT: the planner knows nothing of a temporary table's size, and a JIT
-- compile of the seal once cost 280 ms a commit.
CREATE FUNCTION clerk_sync_feed_staging() RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT SET jit = off AS $$
BEGIN
    IF to_regclass('pg_temp.clerk_sync_staged_changes') IS NULL THEN
        CREATE TEMPORARY TABLE clerk_sync_staged_changes (
            ord       BIGINT GENERATED ALWAYS AS IDENTITY,
            kind      TEXT NOT NULL,
            object_id TEXT NOT NULL,
            op        TEXT NOT NULL,
            version   TIMESTAMPTZ,
            svix_id   TEXT,
            parents   TEXT[] NOT NULL,
            columns   TEXT[] NOT NULL
        ) ON COMMIT DELETE ROWS;
        CREATE TEMPORARY TABLE clerk_sync_staged_marker (marked BOOLEAN) ON COMMIT DELETE ROWS;
        CREATE CONSTRAINT TRIGGER clerk_sync_seal
            AFTER INSERT ON pg_temp.clerk_sync_staged_marker
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION clerk_sync_feed_seal();
    END IF;
END;
$$;

-- After rows were staged: the transaction's marker, once (again after a seal, which
-- runs before the commit only if the constraint was made IMMEDIATE: then each
-- statement that stages rows seals them at its end).
CREATE FUNCTION clerk_sync_feed_mark() RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT SET jit = off AS $$
BEGIN
    IF current_setting('clerk_sync.marked', true) IS DISTINCT FROM pg_current_xact_id()::text THEN
        -- Set first: under IMMEDIATE the seal runs inside the INSERT and clears it.
        PERFORM set_config('clerk_sync.marked', pg_current_xact_id()::text, true);
        INSERT INTO pg_temp.clerk_sync_staged_marker VALUES (true);
    END IF;
END;
$$;

-- Fires at commit, once per transaction that staged changes (its marker row), and
-- seals every row staged and not sealed yet. One statement: group the staged rows
-- (several statements of one event on one row, a tombstone then its erasure, are
-- one change with the last op), take the commit-order lock by numbering them after
-- `last_seq`, insert them.
CREATE FUNCTION clerk_sync_feed_seal() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT SET jit = off SET lock_timeout = '60s' AS $$
DECLARE
    sealed BIGINT := coalesce(nullif(current_setting('clerk_sync.sealed_through', true), ''), '0')::bigint;
    events JSONB;
    top    BIGINT;
BEGIN
    -- A statement after this (only if the constraint was made IMMEDIATE) marks again.
    PERFORM set_config('clerk_sync.marked', '', true);
    IF NOT EXISTS (SELECT 1 FROM pg_temp.clerk_sync_staged_changes WHERE ord > sealed) THEN
        RETURN NULL;
    END IF;
    events := nullif(current_setting('clerk_sync.events', true), '')::jsonb;
    PERFORM set_config('clerk_sync.sealed_through',
        coalesce((SELECT max(ord) FROM pg_temp.clerk_sync_staged_changes), sealed)::text, true);
    WITH staged AS (
        SELECT s.ord, s.kind, s.object_id, s.op, s.version, s.columns,
               coalesce(s.svix_id, events ->> s.object_id, events ->> s.parents[1],
                        events ->> s.parents[2]) AS svix_id
        FROM pg_temp.clerk_sync_staged_changes s
        WHERE s.ord > sealed
    ), grouped AS (
        -- Hash-grouped, no sort per group. A tombstone is terminal (nothing writes a
        -- live row over it), so the last op is the least ('tombstone' < 'upsert').
        -- `columns` are staged sorted: one write's are the change's.
        SELECT min(ord) AS first, kind, object_id, min(op) AS op, max(version) AS version,
               svix_id, count(*) AS writes, min(columns) AS columns
        FROM staged
        GROUP BY kind, object_id, svix_id
    ), counted AS (
        SELECT count(*) AS n FROM grouped
    ), numbered AS (
        -- The commit-order lock: held from here to the commit.
        UPDATE change_sequence SET last_seq = last_seq + (SELECT n FROM counted)
        RETURNING last_seq
    ), inserted AS (
        INSERT INTO changes (seq, kind, object_id, op, version, svix_id, committed_at, columns)
        SELECT numbered.last_seq - counted.n + row_number() OVER (ORDER BY g.first),
               g.kind, g.object_id, g.op, g.version, g.svix_id, clock_timestamp(),
               CASE WHEN g.writes = 1 THEN g.columns
                    ELSE ARRAY(SELECT DISTINCT c FROM staged s, unnest(s.columns) AS c
                               WHERE s.kind = g.kind AND s.object_id = g.object_id
                                 AND s.svix_id IS NOT DISTINCT FROM g.svix_id
                               ORDER BY c)
               END
        FROM grouped g, numbered, counted
        RETURNING seq
    )
    SELECT max(seq) INTO top FROM inserted;
    -- Wakes the relays (delivered at commit, like the rows).
    IF top IS NOT NULL THEN
        PERFORM pg_notify('clerk_sync_changes', top::text);
    END IF;
    RETURN NULL;
END;
$$;

-- Makes (or remakes, after a migration that changes the table's columns) the
-- trigger function and triggers that stage `tbl`'s changes as `kind`. A table
-- joins the feed with one call; the function compares each column by name, which
-- is why it is generated rather than written once with JSON.
CREATE FUNCTION clerk_sync_feed_track(tbl regclass, kind text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT SET jit = off AS $$
DECLARE
    cols     TEXT[];
    parents  TEXT[];
    fn       TEXT := format('%s_feed', (SELECT relname FROM pg_class WHERE oid = tbl));
    inserted TEXT;
    updated  TEXT;
BEGIN
    SELECT array_agg(attname::text ORDER BY attname) INTO cols
    FROM pg_attribute
    WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
      AND attname NOT IN ('id', 'synced_at', 'clerk_updated_at');
    SELECT coalesce(array_agg(c ORDER BY o), '{}') INTO parents
    FROM unnest(ARRAY['user_id', 'organization_id', 'payer_user_id', 'payer_organization_id'])
         WITH ORDINALITY AS p(c, o)
    WHERE c = ANY(cols);
    SELECT string_agg(format('CASE WHEN n.%1$I IS NOT NULL THEN %1$L END', c), ', ')
      INTO inserted FROM unnest(cols) AS c;
    SELECT string_agg(format('CASE WHEN n.%1$I IS DISTINCT FROM o.%1$I THEN %1$L END', c), ', ')
      INTO updated FROM unnest(cols) AS c;
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT SET jit = off AS $body$
        DECLARE
            current_event TEXT := nullif(current_setting('clerk_sync.svix_id', true), '');
            staged BIGINT;
        BEGIN
            PERFORM clerk_sync_feed_staging();
            IF TG_OP = 'INSERT' THEN
                INSERT INTO pg_temp.clerk_sync_staged_changes
                    (kind, object_id, op, version, svix_id, parents, columns)
                SELECT %2$L, n.id,
                       CASE WHEN n.deleted_at IS NULL THEN 'upsert' ELSE 'tombstone' END,
                       n.clerk_updated_at, current_event, %3$s,
                       array_remove(ARRAY[%4$s]::text[], NULL)
                FROM new_rows n;
            ELSE
                INSERT INTO pg_temp.clerk_sync_staged_changes
                    (kind, object_id, op, version, svix_id, parents, columns)
                SELECT * FROM (
                    SELECT %2$L, n.id,
                           CASE WHEN n.deleted_at IS NULL THEN 'upsert' ELSE 'tombstone' END,
                           n.clerk_updated_at, current_event, %3$s,
                           array_remove(ARRAY[%5$s]::text[], NULL) AS changed
                    FROM new_rows n JOIN old_rows o ON o.id = n.id
                ) c
                WHERE cardinality(c.changed) > 0;
            END IF;
            GET DIAGNOSTICS staged = ROW_COUNT;
            IF staged > 0 THEN
                PERFORM clerk_sync_feed_mark();
            END IF;
            RETURN NULL;
        END;
        $body$
    $f$, fn, kind,
        CASE WHEN cardinality(parents) = 0 THEN 'ARRAY[]::text[]'
             ELSE format('array_remove(ARRAY[%s]::text[], NULL)',
                         (SELECT string_agg(format('n.%I', p), ', ') FROM unnest(parents) AS p))
        END,
        inserted, updated);
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = tbl AND tgname = fn || '_insert') THEN
        EXECUTE format('DROP TRIGGER %I ON %s', fn || '_insert', tbl);
        EXECUTE format('DROP TRIGGER %I ON %s', fn || '_update', tbl);
    END IF;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I()', fn || '_insert', tbl, fn);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION %I()', fn || '_update', tbl, fn);
END;
$$;

SELECT clerk_sync_feed_track('users', 'user');
SELECT clerk_sync_feed_track('organizations', 'organization');
SELECT clerk_sync_feed_track('organization_memberships', 'organization_membership');
SELECT clerk_sync_feed_track('organization_invitations', 'organization_invitation');
SELECT clerk_sync_feed_track('organization_domains', 'organization_domain');
SELECT clerk_sync_feed_track('roles', 'role');
SELECT clerk_sync_feed_track('permissions', 'permission');
SELECT clerk_sync_feed_track('waitlist_entries', 'waitlist_entry');
SELECT clerk_sync_feed_track('billing_subscriptions', 'billing_subscription');
SELECT clerk_sync_feed_track('billing_subscription_items', 'billing_subscription_item');
SELECT clerk_sync_feed_track('billing_payment_attempts', 'billing_payment_attempt');

-- The feed for SQL readers (the app's read-only role): at most `max_rows` changes
-- after `after`, in seq order. A cursor behind the retention is an error
-- (SQLSTATE CS410), never a silent skip: resync from the tables.
CREATE FUNCTION changes_since(after BIGINT, max_rows INTEGER DEFAULT 1000)
RETURNS SETOF changes
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT SET jit = off AS $$
DECLARE
    pruned BIGINT;
BEGIN
    SELECT pruned_through INTO pruned FROM change_retention;
    IF after < pruned THEN
        RAISE EXCEPTION 'change feed cursor % is behind the retention: changes up to seq % were pruned', after, pruned
            USING ERRCODE = 'CS410',
                  HINT = 'Resync: note changes_head(), copy the tables you keep, then read changes_since(that head).';
    END IF;
    IF after > (SELECT last_seq FROM change_sequence) THEN
        RAISE EXCEPTION 'change feed cursor % is ahead of the feed, whose last seq is %', after, (SELECT last_seq FROM change_sequence)
            USING ERRCODE = 'CS409',
                  HINT = 'The feed was restored or recreated: resync (note changes_head(), copy the tables you keep, read changes_since(that head)).';
    END IF;
    RETURN QUERY SELECT * FROM changes WHERE seq > after ORDER BY seq LIMIT greatest(max_rows, 0);
END;
$$;

-- The newest seq committed (0 before any change): where a resync starts reading.
CREATE FUNCTION changes_head() RETURNS BIGINT
LANGUAGE sql STABLE SET search_path FROM CURRENT SET jit = off AS $$
    SELECT greatest(coalesce((SELECT max(seq) FROM changes), 0),
                    (SELECT pruned_through FROM change_retention));
$$;

-- `pg_temp` last on the feed's search_path: a session's temporary table named like
-- one of ours (`changes`) must not catch the feed's rows. `FROM CURRENT` above gave
-- each function the schema; this appends pg_temp after it.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
          AND (p.proname IN ('clerk_sync_feed_staging', 'clerk_sync_feed_mark', 'clerk_sync_feed_seal',
                             'clerk_sync_feed_track', 'changes_since', 'changes_head')
               OR p.proname LIKE '%\_feed')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END;
$$;
