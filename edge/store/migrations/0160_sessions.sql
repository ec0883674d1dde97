-- Sessions that end (issue 19). A screen's cookie carries only ids and an epoch; every
-- request checks them against these rows, so revoking a token, disabling a staff member,
-- changing a PIN or `passerelle staff disable` ends every session made with them at once.
ALTER TABLE api_tokens ADD COLUMN session_epoch TEXT;
UPDATE api_tokens SET session_epoch = lower(hex(randomblob(8)));
ALTER TABLE staff ADD COLUMN session_epoch TEXT;
UPDATE staff SET session_epoch = lower(hex(randomblob(8)));

-- The key that signed session cookies was kept in the database, so every backup held it:
-- it now comes from a credential file (edge.web.secrets) and the stored copy is erased.
DELETE FROM sync_state WHERE key = 'secret_key';

-- A kiosk is paired by POSTing a one-time code (`passerelle kiosk pair-code`), never by a
-- token in a URL. Only the code's SHA-256 is kept; a code works once, until it expires.
CREATE TABLE kiosk_pair_codes (
    code_hash   TEXT PRIMARY KEY,
    token_name  TEXT NOT NULL,              -- an api_tokens name; its revocation voids the code
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

-- PIN failures per staff member (not per address, not per worker): a growing delay, then a
-- lockout that only an admin lifts (`passerelle staff set-pin` or `staff unlock`).
ALTER TABLE staff ADD COLUMN failed_pins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN last_failed_at TEXT;
ALTER TABLE staff ADD COLUMN locked_at TEXT;
