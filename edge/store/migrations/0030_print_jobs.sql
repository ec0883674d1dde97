-- The durable print queue: a job is saved before any byte is sent, and marked done only
-- when the printer accepted the bytes. A reprint is a new job that names the one it repeats.
CREATE TABLE print_jobs (
    job_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    document      TEXT NOT NULL,          -- sale_receipt, pickup_slip, handover_receipt, loyalty_ticket, test_page
    printer_role  TEXT NOT NULL DEFAULT 'receipts',
    printer       TEXT,                   -- the printer that took it (or must take it)
    ref           TEXT,                   -- sale_id, order_id, …
    locale        TEXT,
    data          TEXT NOT NULL,          -- what the layout needs, as JSON
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'printing', 'waiting', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    next_try_at   TEXT,
    open_drawer   INTEGER NOT NULL DEFAULT 0,
    reprint_of    INTEGER REFERENCES print_jobs (job_id),
    requested_by  TEXT,
    created_at    TEXT NOT NULL,
    done_at       TEXT
);
CREATE INDEX print_jobs_open ON print_jobs (status, job_id) WHERE status != 'done';
CREATE INDEX print_jobs_ref ON print_jobs (ref);
