-- The journal's unfiltered total, kept exact by statement-level triggers, so the first page
-- of GET /api/stock/movements does not count a million rows per request. The count is
-- spread over 64 rows chosen by the writing session's backend pid, so concurrent writers
-- (each pooled connection is one session) rarely touch the same row; reading sums 64 rows.

-- No journal row may be written between counting and creating the triggers.
LOCK TABLE stock_movements IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE journal_count (
    shard smallint NOT NULL,
    n bigint NOT NULL DEFAULT 0,
    CONSTRAINT journal_count_pkey PRIMARY KEY (shard),
    CONSTRAINT journal_count_shard_check CHECK (shard >= 0 AND shard < 64)
);
INSERT INTO journal_count (shard, n) SELECT s, 0 FROM generate_series(0, 63) AS s;
UPDATE journal_count SET n = (SELECT count(*) FROM stock_movements) WHERE shard = 0;

CREATE FUNCTION journal_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE journal_count SET n = n + (SELECT count(*) FROM added)
    WHERE shard = pg_backend_pid() % 64;
    RETURN NULL;
END
$$;

CREATE FUNCTION journal_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE journal_count SET n = n - (SELECT count(*) FROM removed)
    WHERE shard = pg_backend_pid() % 64;
    RETURN NULL;
END
$$;

CREATE FUNCTION journal_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE journal_count SET n = 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER stock_movements_count_insert AFTER INSERT ON stock_movements
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION journal_count_added();
CREATE TRIGGER stock_movements_count_delete AFTER DELETE ON stock_movements
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION journal_count_removed();
CREATE TRIGGER stock_movements_count_truncate AFTER TRUNCATE ON stock_movements
    FOR EACH STATEMENT EXECUTE FUNCTION journal_count_truncated();
