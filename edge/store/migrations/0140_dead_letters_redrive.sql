-- Dead letters you can act on (issue 18): how often one was applied again, and when last.
ALTER TABLE dead_letters ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN last_retry_at TEXT;
