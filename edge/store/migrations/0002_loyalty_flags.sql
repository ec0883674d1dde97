-- Members whose merged balance went below zero (a double spend across channels while the
-- link was down). Kept up to date when an entry is inserted, so /readyz and the metrics read
-- a handful of rows instead of summing the whole ledger.
CREATE TABLE loyalty_negative (
    customer_id  TEXT PRIMARY KEY,
    balance      INTEGER NOT NULL,
    flagged_at   TEXT NOT NULL
);
INSERT INTO loyalty_negative (customer_id, balance, flagged_at)
    SELECT customer_id, SUM(points), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    FROM loyalty_entries GROUP BY customer_id HAVING SUM(points) < 0;
