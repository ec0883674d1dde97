-- Cross-channel offers and their coupons (issue 10). Offers and coupons come down from the
-- online store; redemptions come from every channel, the store's own included. There are
-- no foreign keys between the three tables on purpose: the events may arrive out of order
-- (a coupon before its offer, a redemption before its coupon) and must all be kept.

CREATE TABLE offers (
    offer_id     TEXT PRIMARY KEY,
    version      INTEGER NOT NULL DEFAULT 0,
    title        TEXT NOT NULL DEFAULT '{}',          -- JSON: {"fr": "…", "en": "…"}
    kind         TEXT NOT NULL CHECK (kind IN ('percent', 'amount')),
    value        INTEGER NOT NULL CHECK (value >= 0),  -- percent, or minor units
    min_total    INTEGER NOT NULL DEFAULT 0 CHECK (min_total >= 0),
    skus         TEXT NOT NULL DEFAULT '[]',          -- JSON array; empty = whole basket
    valid_from   TEXT,
    valid_until  TEXT,
    active       INTEGER NOT NULL DEFAULT 1,
    updated_at   TEXT NOT NULL
);

-- A code is matched without regard to case (shoppers type them).
CREATE TABLE coupons (
    coupon_id    TEXT PRIMARY KEY,
    offer_id     TEXT NOT NULL,
    code         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    customer_id  TEXT,                                -- NULL: anyone may use it
    max_uses     INTEGER NOT NULL DEFAULT 1 CHECK (max_uses >= 1),
    issued_at    TEXT NOT NULL,
    channel      TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);
CREATE INDEX coupons_customer ON coupons (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX coupons_offer ON coupons (offer_id);

-- Uses of a coupon = COUNT(*) here, from all channels. The store's own redemption comes back
-- down with the same redemption_id and is ignored, so it is never counted twice.
CREATE TABLE coupon_redemptions (
    redemption_id  TEXT PRIMARY KEY,
    coupon_id      TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('web', 'store')),
    store_id       TEXT,
    ref            TEXT,
    discount       INTEGER NOT NULL CHECK (discount >= 0),
    occurred_at    TEXT NOT NULL,
    origin         TEXT NOT NULL CHECK (origin IN ('local', 'down')),
    recorded_at    TEXT NOT NULL
);
CREATE INDEX coupon_redemptions_coupon ON coupon_redemptions (coupon_id);
CREATE INDEX coupon_redemptions_ref ON coupon_redemptions (ref);

-- How a store redemption's discount was spread over the sale's lines (largest remainder), so
-- that a return or a receipt line knows its share. line_no is purchase_lines.line_no.
CREATE TABLE coupon_redemption_lines (
    redemption_id  TEXT NOT NULL REFERENCES coupon_redemptions (redemption_id),
    line_no        INTEGER NOT NULL,
    discount       INTEGER NOT NULL CHECK (discount >= 0),
    PRIMARY KEY (redemption_id, line_no)
) WITHOUT ROWID;

-- Coupons used more often than allowed once every channel's redemptions were merged (a
-- double use across channels during an outage): flagged, never hidden.
CREATE TABLE coupon_overuse (
    coupon_id    TEXT PRIMARY KEY,
    max_uses     INTEGER NOT NULL,
    uses         INTEGER NOT NULL,
    flagged_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
