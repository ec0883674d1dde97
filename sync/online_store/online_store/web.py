"""The online-store side's small web app: the backfill endpoint and a few server-rendered
pages (no JavaScript, no CDN) to play the website in the demo.

Routes stay thin: they parse the form or the query, call the ``OnlineStore`` (which calls
``shop``), and render. A refused action (``ShopError``) is shown with its message and a 4xx.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFProtect

from online_store import auth as backfill_auth
from online_store import campaign_web, checkout, coupons, fleet, pages, shop, stock, streams
from online_store.pages import qr_svg
from sync import contract

if TYPE_CHECKING:
    from online_store.service import OnlineStore

BATCH_TYPE = "application/cloudevents-batch+json"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def create_app(store: OnlineStore, config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_hex(16), WTF_CSRF_TIME_LIMIT=None, MAX_CONTENT_LENGTH=64 * 1024
    )
    # Its own cookie: the store's screens on the same host (browsers ignore the port) have
    # theirs, so neither logs the other out nor loses the other's CSRF token (issue 23).
    app.config["SESSION_COOKIE_NAME"] = "online_store_session"
    app.config.update(config or {})
    csrf = CSRFProtect(app)
    stock.init_app(app, store)
    pages.init_app(app)  # times in the store's zone, QR codes, the icon
    app.register_blueprint(fleet.blueprint(store))

    def error(status: int, code: str, message: str, field: str | None = None) -> Response:
        resp = jsonify({"error": {"code": code, "message": message, "field": field}})
        resp.status_code = status
        if status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="passerelle-backfill"'
        return resp

    # -- backfill ------------------------------------------------------------------------

    @app.get("/passerelle/v1/streams/<path:stream>/events")
    @csrf.exempt
    def backfill(stream: str) -> Response:
        """``GET …/streams/{chain|stores/{id}}/events?after=N&limit=M`` (CONTRACT.md)."""
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else ""
        scope = backfill_auth.backfill_scope(store.token, store.stores, given)
        if scope is None:
            return error(401, "unauthorized", "a valid Bearer token is required")
        try:
            source = streams.source_of_stream(stream)
        except contract.ContractError as exc:
            return error(404, "unknown_stream", str(exc), "stream")
        if source != streams.CHAIN and source.rsplit("/", 1)[1] not in store.stores:
            return error(404, "unknown_stream", f"no stream {stream!r} here", "stream")
        if source not in scope:  # one store's token opens the chain and its own stream only
            return error(403, "forbidden", f"this token cannot read {stream!r}", "stream")
        after = _int_arg("after", 0)
        if after is None or after < 0:
            return error(400, "invalid", "after must be a sequence number (0 or more)", "after")
        limit = _int_arg("limit", DEFAULT_LIMIT)
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            return error(400, "invalid", f"limit must be 1 to {MAX_LIMIT}", "limit")
        events = store.events(stream, after=after, limit=limit)
        return app.response_class(app.json.dumps(events), status=200, content_type=BATCH_TYPE)

    @app.errorhandler(shop.ShopError)
    def refused(exc: shop.ShopError) -> tuple[str, int]:
        return render_template("error.html", error=exc), exc.status

    # -- pages ---------------------------------------------------------------------------

    @app.get("/")
    def index() -> str:
        with store.connection() as conn:
            return render_template(
                "index.html",
                customers=shop.customers(conn),
                orders=checkout.orders(conn)[:20],
                stores=store.stores,
            )

    @app.post("/customers")
    def create_customer() -> Any:
        data = store.upsert_customer(**_customer_form())
        return redirect(url_for("account", customer_id=data["customer_id"]))

    @app.get("/customers/<customer_id>/edit")
    def edit_customer(customer_id: str) -> str:
        with store.connection() as conn:
            return render_template("customer_form.html", c=shop.customer(conn, customer_id))

    @app.post("/customers/<customer_id>")
    def update_customer(customer_id: str) -> Any:
        store.upsert_customer(customer_id, **_customer_form())
        return redirect(url_for("account", customer_id=customer_id))

    @app.get("/customers/<customer_id>")
    def account(customer_id: str) -> str:
        with store.connection() as conn:
            shop.customer(conn, customer_id)
            catalogue, offers = shop.products(conn), coupons.offers(conn)
        return render_template(
            "account.html",
            a=store.account(customer_id),
            products=catalogue,
            offers=offers,
            stores=store.stores,
        )

    @app.post("/customers/<customer_id>/orders")
    def place_order(customer_id: str) -> Any:
        order = store.place_order(
            customer_id,
            request.form.get("store_id", ""),
            _quantities(),
            paid=request.form.get("paid") == "on",
            coupon_code=request.form.get("coupon_code", "").strip() or None,
        )
        return render_template("order_placed.html", order=order, customer_id=customer_id)

    @app.post("/orders/<order_id>/cancel")
    def cancel_order(order_id: str) -> Any:
        store.cancel_order(order_id, request.form.get("reason", ""))
        back = request.form.get("next", "")
        # Only a path of this site: never an open redirect.
        return redirect(back if back.startswith("/") and not back.startswith("//") else "/")

    @app.post("/customers/<customer_id>/purchases")
    def web_purchase(customer_id: str) -> Any:
        store.record_web_purchase(
            customer_id, _quantities(), request.form.get("coupon_code", "").strip() or None
        )
        return redirect(url_for("account", customer_id=customer_id))

    @app.post("/customers/<customer_id>/returns")
    def return_by_post(customer_id: str) -> Any:
        """A web return (issue 16): never more than bought minus every store's returns."""
        store.return_order(
            request.form.get("original", ""),
            {k: v for k, v in _quantities().items() if v},
            request.form.get("reason", "").strip() or "returned by post",
        )
        return redirect(url_for("account", customer_id=customer_id))

    @app.post("/customers/<customer_id>/coupons")
    def issue_coupon(customer_id: str) -> Any:
        store.issue_coupon(request.form.get("offer_id", ""), customer_id)
        return redirect(url_for("messages"))

    @app.get("/offers")
    def offers() -> str:
        with store.connection() as conn:
            return render_template(
                "offers.html", offers=coupons.offers(conn), products=shop.products(conn)
            )

    @app.post("/offers")
    def create_offer() -> Any:
        f = request.form
        store.create_offer(
            title_fr=f.get("title_fr", ""),
            title_en=f.get("title_en", ""),
            kind=f.get("kind", ""),
            value=_form_int("value"),
            min_total=_form_int("min_total", 0),
            skus=f.getlist("skus"),
            valid_days=_form_int("valid_days", 30),
        )
        return redirect(url_for("offers"))

    @app.get("/messages")
    def messages() -> str:
        with store.connection() as conn:
            sent = [
                {**dict(m), "qr": qr_svg(m["code"]) if m["code"] else None}
                for m in shop.sent_messages(conn)
            ]
        return render_template("messages.html", messages=sent)

    campaign_web.register(app, store, csrf)  # issue 22: campaigns, landing pages, SMS

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"ok": True, "mqtt_connected": store.connected})

    @app.errorhandler(404)
    def not_found(exc: Exception) -> Any:
        if request.path.startswith("/passerelle/"):
            return error(404, "not_found", "no such resource")
        return render_template("error.html", error=shop.ShopError("page not found")), 404

    return app


def _int_arg(name: str, default: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def _form_int(name: str, default: int | None = None) -> int:
    raw = request.form.get(name, "").strip()
    if not raw and default is not None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise shop.ShopError(f"{name.replace('_', ' ')} must be a whole number", field=name)
    return int(raw)


def _quantities() -> dict[str, int]:
    return {key[4:]: _form_int(key, 0) for key in request.form if key.startswith("qty_")}


def _customer_form() -> dict[str, Any]:
    f = request.form
    keys = ("first_name", "last_name", "email", "phone", "tier", "locale")
    return {k: f.get(k, "") for k in keys}
