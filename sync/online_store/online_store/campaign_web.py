"""The campaign pages of the online store: campaigns and their audience and report, the
mobile landing page, the SMS gateway's inbound webhook and the demo's "receive a text" form,
and the member's consents on their account page. Thin routes: parse, call, render.

``register(app, store, csrf)`` is the one call ``web.create_app`` makes.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFProtect

from online_store import audience, campaigns, consents, landing, report, shop
from online_store.desk import Store
from online_store.landing_texts import LANGS, TEXTS

VISITOR_COOKIE = "pv"


def register(app: Flask, store: Store, csrf: CSRFProtect) -> None:
    bp = Blueprint("campaigns", __name__)

    def change(fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = store._change(fn, *args, **kwargs)
        store.dispatcher.wake()
        return result

    def public_url() -> str:
        return store.outreach.public_url or request.host_url

    @bp.get("/campaigns")
    def index() -> str:
        with store.connection() as conn:
            return render_template(
                "campaigns.html",
                campaigns=campaigns.all_campaigns(conn),
                products=shop.products(conn),
            )

    @bp.post("/campaigns")
    def create() -> Any:
        f = request.form
        c = change(
            lambda conn: campaigns.create(
                conn,
                name=f.get("name", ""),
                keyword=f.get("keyword", ""),
                slug=f.get("slug", ""),
                channels=f.getlist("channels"),
                title_fr=f.get("title_fr", ""),
                title_en=f.get("title_en", ""),
                kind=f.get("kind", ""),
                value=_int("value"),
                min_total=_int("min_total", 0),
                skus=f.getlist("skus"),
                valid_days=_int("valid_days", 30),
                question_fr=f.get("question_fr", ""),
                question_en=f.get("question_en", ""),
                options_fr=f.get("options_fr", ""),
                options_en=f.get("options_en", ""),
            )
        )
        return redirect(url_for("campaigns.detail", campaign_id=c["campaign_id"]))

    @bp.get("/campaigns/<campaign_id>")
    def detail(campaign_id: str, run: dict[str, Any] | None = None) -> str:
        with store.connection() as conn:
            return render_template(
                "campaign.html",
                r=report.build(conn, campaign_id),
                run=run,
                products=shop.products(conn),
                categories=audience.CATEGORIES,
                tiers=shop.TIERS,
            )

    @bp.post("/campaigns/<campaign_id>/audience")
    def run_audience(campaign_id: str) -> str:
        form = {**request.form.to_dict(), "skus": request.form.getlist("skus")}
        rule = audience.parse(form)

        def apply(conn: Any) -> dict[str, Any]:
            campaigns.set_audience(conn, campaign_id, rule)
            return audience.run(conn, campaign_id)

        return detail(campaign_id, run=change(apply))

    @bp.get("/campaigns/<campaign_id>/report.csv")
    def report_csv(campaign_id: str) -> Response:
        with store.connection() as conn:
            r = report.build(conn, campaign_id)
        return Response(
            report.to_csv(r),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{r["campaign"]["slug"]}.csv"'},
        )

    # -- the landing page ---------------------------------------------------------------

    def lang_of() -> str:
        asked = request.values.get("lang", "")
        if asked in LANGS:
            return asked
        return request.accept_languages.best_match(LANGS) or "fr"

    def render_landing(c: dict[str, Any], lang: str, **extra: Any) -> str:
        return render_template("landing.html", c=c, lang=lang, tx=TEXTS[lang], **extra)

    @bp.get("/c/<slug>")
    def landing_page(slug: str) -> Any:
        lang = lang_of()
        visitor = request.cookies.get(VISITOR_COOKIE, "")
        if not (visitor.isalnum() and len(visitor) == 32):
            visitor = secrets.token_hex(16)
        sms_id = request.args.get("sms", "")[:64] or None
        with store.connection() as conn:
            c = campaigns.by_slug(conn, slug)
        change(landing.visit, c["campaign_id"], visitor, sms_id)
        resp = app.make_response(render_landing(c, lang, form={}, errors={}))
        resp.set_cookie(VISITOR_COOKIE, visitor, max_age=90 * 86400, httponly=True, samesite="Lax")
        return resp

    @bp.post("/c/<slug>")
    def sign_up(slug: str) -> Any:
        lang = lang_of()
        with store.connection() as conn:
            c = campaigns.by_slug(conn, slug)
        form = request.form.to_dict()
        try:
            s = landing.validate(form, lang, len(c["options"]))
        except landing.LandingInvalid as exc:
            return render_landing(c, lang, form=form, errors=exc.errors), 400
        visitor = request.cookies.get(VISITOR_COOKIE, "")[:32] or None
        done = change(landing.sign_up, c, s, lang, visitor)
        return render_template("landing_done.html", c=c, lang=lang, tx=TEXTS[lang], done=done)

    # -- SMS ------------------------------------------------------------------------------

    @bp.post("/sms/inbound")
    @csrf.exempt
    def sms_inbound() -> Any:
        """The gateway's webhook: a form with ``From`` and ``Body`` (Twilio's names) and the
        shared secret as ``token`` (query) or ``X-Passerelle-Token``."""
        given = request.headers.get("X-Passerelle-Token") or request.args.get("token", "")
        if store.outreach.sms_token and not hmac.compare_digest(
            given.encode(), store.outreach.sms_token.encode()
        ):
            return _error(401, "unauthorized", "a valid token is required", "token")
        sender, body = request.form.get("From", ""), request.form.get("Body", "")
        if not sender or len(sender) > 32:
            return _error(400, "invalid", "From: the sender's number", "From")
        if len(body) > 1600:
            return _error(400, "invalid", "Body: at most 1600 characters", "Body")
        return jsonify(change(campaigns.inbound, sender, body, public_url()))

    @bp.post("/sms/simulate")
    def sms_simulate() -> Any:
        """The demo's phone: a text 'received' from the number typed on the page."""
        change(campaigns.inbound, request.form.get("From", ""), request.form.get("Body", ""),
               public_url())  # fmt: skip
        return redirect(url_for("messages"))

    @bp.post("/customers/<customer_id>/consents")
    def set_consents(customer_id: str) -> Any:
        from online_store import profiles

        wanted = {c: request.form.get(c) == "on" for c in consents.CHANNELS}
        change(profiles.set_consents, customer_id, wanted)
        return redirect(url_for("account", customer_id=customer_id))

    @app.context_processor
    def outreach_context() -> dict[str, Any]:
        def outreach_log() -> dict[str, Any]:
            with store.connection() as conn:
                return {
                    "sms_in": conn.execute(
                        "SELECT * FROM sms_in ORDER BY received_at DESC LIMIT 50"
                    ).fetchall(),
                    "sms_out": conn.execute(
                        "SELECT * FROM sms_out ORDER BY created_at DESC LIMIT 50"
                    ).fetchall(),
                    "mail": {
                        r[0]: r[1]
                        for r in conn.execute(
                            "SELECT message_id, status FROM mail_deliveries"
                        ).fetchall()
                    },
                    "smtp": store.dispatcher.mail is not None,
                }

        def consents_of(customer_id: str) -> dict[str, Any]:
            with store.connection() as conn:
                return consents.of(conn, customer_id)

        return {"outreach_log": outreach_log, "consents_of": consents_of}

    app.register_blueprint(bp)


def _int(name: str, default: int | None = None) -> int:
    raw = request.form.get(name, "").strip()
    if not raw and default is not None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise shop.ShopError(f"{name.replace('_', ' ')} must be a whole number", field=name)
    return int(raw)


def _error(status: int, code: str, message: str, field: str) -> Response:
    resp = jsonify({"error": {"code": code, "message": message, "field": field}})
    resp.status_code = status
    return resp
