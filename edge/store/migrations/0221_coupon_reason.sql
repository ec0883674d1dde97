-- Why a member got a personal coupon ({"fr": "...", "en": "..."}, from coupon.issued's
-- optional `reason`; issue 22): the kiosk shows it next to the coupon.
ALTER TABLE coupons ADD COLUMN reason TEXT;
