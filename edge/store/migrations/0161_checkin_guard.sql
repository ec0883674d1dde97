-- Wrong codes typed at the kiosk's check-in (issue 19) no longer count toward the order's
-- handover lock (a stranger could lock a day's sequential order numbers): they are counted
-- here and slow further check-ins of that order down, with a growing delay.
ALTER TABLE pickup_orders ADD COLUMN checkin_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pickup_orders ADD COLUMN checkin_failed_at TEXT;
