"""The tables of campaigns, consents and outgoing messages (issue 22), run by
``db.create_schema`` after the shop's own. Portable SQL only (SQLite and PostgreSQL): no
rowid, no ``INSERT OR ...``, ``?`` placeholders in the code that reads and writes them."""

SCHEMA = """
-- Marketing consent per channel (contract 1.1 ``consents``), no row = no consent.
CREATE TABLE IF NOT EXISTS customer_consents (
    customer_id TEXT PRIMARY KEY,
    email INTEGER NOT NULL DEFAULT 0,
    sms INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT
);
-- The customer version in which each field last changed: a store's customer.updated made
-- on an older base_version never overrides a field the web changed since.
CREATE TABLE IF NOT EXISTS customer_field_versions (
    customer_id TEXT NOT NULL,
    field TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (customer_id, field)
);
-- A campaign: an offer, its channels, its SMS keyword, its landing page and its audience.
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    keyword TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    offer_id TEXT NOT NULL,
    channels TEXT NOT NULL,
    question TEXT NOT NULL,
    options TEXT NOT NULL,
    audience TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
-- Numbers that sent STOP: they get nothing more by SMS until they consent again.
CREATE TABLE IF NOT EXISTS sms_stops (
    phone TEXT PRIMARY KEY,
    stopped_at TEXT NOT NULL
);
-- Every inbound SMS and what became of it (keyword, stop, stopped, unknown, invalid).
CREATE TABLE IF NOT EXISTS sms_in (
    sms_id TEXT PRIMARY KEY,
    from_number TEXT NOT NULL,
    body TEXT NOT NULL,
    campaign_id TEXT,
    outcome TEXT NOT NULL,
    received_at TEXT NOT NULL
);
-- Outgoing SMS, an outbox: written in the change's transaction, sent after it by the
-- dispatcher through the configured gateway, marked sent with the gateway's message id.
CREATE TABLE IF NOT EXISTS sms_out (
    sms_id TEXT PRIMARY KEY,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    campaign_id TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    provider_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
-- What became of each sent_messages row over SMTP (no row yet: waiting to be sent).
CREATE TABLE IF NOT EXISTS mail_deliveries (
    message_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at TEXT NOT NULL
);
-- Landing-page visitors, once each (a cookie), and the SMS that brought them if any.
CREATE TABLE IF NOT EXISTS landing_visits (
    campaign_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    sms_id TEXT,
    first_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, visitor_id)
);
CREATE TABLE IF NOT EXISTS campaign_signups (
    campaign_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    answer INTEGER,
    new_member INTEGER NOT NULL,
    delivery TEXT NOT NULL,
    visitor_id TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);
-- The personal coupons a campaign issued, from the landing page or its audience rule, and
-- why (shown at the kiosk).
CREATE TABLE IF NOT EXISTS campaign_coupons (
    coupon_id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    source TEXT NOT NULL,
    reason TEXT,
    UNIQUE (campaign_id, customer_id)
);
CREATE TABLE IF NOT EXISTS audience_runs (
    campaign_id TEXT NOT NULL,
    ran_at TEXT NOT NULL,
    matched INTEGER NOT NULL,
    issued INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, ran_at)
);
"""
