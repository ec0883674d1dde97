-- Store-credit vouchers (issue 16): a refund in store credit is paid in a coupon of the
-- contract (coupons.coupon_id = 'sc-' || return_id), named here so that the return, its
-- receipt and the history show the voucher's code. NULL for every other refund.
ALTER TABLE return_refunds ADD COLUMN coupon_id TEXT;
