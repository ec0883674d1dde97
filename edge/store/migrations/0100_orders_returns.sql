-- Every order in the one history (issue 16): click-and-collect purchases, payment at pickup,
-- tenders, returns, exchanges and voids. Nothing is ever deleted: a void is a full return.

-- Contract 1.1: a web order's purchase names its order and how it was fulfilled.
ALTER TABLE purchases ADD COLUMN order_id TEXT;
ALTER TABLE purchases ADD COLUMN fulfilment TEXT;
CREATE INDEX purchases_order ON purchases (order_id) WHERE order_id IS NOT NULL;

-- A sale may pay for a click-and-collect order (at most one sale per order), and may be the
-- new half of an exchange.
ALTER TABLE sales ADD COLUMN order_id TEXT;
ALTER TABLE sales ADD COLUMN exchange_of TEXT;
ALTER TABLE sales ADD COLUMN change_due INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX sales_order ON sales (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX sales_terminal ON sales (terminal_id, occurred_at);

-- The tenders of a sale, summing to its total. No card data: what the terminal accepted.
CREATE TABLE sale_payments (
    sale_id   TEXT NOT NULL REFERENCES sales (sale_id),
    n         INTEGER NOT NULL,
    method    TEXT NOT NULL CHECK (method IN ('card', 'cash', 'voucher', 'store_credit', 'other')),
    amount    INTEGER NOT NULL CHECK (amount > 0),
    tendered  INTEGER,                      -- cash handed over (the change is the difference)
    PRIMARY KEY (sale_id, n)
) WITHOUT ROWID;

-- Goods brought back, from a purchase of the one history: a store sale (this store's or
-- another's) or a web order. origin 'down': a return made elsewhere (the web, another
-- store), kept so that the "never more than bought" check counts it.
CREATE TABLE returns (
    return_id        TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('return', 'void', 'exchange')),
    original_kind    TEXT NOT NULL CHECK (original_kind IN ('sale', 'order')),
    original_id      TEXT NOT NULL,
    purchase_id      TEXT NOT NULL,         -- the purchase row it takes back from
    store_id         TEXT,
    terminal_id      TEXT,
    cashier_id       TEXT,
    customer_id      TEXT,
    occurred_at      TEXT NOT NULL,
    currency         TEXT NOT NULL,
    total_refunded   INTEGER NOT NULL CHECK (total_refunded >= 0),
    points_reversed  INTEGER NOT NULL DEFAULT 0,
    points_restored  INTEGER NOT NULL DEFAULT 0,
    reason           TEXT NOT NULL,
    approved_by      TEXT,                  -- the manager whose PIN allowed it
    exchange_of      TEXT,                  -- the sale of the same exchange
    origin           TEXT NOT NULL CHECK (origin IN ('local', 'down')),
    recorded_at      TEXT NOT NULL
);
CREATE INDEX returns_purchase ON returns (purchase_id);
CREATE INDEX returns_customer ON returns (customer_id, occurred_at) WHERE customer_id IS NOT NULL;

CREATE TABLE return_lines (
    return_id  TEXT NOT NULL REFERENCES returns (return_id),
    line_no    INTEGER NOT NULL,
    sku        TEXT NOT NULL,
    name       TEXT NOT NULL,
    qty        INTEGER NOT NULL CHECK (qty > 0),
    refund     INTEGER NOT NULL CHECK (refund >= 0),
    PRIMARY KEY (return_id, line_no)
) WITHOUT ROWID;

CREATE TABLE return_refunds (
    return_id  TEXT NOT NULL REFERENCES returns (return_id),
    n          INTEGER NOT NULL,
    method     TEXT NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    PRIMARY KEY (return_id, n)
) WITHOUT ROWID;
