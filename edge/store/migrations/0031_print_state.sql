-- A job found 'printing' when the worker starts may already be on paper: it is printed
-- again (a lost receipt is worse than a duplicate), marked as such and without the drawer kick.
ALTER TABLE print_jobs ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;

-- The last known state of each configured printer, written by the print worker, read by
-- the API, /readyz and the metrics (they never talk to a printer themselves).
CREATE TABLE printer_state (
    name        TEXT PRIMARY KEY,
    ok          INTEGER NOT NULL,
    online      INTEGER,
    paper       TEXT,                   -- ok, low, out, or NULL when not queryable
    last_error  TEXT,
    checked_at  TEXT NOT NULL,
    last_ok_at  TEXT
);
