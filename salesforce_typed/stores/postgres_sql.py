"""The SQL of `PostgresTokenStore`: its tables and one statement per store operation.

Table names are `{tokens}`, `{locks}`, `{leases}`, `{checkpoints}` placeholders, filled with
the store's prefixed identifiers (`psycopg.sql`). Every expiry is judged by the server's
`clock_timestamp()`, so replicas with skewed clocks agree on who holds a lock or a lease.
`:replay` statements are the retries after a broken connection: they also match the row the
first attempt may have committed (see `postgres.py`).

A checkpoint row holds an int replay id in `replay_id` or a bytes one in `replay_bytes`,
never both (`one_replay_position`). Tables made before bytes ids existed (`replay_id bigint
NOT NULL`, no `replay_bytes`) are migrated in place by the last DDL statement, which alters
only a table that still lacks the column: a migrated table is not locked again.
"""

from __future__ import annotations

__all__ = ["DDL", "STATEMENTS"]

DDL = (
    """CREATE TABLE IF NOT EXISTS {tokens} (
        key text PRIMARY KEY, version bigint NOT NULL, data text NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {locks} (
        key text PRIMARY KEY, owner text NOT NULL, expires_at timestamptz NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {leases} (
        name text PRIMARY KEY, epoch bigint NOT NULL, owner text,
        expires_at timestamptz NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {checkpoints} (
        channel text PRIMARY KEY, replay_id bigint, replay_bytes bytea,
        lease_name text NOT NULL, epoch bigint NOT NULL, updated_at timestamptz NOT NULL,
        CONSTRAINT one_replay_position CHECK ((replay_id IS NULL) <> (replay_bytes IS NULL)))""",
    # '{checkpoints}' renders as '"<name>"': the quoted identifier, as text for ::regclass.
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '{checkpoints}'::regclass
                AND attname = 'replay_bytes' AND NOT attisdropped) THEN
            ALTER TABLE {checkpoints} ADD COLUMN IF NOT EXISTS replay_bytes bytea,
                ALTER COLUMN replay_id DROP NOT NULL,
                ADD CONSTRAINT one_replay_position
                    CHECK ((replay_id IS NULL) <> (replay_bytes IS NULL));
        END IF;
    END $$""",
)

_TTL = "clock_timestamp() + make_interval(secs => %(ttl)s)"

STATEMENTS = {
    "acquire_lock": f"""
        INSERT INTO {{locks}} AS l (key, owner, expires_at) VALUES (%(key)s, %(owner)s, {_TTL})
        ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
        WHERE l.expires_at <= clock_timestamp()
        RETURNING 1""",
    # Deletes the caller's own expired row too, but reports False for it (it was not held).
    "release_lock": """
        DELETE FROM {locks} WHERE key = %(key)s AND owner = %(owner)s
        RETURNING expires_at > clock_timestamp()""",
    "renew_lock": f"""
        UPDATE {{locks}} SET expires_at = {_TTL}
        WHERE key = %(key)s AND owner = %(owner)s AND expires_at > clock_timestamp()
        RETURNING 1""",
    "get_token_data": "SELECT data FROM {tokens} WHERE key = %(key)s",
    "create_token_data": """
        INSERT INTO {tokens} (key, version, data) VALUES (%(key)s, %(version)s, %(data)s)
        ON CONFLICT (key) DO NOTHING RETURNING 1""",
    "update_token_data": """
        UPDATE {tokens} SET version = %(version)s, data = %(data)s
        WHERE key = %(key)s AND version = %(expected)s RETURNING 1""",
    # Retries after a broken connection (see the module docstring). The SELECT reads the
    # snapshot from before the write, so it matches only a row the first attempt committed.
    "acquire_lock:replay": f"""
        INSERT INTO {{locks}} AS l (key, owner, expires_at) VALUES (%(key)s, %(owner)s, {_TTL})
        ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
        WHERE l.expires_at <= clock_timestamp() OR l.owner = EXCLUDED.owner
        RETURNING 1""",
    "create_token_data:replay": """
        WITH w AS (
            INSERT INTO {tokens} (key, version, data) VALUES (%(key)s, %(version)s, %(data)s)
            ON CONFLICT (key) DO NOTHING RETURNING 1)
        SELECT 1 FROM w UNION ALL SELECT 1 FROM {tokens}
        WHERE key = %(key)s AND version = %(version)s AND data = %(data)s""",
    "update_token_data:replay": """
        WITH w AS (
            UPDATE {tokens} SET version = %(version)s, data = %(data)s
            WHERE key = %(key)s AND version = %(expected)s RETURNING 1)
        SELECT 1 FROM w UNION ALL SELECT 1 FROM {tokens}
        WHERE key = %(key)s AND version = %(version)s AND data = %(data)s""",
    "clear_token_data": "DELETE FROM {tokens} WHERE key = %(key)s",
    "try_acquire_lease": f"""
        INSERT INTO {{leases}} AS l (name, epoch, owner, expires_at)
        VALUES (%(name)s, 1, %(owner)s, {_TTL})
        ON CONFLICT (name) DO UPDATE
        SET epoch = l.epoch + 1, owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
        WHERE l.owner IS NULL OR l.expires_at <= clock_timestamp()
        RETURNING epoch, extract(epoch FROM expires_at)::float8""",
    "renew_lease": f"""
        UPDATE {{leases}} SET expires_at = {_TTL}
        WHERE name = %(name)s AND owner = %(owner)s AND epoch = %(epoch)s RETURNING 1""",
    "release_lease": """
        UPDATE {leases} SET owner = NULL, expires_at = clock_timestamp()
        WHERE name = %(name)s AND owner = %(owner)s AND epoch = %(epoch)s RETURNING 1""",
    "write_checkpoint": """
        WITH fence AS (
            SELECT 1 FROM {leases}
            WHERE name = %(lease)s AND epoch = %(epoch)s AND owner IS NOT NULL FOR SHARE)
        INSERT INTO {checkpoints} AS c
            (channel, replay_id, replay_bytes, lease_name, epoch, updated_at)
        SELECT %(channel)s, %(replay_id)s::bigint, %(replay_bytes)s::bytea, %(lease)s,
            %(epoch)s, clock_timestamp() FROM fence
        ON CONFLICT (channel) DO UPDATE SET replay_id = EXCLUDED.replay_id,
            replay_bytes = EXCLUDED.replay_bytes,
            lease_name = EXCLUDED.lease_name, epoch = EXCLUDED.epoch,
            updated_at = EXCLUDED.updated_at
        RETURNING 1""",
    "read_checkpoint": """
        SELECT replay_id, replay_bytes FROM {checkpoints} WHERE channel = %(channel)s""",
}
