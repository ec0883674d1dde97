-- Marketing consent per channel (contract 1.1 `consents` on customer.upserted; issue 22).
-- NULL = not known here yet (a 1.0 online store never sends it): treated as no consent.
ALTER TABLE customers ADD COLUMN consent_email INTEGER;
ALTER TABLE customers ADD COLUMN consent_sms INTEGER;
ALTER TABLE customers ADD COLUMN consents_updated_at TEXT;
