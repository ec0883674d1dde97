/* The shopper kiosk: loyalty card lookup, masked phone lookup, pickup check-in, idle reset. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let view = "welcome";
  let lastTouch = Date.now();

  function show(name) {
    view = name;
    document.body.dataset.view = name;
    document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== "view-" + name; });
    window.scrollTo(0, 0);
  }

  function message(id, text) {
    const el = $(id);
    el.textContent = text || "";
    el.hidden = !text;
  }

  /* Back to welcome, forgetting the shopper: nothing of theirs stays on the page. */
  function reset() {
    document.dispatchEvent(new CustomEvent("passerelle:member-cleared"));  // forgets the card
    $("member-hello").textContent = "";
    $("member-tier").textContent = "";
    $("member-points").textContent = "";
    $("member-value").textContent = "";
    $("member-history").replaceChildren();
    $("member-offers").replaceChildren();
    $("member-offers-box").hidden = true;
    $("masked-text").textContent = "";
    $("checkin-title").textContent = "";
    $("checkin-where").textContent = "";
    $("checkin-note").textContent = "";
    $("coupon-title").textContent = "";
    $("coupon-code").textContent = "";
    $("coupon-note").textContent = "";
    $("phone-input").value = "+";
    $("order-input").value = "";
    $("code-input").value = "";
    $("card-input").value = "";
    ["welcome-message", "phone-message", "pickup-message"].forEach((id) => message(id, ""));
    chosenLocale = null;
    P.setLocale(P.config.defaultLocale);
    show("welcome");
  }

  // -- loyalty card --------------------------------------------------------------------------
  let member = null;

  function renderMember() {
    if (!member) return;
    const { summary, history } = member;
    $("member-hello").textContent = P.t("hello", { name: summary.first_name || "" });
    const tier = P.t("tier_" + summary.tier);
    $("member-tier").textContent = P.t("tier_member", { tier });
    $("member-tier").className = "tier-badge tier-" + summary.tier;
    $("member-points").textContent = P.t("points", { points: P.number(summary.points_balance) });
    $("member-value").textContent = P.t("points_worth", {
      value: P.money(summary.points_value, summary.currency),
    });
    const offers = member.offers || [];
    $("member-offers-box").hidden = !offers.length;
    $("member-offers").replaceChildren(...offers.map((o) => P.el("li", { class: "offer" },
      P.el("span", { class: "offer-title", text: o.title }),
      P.el("span", { class: "offer-code", text: o.code }),
      // issue 22: why this member got it ("because you bought … in March")
      ...(o.why ? [P.el("span", { class: "offer-why", text: o.why })] : []))));
    const list = $("member-history");
    list.replaceChildren();
    if (!history.items.length) {
      list.appendChild(P.el("li", { class: "empty", text: P.t("no_purchases") }));
    }
    for (const item of history.items) {
      const count = item.lines.reduce((n, l) => n + l.qty, 0);
      const names = item.lines.map((l) => (l.qty > 1 ? l.qty + " × " : "") + l.name).join(", ");
      list.appendChild(P.el("li", { class: "purchase", "data-channel": item.channel },
        P.el("span", { class: "channel channel-" + item.channel, text: P.t("channel_" + item.channel) }),
        P.el("div", { class: "purchase-main" },
          P.el("span", { class: "purchase-date", text: P.date(item.occurred_at) }),
          P.el("span", { class: "purchase-lines", text: names }),
          ...orderAndReturns(item)),
        P.el("div", { class: "purchase-side" },
          P.el("span", { class: "purchase-total", text: P.money(item.total, item.currency) }),
          P.el("span", { class: "purchase-count",
            text: count === 1 ? P.t("item") : P.t("items", { count }) }))));
    }
  }

  /* A click-and-collect order's pickup state, and what came back of a purchase (issue 16). */
  function orderAndReturns(item) {
    const out = [];
    if (item.fulfilment === "pickup") {
      const status = item.pickup_status === "collected" && item.collected_at
        ? P.t("collected_on", { date: P.date(item.collected_at) })
        : P.t("status_" + (item.pickup_status || "received"));
      out.push(P.el("span", { class: "purchase-order",
        text: P.t("pickup_at", { store: item.store_id || "", status }) }));
    }
    for (const r of item.returns || []) {
      const lines = r.lines.map((l) => (l.qty > 1 ? l.qty + " × " : "") + l.name).join(", ");
      out.push(P.el("span", { class: "purchase-return",
        text: P.t("returned_lines", { lines, total: P.money(r.total_refunded, item.currency) }) }));
    }
    return out;
  }

  async function lookupCard(card, couponAfter) {
    message("welcome-message", "");
    try {
      const q = "card=" + encodeURIComponent(card);
      const summary = await P.api("GET", "/customers/lookup?" + q);
      const history = await P.api("GET",
        "/customers/" + encodeURIComponent(summary.customer_id) + "/history?limit=5&" + q);
      // The member's own coupons, to use at the till (the kiosk shows them only to the
      // card's holder, and only in their language).
      let offers = [];
      try {
        const o = await P.api("GET", "/customers/" + encodeURIComponent(summary.customer_id) +
          "/offers?" + q);
        offers = o.coupons.filter((c) => c.valid_now).slice(0, 3);
      } catch (err) {
        offers = [];
      }
      member = { summary, history, offers };
      P.setLocale(summary.locale);
      renderMember();
      show("member");
      // issue 22: the member's consents and details (preferences.js), for this card only
      document.dispatchEvent(new CustomEvent("passerelle:member", { detail: { ...summary, card } }));
    } catch (err) {
      const unknown = err.code === "customer_not_found" || err.status === 422;
      if (unknown && couponAfter && await checkCoupon(card)) return;
      show("welcome");
      message("welcome-message", unknown ? P.t("card_unknown") : err.message);
    }
  }

  /* A scanned code that is no card may be a coupon from an e-mail or SMS: say whether it is
     valid and what it gives (the server never tells the kiosk whose it is). False when the
     server does not know it as a coupon either. */
  async function checkCoupon(code) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(code)) return false;
    let r;
    try {
      r = await P.api("POST", "/coupons/check", { code, locale: P.locale });
    } catch (err) {
      return false;
    }
    if (r.reason === "unknown") return false;
    $("coupon-icon").textContent = r.valid ? "✓" : "✕";
    $("coupon-icon").className = "result-icon" + (r.valid ? "" : " status-cancelled");
    $("coupon-title").textContent = r.offer ? r.offer.title : r.code;
    $("coupon-code").textContent = r.code;
    $("coupon-note").textContent = !r.valid ? r.message
      : P.t(r.personal ? "coupon_personal" : "coupon_valid");
    show("coupon");
    return true;
  }

  // -- phone: the same answer for every number -----------------------------------------------
  /* A stranger typing someone's number must not learn whether that person is a member
     (issue 19): the kiosk asks the API nothing and says the same for every number. The
     till, with a member of staff, finds a card by phone. */
  $("phone-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const phone = $("phone-input").value.replace(/[\s.()-]/g, "");
    message("phone-message", "");
    if (!/^\+[1-9]\d{7,14}$/.test(phone)) {
      message("phone-message", P.t("phone_invalid"));
      return;
    }
    member = null;
    $("masked-text").textContent = P.t("phone_same_answer");
    show("masked");
  });

  // -- pickup check-in ---------------------------------------------------------------------------
  /* The QR code of the order e-mail is "PSRL:<order number>:<code>" (edge.pickups); the
     API reads it as it is. A typed order number and code are sent as two fields. */
  function parsePickup(text) {
    return /^PSRL:[A-Za-z0-9-]{1,32}:\d{6}$/i.test(text) ? { payload: text } : null;
  }

  let checkinState = null;
  function renderCheckin() {
    if (!checkinState) return;
    const { number, status, note } = checkinState;
    let title;
    let where;
    let icon = "✓";
    if (status === "ready") {
      title = P.t("checkin_ready", { number });
      where = P.t("checkin_ready_where");
    } else if (status === "received" || status === "preparing") {
      title = P.t("checkin_waiting", { number });
      where = P.t("checkin_waiting_where");
      icon = "◷";
    } else {
      title = P.t("checkin_closed", { number });
      where = P.t("checkin_closed_where");
      icon = "!";
    }
    $("checkin-icon").textContent = icon;
    $("checkin-icon").className = "result-icon status-" + status;
    $("checkin-title").textContent = title;
    $("checkin-where").textContent = where;
    $("checkin-note").textContent = note || "";
  }

  let chosenLocale = null; // the language the shopper picked here, if any
  document.querySelectorAll("[data-lang]").forEach((b) =>
    b.addEventListener("click", () => { chosenLocale = b.dataset.lang; }));

  async function checkin(orderNumber, code) {
    message("pickup-message", "");
    const body = { pickup_code: code };
    if (orderNumber) body.order_number = orderNumber;
    if (chosenLocale) body.locale = chosenLocale;
    try {
      const r = await P.api("POST", "/pickups/checkin", body);
      if (r.locale) P.setLocale(r.locale);
      checkinState = { number: r.order_number, status: r.status, note: r.message || null };
      renderCheckin();
      show("checkin");
    } catch (err) {
      show("pickup");
      if (orderNumber) $("order-input").value = orderNumber;
      // A refusal tells nothing about others' orders (checkin_failed says the same for an
      // unknown number, a wrong code and a locked order); a closed order says it is closed.
      const number = orderNumber || code.split(":")[1];
      message("pickup-message", err.code === "invalid_transition"
        ? P.t("checkin_closed", { number }) + " " + P.t("checkin_closed_where")
        : err.message);
    }
  }

  $("pickup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const order = $("order-input").value.trim();
    const code = $("code-input").value.trim();
    // The number as printed or not ("W-100001", "w 100001", "100001"): the server reads it.
    if (!/^[A-Za-z0-9][A-Za-z0-9 -]*$/.test(order) || !/\d/.test(order) || !/^\d{6}$/.test(code)) {
      message("pickup-message", P.t("fill_both"));
      return;
    }
    checkin(order, code);
  });

  // The keypad types into whichever field of the form was touched last.
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("focusin", (event) => {
      const pad = form.querySelector(".keypad");
      if (pad && event.target.tagName === "INPUT") pad.dataset.target = event.target.id;
    });
  });

  // -- scans, navigation, idle -----------------------------------------------------------------
  /* A scan, or a code typed by hand (the bar at the bottom, or the card field): told apart
     by its format, so a coupon is never first asked for as a card. */
  async function handleCode(code) {
    lastTouch = Date.now();
    const pickup = parsePickup(code);
    const kind = P.codeKind(code);
    if (pickup) checkin(null, pickup.payload);
    else if (kind === "card") lookupCard(code, false);
    else if (kind === "code") { if (!(await checkCoupon(code))) lookupCard(code, false); }
    else if (window.KioskStock && await window.KioskStock.scan(code)) return; // a product
    else lookupCard(code, false);
  }
  P.onScan(handleCode);

  $("card-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const card = $("card-input").value.trim();
    $("card-input").value = "";
    if (card) handleCode(card);
  });
  window.KioskShow = show; // kiosk_stock.js opens its view

  document.addEventListener("click", (event) => {
    const go = event.target.closest("[data-go]");
    if (!go) return;
    if (go.dataset.go === "welcome") reset();
    else show(go.dataset.go);
  });

  P.onLocale(() => { renderMember(); renderCheckin(); });

  ["pointerdown", "keydown", "touchstart"].forEach((e) =>
    document.addEventListener(e, () => { lastTouch = Date.now(); }, true));

  setInterval(() => {
    const idle = Date.now() - lastTouch > P.config.kioskIdleSeconds * 1000;
    if (idle && (view !== "welcome" || P.locale !== P.config.defaultLocale ||
                 !$("welcome-message").hidden)) {
      member = null;
      checkinState = null;
      chosenLocale = null;
      reset();
    }
  }, 1000);

  show("welcome");
})();
