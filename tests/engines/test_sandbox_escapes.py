"""The read-only sandbox fails closed: escape attempts on both engines, in both dialects.

Every attempt in ESCAPES is run on DuckDB and on ClickHouse (chDB), with the user's SQL
read as the duckdb and as the clickhouse dialect (engines.dialect), and must be refused
with a typed error before any engine runs it: a probe wrapped around each engine's
execute() records every statement an engine is handed, and must stay empty. The few
attempts in HARMLESS do run, by design; each says why it is harmless, and the test
checks that its result holds no secret (a canary in the environment) and no sandbox
path. NORMAL is a set of everyday analytic queries that must keep running.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from doctordata.errors import (
    EngineError,
    ReadOnlyViolationError,
    SQLParseError,
    TableNotFoundError,
    UnsupportedSQLError,
)

# Content of a file outside every tier (made by the fixture, path in {canary}).
CANARY = "dd-sandbox-canary-7f3a9"

# Refusals that happen before any engine is handed the query. SQLParseError: the attempt
# is not valid SQL in that dialect; TableNotFoundError: a path or system name used as a
# table is not a lakehouse table.
REFUSED = (ReadOnlyViolationError, SQLParseError, UnsupportedSQLError, TableNotFoundError)

F = "\"file\"('/proc/self/environ')"

ESCAPES: dict[str, str] = {
    # -- ClickHouse's scalar file(), every spelling and place -------------------------
    "file unquoted": "SELECT file('/etc/passwd')",
    "file double-quoted": "SELECT \"file\"('/etc/passwd')",
    "file backticks": "SELECT `file`('/etc/passwd')",
    "file upper": "SELECT FILE('/etc/passwd')",
    "file mixed case": "SELECT File('/proc/self/environ')",
    "file quoted upper": "SELECT \"FILE\"('/proc/self/environ')",
    "file environ": f"SELECT {F}",
    "file in cte": f"WITH x AS (SELECT {F} AS f) SELECT * FROM x",
    "file in nested cte": f"WITH a AS (SELECT {F} AS f), b AS (SELECT f FROM a) SELECT * FROM b",
    "file in recursive cte": (
        f"WITH RECURSIVE r(n) AS (SELECT {F} UNION ALL SELECT n FROM r WHERE false) SELECT * FROM r"
    ),
    "file scalar subquery": f"SELECT (SELECT {F})",
    "file derived table": f"SELECT * FROM (SELECT {F} AS e) t",
    "file in where": f"SELECT 1 WHERE {F} <> ''",
    "file in order by": f"SELECT 1 ORDER BY {F}",
    "file in group by": f"SELECT count(*) FROM ev.t GROUP BY {F}",
    "file in having": f"SELECT count(*) FROM ev.t HAVING max({F}) > ''",
    "file in join on": f"SELECT * FROM ev.t a JOIN ev.t b ON {F} = b.s",
    "file in union": f"SELECT s FROM ev.t UNION ALL SELECT {F}",
    "file in exists": f"SELECT 1 WHERE EXISTS (SELECT {F})",
    "file in in-list": f"SELECT * FROM ev.t WHERE s IN ({F})",
    "file in lambda ch": "SELECT arrayMap(x -> \"file\"(x), ['/etc/passwd'])",
    "file canary": "SELECT file('{canary}')",
    "file canary quoted": "SELECT \"file\"('{canary}')",
    "file canary in cte": "WITH c AS (SELECT \"file\"('{canary}') AS x) SELECT x FROM c",
    "read_text canary": "SELECT * FROM read_text('{canary}')",
    "read_csv canary": "SELECT * FROM read_csv('{canary}')",
    "ch file table canary": "SELECT * FROM file('{canary}', 'CSV')",
    "file in lambda duck": "SELECT list_transform(['/etc/passwd'], x -> \"file\"(x))",
    "file in case": f"SELECT CASE WHEN 1 = 1 THEN {F} END",
    "file in coalesce": f"SELECT coalesce(NULL, {F})",
    "file in window": f"SELECT max({F}) OVER () FROM ev.t",
    "file nested in upper": f"SELECT upper({F})",
    "file as cast": f"SELECT CAST({F} AS VARCHAR)",
    "file in limit": f"SELECT 1 LIMIT length({F})",
    "file with comments": "SELECT /* a */ \"file\" /* b */ ('/etc/passwd') -- c",
    "file after block comment": "SELECT 1 /* */, \"file\"('/etc/passwd')",
    "file in qualify": f"SELECT a FROM ev.t QUALIFY {F} <> ''",
    "file schema-qualified": "SELECT system.file('/etc/passwd')",
    "file method call": "SELECT '/etc/passwd'.file()",
    "ch scalar with": "WITH \"file\"('/etc/passwd') AS f SELECT f",
    "file in any-subquery": f"SELECT * FROM ev.t WHERE s = ANY (SELECT {F})",
    "file in parametric agg": f"SELECT quantile(0.5)(length({F}))",
    "file in array literal": f"SELECT [{F}]",
    "file in struct": f"SELECT {{'x': {F}}}",
    "file in values": f"SELECT * FROM (VALUES ({F})) v(x)",
    "file in pivot source": f"SELECT * FROM (SELECT {F} AS k, 1 AS v) PIVOT (sum(v) FOR k IN ('a'))",
    "explain": "EXPLAIN SELECT 1",
    "explain analyze": f"EXPLAIN ANALYZE SELECT {F}",
    "file escaped quote": 'SELECT "fi""le"(\'/etc/passwd\')',
    # -- unicode look-alikes ------------------------------------------------------------
    "cyrillic e": "SELECT \"fil\u0435\"('/etc/passwd')",
    "fullwidth": "SELECT \"\uff46\uff49\uff4c\uff45\"('/etc/passwd')",
    "fi ligature": "SELECT \"\ufb01le\"('/etc/passwd')",
    "zero-width space": "SELECT \"fi\u200ble\"('/etc/passwd')",
    "dotted capital I": "SELECT \"F\u0130LE\"('/etc/passwd')",
    "dotless i": "SELECT \"f\u0131le\"('/etc/passwd')",
    "kelvin sign": "SELECT \"getSetting\u212a\"('readonly')",
    "nbsp suffix": "SELECT \"file\u00a0\"('/etc/passwd')",
    # -- ClickHouse settings, host and session probes ----------------------------------
    "getSetting": "SELECT getSetting('readonly')",
    "getSetting quoted": "SELECT \"getSetting\"('max_memory_usage')",
    "getSettingOrDefault": "SELECT getSettingOrDefault('x', 1)",
    "getServerSetting": "SELECT getServerSetting('tcp_port')",
    "getMergeTreeSetting": "SELECT getMergeTreeSetting('index_granularity')",
    "hostName": "SELECT hostName()",
    "hostname": "SELECT hostname()",
    "FQDN": "SELECT FQDN()",
    "fullHostName": "SELECT fullHostName()",
    "filesystemAvailable": "SELECT filesystemAvailable()",
    "filesystemCapacity": "SELECT filesystemCapacity()",
    "filesystemUnreserved": "SELECT filesystemUnreserved()",
    "currentDatabase": "SELECT currentDatabase()",
    "currentUser": "SELECT currentUser()",
    "currentRoles": "SELECT currentRoles()",
    "currentProfiles": "SELECT currentProfiles()",
    "currentQueryID": "SELECT currentQueryID()",
    "queryID": "SELECT queryID()",
    "initialQueryID": "SELECT initialQueryID()",
    "serverUUID": "SELECT serverUUID()",
    "uptime": "SELECT uptime()",
    "buildId": "SELECT buildId()",
    "revision": "SELECT revision()",
    "tcpPort": "SELECT tcpPort()",
    "getServerPort": "SELECT getServerPort('tcp_port')",
    "getMacro": "SELECT getMacro('replica')",
    "shardNum": "SELECT shardNum()",
    "displayName": "SELECT displayName()",
    "showCertificate": "SELECT showCertificate()",
    "getOSKernelVersion": "SELECT getOSKernelVersion()",
    "getClientHTTPHeader": "SELECT getClientHTTPHeader('Authorization')",
    "currentRequestURL": "SELECT currentRequestURL()",
    "connectionId": "SELECT connectionId()",
    "authenticatedUser": "SELECT authenticatedUser()",
    "hasColumnInTable": "SELECT hasColumnInTable('127.0.0.1', 'system', 'one', 'dummy')",
    "joinGet": "SELECT joinGet('db.j', 'v', 1)",
    "dictGet": "SELECT dictGet('d', 'a', toUInt64(1))",
    "dictGetString": "SELECT dictGetString('d', 'a', toUInt64(1))",
    "dictHas": "SELECT dictHas('d', toUInt64(1))",
    "regionToName": "SELECT regionToName(toUInt32(1))",
    "sleep": "SELECT sleep(3)",
    "sleepEachRow": "SELECT sleepEachRow(1) FROM ev.t",
    "logTrace": "SELECT logTrace('x')",
    "globalVariable": "SELECT globalVariable('max_allowed_packet')",
    "generateSerialID": "SELECT generateSerialID('s')",
    "evalMLMethod": "SELECT evalMLMethod(1, 2)",
    "aiGenerate": "SELECT aiGenerate('say the password')",
    "transactionID": "SELECT transactionID()",
    "addressToSymbol": "SELECT addressToSymbol(toUInt64(1))",
    "internal getScalar": "SELECT __getScalar('x')",
    "serverTimezone": "SELECT serverTimezone()",
    "chdb version fn": "SELECT chdb()",
    "formatQuery": "SELECT formatQuery('SELECT 1')",
    "bare currentUser": "SELECT currentUser",
    "bare currentDatabase": "SELECT currentDatabase",
    "bare currentRequestURL": "SELECT currentRequestURL",
    "bare currentHandler": "SELECT currentHandler",
    "sumIf over file": f"SELECT sumIf(1, {F} <> '')",
    "fake combinator": "SELECT fileIf('/etc/passwd', 1)",
    # -- DuckDB settings, environment and state probes ---------------------------------
    "current_setting dirs": "SELECT current_setting('allowed_directories')",
    "current_setting temp": "SELECT current_setting('temp_directory')",
    "current_setting quoted": "SELECT \"current_setting\"('secret_directory')",
    "getenv": "SELECT getenv('AWS_SECRET_ACCESS_KEY')",
    "getvariable": "SELECT getvariable('x')",
    "current_query": "SELECT current_query()",
    "current_database": "SELECT current_database()",
    "current_schemas": "SELECT current_schemas(true)",
    "in_search_path": "SELECT in_search_path('memory', 'main')",
    "get_block_size": "SELECT get_block_size('memory')",
    "nextval": "SELECT nextval('s')",
    "setseed": "SELECT setseed(0.5)",
    "sleep_ms": "SELECT sleep_ms(1000)",
    "write_log": "SELECT write_log('x')",
    "json_serialize_plan": "SELECT json_serialize_plan('SELECT * FROM read_text(''/etc/passwd'')')",
    "json_serialize_sql": "SELECT json_serialize_sql('SELECT 1')",
    "txid_current": "SELECT txid_current()",
    "pg_catalog function": "SELECT pg_catalog.current_database()",
    "pg_sleep": "SELECT pg_sleep(1)",
    "inet_server_addr": "SELECT inet_server_addr()",
    "has_table_privilege": "SELECT has_table_privilege('ev.t', 'SELECT')",
    # -- table functions reading files, URLs and other databases ----------------------
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "read_text quoted": "SELECT * FROM \"read_text\"('/etc/passwd')",
    "read_blob": "SELECT * FROM read_blob('/etc/shadow')",
    "read_blob in subquery": "SELECT (SELECT content FROM read_blob('/etc/shadow'))",
    "read_text lateral": "SELECT * FROM ev.t, LATERAL read_text('/etc/passwd')",
    "read_text join": "SELECT * FROM ev.t JOIN read_text('/etc/passwd') r ON true",
    "read_text from-first": "SELECT * FROM (FROM read_text('/etc/passwd'))",
    "glob": "SELECT * FROM glob('/etc/*')",
    "sniff_csv": "SELECT * FROM sniff_csv('/etc/passwd')",
    "read_csv outside": "SELECT * FROM read_csv('/etc/passwd')",
    "read_csv_auto outside": "SELECT * FROM read_csv_auto('/etc/passwd')",
    "read_json outside": "SELECT * FROM read_json('/etc/x.json')",
    "read_json_objects": "SELECT * FROM read_json_objects('/etc/x.json')",
    "read_parquet outside": "SELECT * FROM read_parquet('/etc/x.parquet')",
    "read_parquet s3 elsewhere": "SELECT * FROM read_parquet('s3://other-bucket/x.parquet')",
    "read_parquet https": "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "read_parquet dot-dot": "SELECT * FROM read_parquet('{tier}/../../etc/x.parquet')",
    "read_parquet glob in tier": "SELECT * FROM read_parquet('{tier}/**/*.parquet')",
    "read_parquet list one outside": (
        "SELECT * FROM read_parquet(['{tier}/a.parquet', '/etc/x.parquet'])"
    ),
    "read_parquet relative": "SELECT * FROM read_parquet('x.parquet')",
    "read_parquet computed path": "SELECT * FROM read_parquet(concat('/etc/', 'x.parquet'))",
    "read_csv struct option": (
        "SELECT * FROM read_csv('{tier}/x.csv', columns = {{'a': 'VARCHAR'}})"
    ),
    "parquet_metadata": "SELECT * FROM parquet_metadata('/etc/x.parquet')",
    "parquet_schema": "SELECT * FROM parquet_schema('/etc/x.parquet')",
    "parquet_kv_metadata": "SELECT * FROM parquet_kv_metadata('/etc/x.parquet')",
    "iceberg_scan": "SELECT * FROM iceberg_scan('/tmp/x')",
    "iceberg_metadata": "SELECT * FROM iceberg_metadata('/tmp/x')",
    "delta_scan": "SELECT * FROM delta_scan('/tmp/x')",
    "query()": "SELECT * FROM query('SELECT 1')",
    "query_table": "SELECT * FROM query_table('ev.t')",
    "duckdb_settings": "SELECT * FROM duckdb_settings()",
    "duckdb_secrets": "SELECT * FROM duckdb_secrets()",
    "duckdb_extensions": "SELECT * FROM duckdb_extensions()",
    "duckdb_functions": "SELECT * FROM duckdb_functions()",
    "duckdb_databases": "SELECT * FROM duckdb_databases()",
    "duckdb_memory": "SELECT * FROM duckdb_memory()",
    "duckdb_temporary_files": "SELECT * FROM duckdb_temporary_files()",
    "which_secret": "SELECT * FROM which_secret('s3://lake/x', 's3')",
    "pragma_version": "SELECT * FROM pragma_version()",
    "pragma_database_size": "SELECT * FROM pragma_database_size()",
    "pragma_table_info": "SELECT * FROM pragma_table_info('x')",
    "pragma_user_agent": "SELECT * FROM pragma_user_agent()",
    "checkpoint fn": "SELECT * FROM checkpoint()",
    "enable_logging": "SELECT * FROM enable_logging()",
    "json_execute_serialized_sql": "SELECT * FROM json_execute_serialized_sql('{{}}')",
    "sqlite_scan": "SELECT * FROM sqlite_scan('/tmp/x.db', 't')",
    "postgres_scan": "SELECT * FROM postgres_scan('host=127.0.0.1', 'public', 't')",
    "test_all_types": "SELECT * FROM test_all_types()",
    "replacement scan string": "SELECT * FROM '/etc/passwd'",
    "replacement scan quoted": 'SELECT * FROM "/etc/passwd"',
    "replacement scan csv": "SELECT * FROM '/etc/passwd.csv'",
    "replacement scan url": "SELECT * FROM 'https://example.com/x.csv'",
    "ch file table": "SELECT * FROM file('/etc/passwd', 'CSV')",
    "ch file structure": "SELECT * FROM file('/etc/passwd', 'CSV', 'line String')",
    "ch file default expr": (
        "SELECT * FROM file('{tier}/x.csv', 'CSV', 'a String DEFAULT file(''/proc/self/environ'')')"
    ),
    "ch file bad format": "SELECT * FROM file('{tier}/x.bin', 'RawBLOB')",
    "ch file glob": "SELECT * FROM file('{tier}/{{a,../../etc/passwd}}', 'CSV')",
    "ch url": "SELECT * FROM url('http://127.0.0.1:1/x', CSV)",
    "ch urlCluster": "SELECT * FROM urlCluster('default', 'http://127.0.0.1:1/x')",
    "ch s3 elsewhere": "SELECT * FROM s3('http://127.0.0.1:1/bucket/x.csv', 'CSV')",
    "ch s3Cluster": "SELECT * FROM s3Cluster('default', 'http://127.0.0.1:1/b/x')",
    "ch remote": "SELECT * FROM remote('127.0.0.1', system.one)",
    "ch remoteSecure": "SELECT * FROM remoteSecure('127.0.0.1', system.one)",
    "ch cluster": "SELECT * FROM cluster('default', system.one)",
    "ch clusterAllReplicas": "SELECT * FROM clusterAllReplicas('default', system.one)",
    "ch executable": "SELECT * FROM executable('cat /etc/passwd', 'CSV', 'x String')",
    "ch input": "SELECT * FROM input('x String')",
    "ch dictionary": "SELECT * FROM dictionary('d')",
    "ch merge": "SELECT * FROM merge('system', '.*')",
    "ch mysql": "SELECT * FROM mysql('127.0.0.1:3306', 'db', 't', 'u', 'p')",
    "ch postgresql": "SELECT * FROM postgresql('127.0.0.1:5432', 'db', 't', 'u', 'p')",
    "ch sqlite": "SELECT * FROM sqlite('/tmp/x.db', 't')",
    "ch odbc": "SELECT * FROM odbc('DSN=x', 't')",
    "ch jdbc": "SELECT * FROM jdbc('x', 't')",
    "ch hdfs": "SELECT * FROM hdfs('hdfs://127.0.0.1:9000/x', 'CSV')",
    "ch mongodb": "SELECT * FROM mongodb('127.0.0.1:27017', 'db', 'c', 'u', 'p', 'x String')",
    "ch redis": "SELECT * FROM redis('127.0.0.1:6379', 'k', 'k String')",
    "ch azureBlobStorage": "SELECT * FROM azureBlobStorage('http://127.0.0.1:1', 'c', 'x')",
    "ch gcs": "SELECT * FROM gcs('http://127.0.0.1:1/b/x', 'CSV')",
    "ch iceberg": "SELECT * FROM iceberg('/tmp/x')",
    "ch icebergLocal": "SELECT * FROM icebergLocal('/tmp/x')",
    "ch deltaLake": "SELECT * FROM deltaLake('/tmp/x')",
    "ch view": "SELECT * FROM view(SELECT 1)",
    "ch viewIfPermitted": "SELECT * FROM viewIfPermitted(SELECT 1 ELSE null('a Int8'))",
    "ch loop": "SELECT * FROM loop(numbers(1))",
    "ch format": "SELECT * FROM format(CSV, '1')",
    "ch generateRandom": "SELECT * FROM generateRandom('a Int8') LIMIT 1",
    "ch null": "SELECT * FROM null('a Int8')",
    "ch filesystem": "SELECT * FROM filesystem('/')",
    "ch fuzzJSON": "SELECT * FROM fuzzJSON('{{}}')",
    "ch fileCluster": "SELECT * FROM fileCluster('default', '/etc/passwd')",
    "ch mergeTreeIndex": "SELECT * FROM mergeTreeIndex('system', 'one')",
    # -- system tables and schemas ------------------------------------------------------
    "system.settings": "SELECT * FROM system.settings",
    "system.tables": "SELECT * FROM system.tables",
    "system.users": "SELECT * FROM system.users",
    "system.processes": "SELECT * FROM system.processes",
    "system.query_log": "SELECT * FROM system.query_log",
    "system.functions": "SELECT * FROM system.functions",
    "system.one": "SELECT * FROM system.one",
    "system.numbers": "SELECT * FROM system.numbers LIMIT 1",
    "system.disks": "SELECT * FROM system.disks",
    "system.build_options": "SELECT * FROM system.build_options",
    "system quoted": 'SELECT * FROM "system"."settings"',
    "system mixed case": "SELECT * FROM SyStEm.settings",
    "system in cte": "WITH s AS (SELECT * FROM system.settings) SELECT * FROM s",
    "system in scalar subquery": "SELECT (SELECT count(*) FROM system.tables)",
    "system in where": "SELECT * FROM ev.t WHERE a IN (SELECT 1 FROM system.one)",
    "system in join": "SELECT * FROM ev.t JOIN system.one o ON true",
    "information_schema": "SELECT * FROM information_schema.tables",
    "INFORMATION_SCHEMA upper": "SELECT * FROM INFORMATION_SCHEMA.COLUMNS",
    "pg_catalog": "SELECT * FROM pg_catalog.pg_settings",
    "three-part system": "SELECT * FROM system.main.duckdb_settings",
    "duckdb_settings bare": "SELECT * FROM duckdb_settings",
    # -- statements, clauses and settings ------------------------------------------------
    "attach": "ATTACH '/tmp/other.duckdb' AS o",
    "detach": "DETACH o",
    "copy to": "COPY ev.t TO '/tmp/out.csv'",
    "copy from": "COPY ev.t FROM '/etc/passwd'",
    "copy select": "COPY (SELECT 1) TO '/tmp/out.parquet' (FORMAT parquet)",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "set": "SET enable_external_access = true",
    "reset": "RESET allowed_directories",
    "set variable": "SET VARIABLE x = 1",
    "pragma": "PRAGMA database_list",
    "call": "CALL pragma_version()",
    "export database": "EXPORT DATABASE '/tmp/x'",
    "import database": "IMPORT DATABASE '/tmp/x'",
    "create secret": "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "create table": "CREATE TABLE x AS SELECT 1",
    "create view": "CREATE VIEW v AS SELECT 1",
    "create macro": "CREATE MACRO m(x) AS x",
    "create function ch": "CREATE FUNCTION f AS (x) -> x",
    "insert": "INSERT INTO ev.t VALUES (1, 'a')",
    "insert into function": "INSERT INTO FUNCTION file('/tmp/x.csv', 'CSV') SELECT 1",
    "update": "UPDATE ev.t SET a = 1",
    "delete": "DELETE FROM ev.t",
    "drop": "DROP TABLE ev.t",
    "alter": "ALTER TABLE ev.t ADD COLUMN z INT",
    "truncate": "TRUNCATE TABLE ev.t",
    "system reload": "SYSTEM RELOAD CONFIG",
    "kill query": "KILL QUERY WHERE 1",
    "optimize": "OPTIMIZE TABLE ev.t",
    "rename": "RENAME TABLE ev.t TO ev.u",
    "use": "USE ev",
    "show": "SHOW TABLES",
    "describe": "DESCRIBE ev.t",
    "summarize": "SUMMARIZE ev.t",
    "checkpoint": "CHECKPOINT",
    "vacuum": "VACUUM",
    "begin": "BEGIN TRANSACTION",
    "grant": "GRANT SELECT ON ev.t TO u",
    "select into": "SELECT * INTO t2 FROM ev.t",
    "into outfile": "SELECT 1 INTO OUTFILE '/tmp/x.csv'",
    "data-modifying cte": "WITH d AS (DELETE FROM ev.t RETURNING *) SELECT * FROM d",
    "stacked": "SELECT 1; SELECT 2",
    "stacked drop": "SELECT * FROM ev.t; DROP TABLE ev.t",
    "settings readonly": "SELECT 1 SETTINGS readonly = 0",
    "settings no timeout": "SELECT 1 SETTINGS max_execution_time = 0",
    "settings in subquery": "SELECT * FROM (SELECT 1 SETTINGS max_memory_usage = 0) t",
    "settings after cte": "WITH x AS (SELECT 1) SELECT * FROM x SETTINGS max_threads = 64",
    "format clause": "SELECT 1 FORMAT JSON",
}

# Run by design; each is harmless for the reason given. The result must not contain the
# canary from the environment or any sandbox directory.
HARMLESS: dict[str, tuple[str, str]] = {
    "version": ("SELECT version()", "the engine version is public and in every error"),
    "now": ("SELECT now(), current_date", "the clock"),
    "duckdb keyword functions": (
        "SELECT current_user, session_user, current_role",
        "DuckDB reads these keywords as functions: the constant user name 'duckdb'",
    ),
    "current_schema keyword": (
        "SELECT current_schema, current_catalog",
        "DuckDB's constants 'main' and 'memory'",
    ),
    "clickhouse bare user": (
        "SELECT user, database",
        "ClickHouse evaluates these as currentUser()/currentDatabase() when no column has "
        "the name: the configured user and database names, never a password",
    ),
    "string literal naming file": (
        "SELECT 'file(''/etc/passwd'')' AS s",
        "a string, not a call",
    ),
    "alias named file": ('SELECT 1 AS "file"', "an alias, not a call"),
    "call inside a line comment": ("SELECT 1 -- \"file\"('/etc/passwd')", "a comment"),
    "call inside a block comment": ("SELECT 1 /* \"file\"('/etc/passwd') */", "a comment"),
    "comment closer in a line comment": (
        "SELECT 1 -- */ \"file\"('/etc/passwd') /*",
        "a comment: sqlglot rewrites '*/' inside it so it cannot close early",
    ),
    "column named like a probe": (
        "SELECT s AS hostName FROM ev.t",
        "a column alias, not a call",
    ),
    "tier file read": (
        "SELECT count(*) FROM read_parquet('{file}')",
        "a literal path inside a lakehouse tier",
    ),
}

# Everyday analytics, written in the duckdb dialect: must keep running on both engines.
NORMAL = [
    "SELECT count(*), sum(a), avg(a), min(s), max(s) FROM ev.t",
    "SELECT s, count(*) AS n FROM ev.t GROUP BY s ORDER BY n DESC, s",
    "SELECT a, row_number() OVER (ORDER BY a) AS rn, lag(a) OVER (ORDER BY a) FROM ev.t",
    "SELECT a, sum(a) OVER (PARTITION BY a % 2 ORDER BY a) FROM ev.t ORDER BY a",
    "SELECT rank() OVER (ORDER BY s), dense_rank() OVER (ORDER BY s) FROM ev.t",
    "SELECT upper(s), lower(s), length(s), concat(s, '-', s), substring(s, 1, 1) FROM ev.t",
    "SELECT replace(s, 'a', 'b'), trim(' x '), s LIKE 'a%', regexp_matches(s, '^[ab]') FROM ev.t",
    "SELECT CASE WHEN a > 1 THEN 'big' ELSE 'small' END, coalesce(NULL, a), nullif(a, 1) FROM ev.t",
    "SELECT abs(-a), round(a / 3.0, 2), floor(a / 2), ceil(a / 2), power(a, 2), sqrt(a) FROM ev.t",
    "SELECT date_trunc('month', DATE '2026-11-15'), extract(year FROM DATE '2026-11-15')",
    "SELECT DATE '2026-11-15' + INTERVAL 3 DAY, date_diff('day', DATE '2026-01-01', DATE '2026-02-01')",
    "SELECT CAST(a AS VARCHAR), CAST('7' AS INTEGER), TRY_CAST('x' AS INTEGER) FROM ev.t",
    "WITH x AS (SELECT a FROM ev.t WHERE a > 1) SELECT count(*) FROM x",
    "SELECT * FROM ev.t WHERE a IN (SELECT max(a) FROM ev.t)",
    "SELECT * FROM ev.t WHERE EXISTS (SELECT 1 FROM ev.t u WHERE u.a = ev.t.a)",
    "SELECT t1.a, t2.s FROM ev.t t1 LEFT JOIN ev.t t2 ON t1.a = t2.a + 1 ORDER BY 1",
    "SELECT a FROM ev.t UNION SELECT a + 10 FROM ev.t ORDER BY 1",
    "SELECT count(DISTINCT s), approx_count_distinct(s) FROM ev.t",
    "SELECT count(*) FILTER (WHERE a > 1) FROM ev.t",
    "SELECT greatest(a, 2), least(a, 2), a % 2 = 0 FROM ev.t",
    "SELECT unnest([1, 2, 3]) AS x",
    "SELECT [1, 2, 3][2], array_length([1, 2, 3])",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) FROM r",
    "SELECT version() IS NOT NULL",
]

# Run on DuckDB only: sqlglot 30 does not translate them to ClickHouse (PERCENTILE_CONT,
# string_agg ... ORDER BY, hash(), range() as GENERATE_SERIES); not a sandbox matter.
NORMAL_DUCKDB_ONLY = [
    "SELECT median(a), quantile_cont(a, 0.5), stddev_samp(a), var_pop(a) FROM ev.t",
    "SELECT string_agg(s, ',' ORDER BY s) FROM ev.t",
    "SELECT md5(s), hash(s) IS NOT NULL FROM ev.t",
    "SELECT * FROM range(5) r(i) ORDER BY i",
]

# Written in the clickhouse dialect (engines.dialect = "clickhouse"), run on ClickHouse.
NORMAL_CLICKHOUSE = [
    "SELECT count(), sum(a), avg(a), uniq(s), any(s) FROM ev.t",
    "SELECT sumIf(a, a > 1), countIf(a > 1), argMax(s, a), groupArray(a) FROM ev.t",
    "SELECT quantile(0.5)(a), quantiles(0.1, 0.9)(a) FROM ev.t",
    "SELECT toStartOfMonth(toDate('2026-11-15')), toYear(toDate('2026-11-15'))",
    "SELECT arrayMap(x -> x * 2, [1, 2, 3]), arrayJoin([1, 2])",
    "SELECT multiIf(a > 2, 'c', a > 1, 'b', 'a'), if(a > 1, 1, 0) FROM ev.t",
    "SELECT number FROM numbers(3)",
    "SELECT toString(a), lower(s), positionCaseInsensitive(s, 'A') FROM ev.t",
]


def _lake(root: Path, chdb_url: str, dialect: str) -> Any:
    import doctordata as dd

    lh = dd.connect(root, engines={"clickhouse": chdb_url, "dialect": dialect})
    lh.create_namespace("ev")
    lh.create_table(
        "ev.t",
        pa.table({"a": pa.array([1, 2, 3], pa.int64()), "s": ["a", "b", "c"]}),
    )
    return lh


class Probe:
    """Records every statement an engine is handed for a user query (execute,
    execute_result)."""

    def __init__(self, lh: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        self._internal = 0
        for name in ("duckdb", "clickhouse"):
            self._wrap(lh.engine(name))

    def _wrap(self, eng: Any) -> None:
        real_execute = eng.execute

        def execute(sql: str, **kw: Any) -> Any:
            if not self._internal:
                self.calls.append((eng.name, sql))
            return real_execute(sql, **kw)

        eng.execute = execute
        real_result = eng.execute_result  # the router's call for a user's query

        def execute_result(sql: str, **kw: Any) -> Any:
            if not self._internal:
                self.calls.append((eng.name, sql))
            self._internal += 1  # its own execute() (the base class's) is the same call
            try:
                return real_result(sql, **kw)
            finally:
                self._internal -= 1

        eng.execute_result = execute_result
        # The router lists ClickHouse's own tables while resolving names: not user SQL.
        for method in ("native_tables", "serving_copies"):
            self._mark_internal(eng, method)

    def _mark_internal(self, eng: Any, method: str) -> None:
        real = getattr(eng, method)

        def wrapped(*args: Any, **kw: Any) -> Any:
            self._internal += 1
            try:
                return real(*args, **kw)
            finally:
                self._internal -= 1

        setattr(eng, method, wrapped)


@pytest.fixture(scope="module", params=["duckdb", "clickhouse"])
def dialect_lake(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chdb_url: str
) -> Iterator[tuple[Any, Probe, str]]:
    base = tmp_path_factory.mktemp(f"escapes-{request.param}")
    canary = base / "outside" / "secret.csv"
    canary.parent.mkdir()
    canary.write_text(f"key\n{CANARY}\n")
    lh = _lake(base / "lake", chdb_url, request.param)
    lh.canary_path = str(canary)
    probe = Probe(lh)
    yield lh, probe, request.param
    lh.close()


def _fill(sql: str, lh: Any) -> str:
    path = lh.table("ev.t").inspect.files().column("file_path")[0].as_py()
    for key, value in (
        ("{tier}", lh.hot_tier.root.rstrip("/")),
        ("{file}", path.removeprefix("file://")),
        ("{canary}", lh.canary_path),
        ("{{", "{"),
        ("}}", "}"),
    ):
        sql = sql.replace(key, value)
    return sql


def test_at_least_150_escape_attempts() -> None:
    assert len(ESCAPES) >= 150


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
@pytest.mark.parametrize("name", list(ESCAPES))
def test_escape_refused_before_engine(
    dialect_lake: tuple[Any, Probe, str], engine: str, name: str
) -> None:
    lh, probe, dialect = dialect_lake
    sql = _fill(ESCAPES[name], lh)
    probe.calls.clear()
    with pytest.raises(REFUSED) as info:
        lh.sql(sql, engine=engine)
    assert probe.calls == [], f"{engine} was handed {probe.calls} ({dialect} dialect)"
    message = str(info.value)
    assert len(message) > 25
    if isinstance(info.value, ReadOnlyViolationError):
        assert "refuse" in message or "exactly one" in message, message


AUTO_SAMPLE = [
    "file double-quoted",
    "file in cte",
    "fi ligature",
    "getSetting",
    "current_setting dirs",
    "read_text",
    "ch file default expr",
    "system.settings",
    "settings readonly",
    "bare currentUser",
]


@pytest.mark.parametrize("name", AUTO_SAMPLE)
def test_escape_refused_with_engine_auto(dialect_lake: tuple[Any, Probe, str], name: str) -> None:
    """engine='auto' picks the engine late: a call must be allowed on both to pass."""
    lh, probe, _ = dialect_lake
    probe.calls.clear()
    with pytest.raises(REFUSED):
        lh.sql(_fill(ESCAPES[name], lh), engine="auto")
    assert probe.calls == []


@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
@pytest.mark.parametrize("name", list(HARMLESS))
def test_harmless_by_design(dialect_lake: tuple[Any, Probe, str], engine: str, name: str) -> None:
    lh, _, _ = dialect_lake
    sql = _fill(HARMLESS[name][0], lh)
    try:
        rows = lh.sql(sql, engine=engine).fetchall()
    except (EngineError, *REFUSED):
        return  # refused or unknown on this engine/dialect: harmless too
    text = repr(rows)
    assert CANARY not in text
    assert str(lh.root) not in text


DUCKDB_DIALECT = pytest.mark.parametrize("dialect_lake", ["duckdb"], indirect=True)
CLICKHOUSE_DIALECT = pytest.mark.parametrize("dialect_lake", ["clickhouse"], indirect=True)


@DUCKDB_DIALECT
@pytest.mark.parametrize("engine", ["duckdb", "clickhouse"])
@pytest.mark.parametrize("sql", NORMAL)
def test_normal_analytics_still_run(
    dialect_lake: tuple[Any, Probe, str], engine: str, sql: str
) -> None:
    lh, probe, _ = dialect_lake
    probe.calls.clear()
    result = lh.sql(sql, engine=engine)
    assert len(result) >= 1
    assert [e for e, _ in probe.calls] == [engine]  # the probe sees real queries


@DUCKDB_DIALECT
@pytest.mark.parametrize("sql", NORMAL_DUCKDB_ONLY)
def test_normal_duckdb_only_analytics_run(dialect_lake: tuple[Any, Probe, str], sql: str) -> None:
    lh, _, _ = dialect_lake
    assert len(lh.sql(sql, engine="duckdb")) >= 1


@CLICKHOUSE_DIALECT
@pytest.mark.parametrize("sql", NORMAL_CLICKHOUSE)
def test_normal_clickhouse_dialect_analytics_run(
    dialect_lake: tuple[Any, Probe, str], sql: str
) -> None:
    lh, _, _ = dialect_lake
    assert len(lh.sql(sql, engine="clickhouse")) >= 1


def test_canary_is_readable_without_the_sandbox(dialect_lake: tuple[Any, Probe, str]) -> None:
    """The escapes above would leak: the same file() call sent to chDB directly reads it."""
    lh, _, _ = dialect_lake
    rows = lh.engine("clickhouse").execute(f"SELECT \"file\"('{lh.canary_path}')")
    assert CANARY in rows.column(0)[0].as_py()


# -- the allow-lists themselves ---------------------------------------------------------
def test_sqlglot_allow_list_names_real_function_classes() -> None:
    from sqlglot import exp

    from doctordata.engines import allowlist

    missing = [n for n in allowlist.SQLGLOT_FUNCTIONS if not hasattr(exp, n)]
    assert missing == []
    assert all(issubclass(getattr(exp, n), exp.Func) for n in allowlist.SQLGLOT_FUNCTIONS)


def test_duckdb_allow_list_names_real_functions_and_bare_calls_are_known() -> None:
    """Every listed name exists; every name DuckDB evaluates bare is allowed or harmless."""
    import duckdb

    from doctordata.engines import allowlist

    con = duckdb.connect()
    rows = con.execute("SELECT function_name FROM duckdb_functions()").fetchall()
    names = {r[0].lower() for r in rows}
    assert sorted(allowlist.DUCKDB_FUNCTIONS - names) == []
    bare = set()
    for name in sorted(names):
        if name.replace("_", "").isalnum():
            try:
                con.execute(f"SELECT {name}")
            except duckdb.Error:
                continue
            bare.add(name)
    unknown = bare - allowlist.DUCKDB_BARE_CALLS_HARMLESS - allowlist.BARE_CALLS_REFUSED
    assert sorted(unknown) == [], "list these in allowlist.py as harmless or refused"


@DUCKDB_DIALECT
def test_clickhouse_allow_list_names_real_functions_and_bare_calls_are_known(
    dialect_lake: tuple[Any, Probe, str],
) -> None:
    """The same for chDB: a new version's bare-evaluated names must be reviewed."""
    from doctordata.engines import allowlist

    lh, _, _ = dialect_lake
    eng = lh.engine("clickhouse")
    rows = eng.execute("SELECT name FROM system.functions").column(0).to_pylist()
    names = {n.lower(): n for n in rows}
    missing = allowlist.CLICKHOUSE_FUNCTIONS - set(names)
    assert sorted(missing) == []
    bare = set()
    for low, name in sorted(names.items()):
        if name.replace("_", "").isalnum():
            try:
                eng.execute(f"SELECT {name}")
            except EngineError:
                continue
            bare.add(low)
    harmless = allowlist.CLICKHOUSE_BARE_CALLS_HARMLESS | allowlist.BARE_CALLS_REFUSED
    assert sorted(bare - harmless) == [], "list these in allowlist.py as harmless or refused"
