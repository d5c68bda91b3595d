#!/usr/bin/env bash
# Regenerates the pgoutput fixtures in this folder from a REAL PostgreSQL 15.
#
# Usage: src/capture/testdata/capture_fixtures.sh [OUTPUT_DIR]
#
# Starts a throwaway cluster (wal_level=logical) in a fresh temp folder on a
# free loopback port, runs the workload below, and reads each scenario's
# changes with pg_logical_slot_get_binary_changes(..., 'proto_version','1',
# 'publication_names','lastro_pub','messages','true'). The `data` column of
# that function is byte-for-byte the payload pg_recvlogical / a walsender sends
# in an XLogData ('w') message, starting at the pgoutput message type byte.
#
# Each NAME.hex file holds one pgoutput message per line as lowercase hex;
# lines starting with '#' are comments. The cluster is stopped and deleted on
# exit. When run as root, initdb/postgres run as the `postgres` OS user.
#
# Needs: PostgreSQL 15 server binaries (PG_BIN, default /usr/lib/postgresql/15/bin).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
OUT_DIR=$(cd "${1:-$(dirname "$0")}" && pwd)
WORK=$(mktemp -d /tmp/lastro-capture-fixtures.XXXXXX)
DATA="$WORK/data"

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [[ $(id -u) -eq 0 ]]; then chown postgres: "$WORK"; fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$DATA" -w -l "$WORK/server.log" start -o \
  "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$WORK -c wal_level=logical -c max_replication_slots=4 -c max_wal_senders=4 -c fsync=off" >/dev/null

psql_() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }

# Writes the changes accumulated in the slot since the last call to $1.hex,
# decoding them with the session TimeZone $2 (pgoutput renders timestamptz in it).
dump() {
  local name=$1 tz=${2:-UTC}
  {
    echo "# pgoutput proto_version 1 messages captured from PostgreSQL $(psql_ -At -c 'SHOW server_version')"
    echo "# by capture_fixtures.sh (scenario '$name', session TimeZone $tz); one message per line, hex."
    psql_ -At -c "SET TimeZone = '$tz'" -c "SELECT encode(data, 'hex') FROM pg_logical_slot_get_binary_changes('lastro_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'lastro_pub', 'messages', 'true')"
  } >"$OUT_DIR/$name.hex"
  echo "wrote $OUT_DIR/$name.hex ($(grep -vc '^#' "$OUT_DIR/$name.hex") messages)"
}

psql_ >/dev/null <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE all_types (
  id        bigint PRIMARY KEY,
  b         boolean,
  i2        smallint,
  i4        integer,
  i8        bigint,
  o         oid,
  f4        real,
  f8        double precision,
  n         numeric(20, 6),
  n_free    numeric,
  t         text,
  vc        varchar(20),
  bp        char(5),
  nm        name,
  u         uuid,
  j         json,
  jb        jsonb,
  ba        bytea,
  d         date,
  ts        timestamp,
  tstz      timestamptz,
  tm        time,
  iv        interval,
  m         mood,
  a_i4      integer[],
  a_t       text[],
  a_n       numeric[],
  a_b       boolean[],
  a_jb      jsonb[],
  a_tstz    timestamptz[],
  a_i8_2d   bigint[][],
  a_f8      double precision[]
);
CREATE TABLE accounts (id integer PRIMARY KEY, owner text NOT NULL, balance numeric(12, 2));
CREATE TABLE ledger (id integer, note text);
ALTER TABLE ledger REPLICA IDENTITY FULL;
CREATE TABLE docs (id integer PRIMARY KEY, counter integer NOT NULL, body text);
ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE parent (id serial PRIMARY KEY);
CREATE TABLE child (id serial PRIMARY KEY, parent_id integer REFERENCES parent (id));
CREATE PUBLICATION lastro_pub FOR ALL TABLES;
SELECT 'init' FROM pg_create_logical_replication_slot('lastro_slot', 'pgoutput');
SQL

# --- types: every column type the JSON conversion supports, in two time zones.
psql_ >/dev/null <<'SQL'
SET TimeZone = 'America/Sao_Paulo';
INSERT INTO all_types VALUES (
  1, true, -32768, 2147483647, 9223372036854775807, 4294967295,
  3.25, 1.5e300, 12345678901234.123456, 'NaN',
  E'tab\there "quoted" \\ back', 'varchar é', 'ab', 'a_name',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"k": [1, 2.5, "x"]}', '{"b": {"c": null}, "a": 1}', '\xdeadbeef00ff',
  '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+00',
  '23:59:59.999999', '1 year 2 mons 3 days 04:05:06.5', 'happy',
  '{1,NULL,-3}', '{"a b","c,d","e\"f","g\\h",NULL,"NULL",""}', '{1.5,NaN,-0.000001}',
  '{t,f,NULL}', ARRAY['{"x": 1}'::jsonb, '[1, "two"]'::jsonb],
  ARRAY['2024-06-01 12:00:00+00'::timestamptz, '1999-12-31 23:59:59.5+00'::timestamptz],
  '{{1,2},{3,4}}', '{1.25,NaN,Infinity,-Infinity}');
INSERT INTO all_types (id, f4, f8, n_free, d, ts, tstz, ba, t)
  VALUES (2, 'NaN', '-Infinity', 'Infinity', 'infinity', '1969-12-31 23:59:59.999999',
          '1970-01-01 00:00:00+00', '\x', '');
INSERT INTO all_types (id) VALUES (3);
SQL
dump types America/Sao_Paulo

psql_ >/dev/null <<'SQL'
INSERT INTO all_types (id, tstz, ts, d, tm, a_tstz)
  VALUES (4, '2024-01-02 03:04:05.123456+00', '2000-01-01 00:00:00', '1970-01-01', '00:00:00',
          ARRAY['2024-01-02 03:04:05+00'::timestamptz]);
SQL
dump types_kolkata Asia/Kolkata

# --- update/delete: key tuples ('K') and full old tuples ('O').
psql_ >/dev/null <<'SQL'
INSERT INTO accounts VALUES (1, 'ana', 10.50), (2, 'bruno', NULL);
UPDATE accounts SET balance = 99.99 WHERE id = 1;
UPDATE accounts SET id = 20 WHERE id = 2;
DELETE FROM accounts WHERE id = 1;
INSERT INTO ledger VALUES (7, 'first');
UPDATE ledger SET note = 'second' WHERE id = 7;
DELETE FROM ledger WHERE id = 7;
SQL
dump update_delete

# --- an out-of-line TOASTed value left unchanged by an UPDATE arrives as 'u'.
psql_ >/dev/null <<'SQL'
INSERT INTO docs SELECT 1, 0, string_agg(md5(g::text), '') FROM generate_series(1, 400) g;
UPDATE docs SET counter = counter + 1 WHERE id = 1;
SQL
dump toast

# --- TRUNCATE of two tables with CASCADE and RESTART IDENTITY.
psql_ >/dev/null <<'SQL'
INSERT INTO parent DEFAULT VALUES;
INSERT INTO child (parent_id) VALUES (1);
TRUNCATE parent, child RESTART IDENTITY CASCADE;
TRUNCATE accounts;
SQL
dump truncate

# --- a schema change mid-stream: the second insert comes after a new Relation.
psql_ >/dev/null <<'SQL'
INSERT INTO accounts VALUES (3, 'carla', 1.00);
ALTER TABLE accounts ADD COLUMN email text;
INSERT INTO accounts VALUES (4, 'davi', 2.00, 'davi@example.com');
SQL
dump schema_change

# --- logical decoding messages, transactional and not.
psql_ >/dev/null <<'SQL'
SELECT 'm1' FROM pg_logical_emit_message(false, 'lastro.nontx', 'outside');
BEGIN;
SELECT 'm2' FROM pg_logical_emit_message(true, 'lastro.tx', E'\\x00ff'::bytea);
INSERT INTO accounts VALUES (5, 'eva', 0);
COMMIT;
SQL
dump message

# --- a transaction replayed from a replication origin carries an Origin message.
psql_ >/dev/null <<'SQL'
SELECT 'o' FROM pg_replication_origin_create('upstream_a');
SELECT 's' FROM pg_replication_origin_session_setup('upstream_a');
BEGIN;
SELECT 'x' FROM pg_replication_origin_xact_setup('0/ABCDEF12', '2024-01-02 03:04:05+00');
INSERT INTO accounts VALUES (6, 'fabio', 1);
COMMIT;
SELECT 'r' FROM pg_replication_origin_session_reset();
SQL
dump origin

psql_ -c "SELECT pg_drop_replication_slot('lastro_slot')" >/dev/null
