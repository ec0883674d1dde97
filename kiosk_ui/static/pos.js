/* The cashier's till: customer by card scan or phone, lines by barcode scan or search,
 * points redemption (the server applies the rules and its messages are shown as they are),
 * the sale through POST /api/v1/sales with one Idempotency-Key per sale, the receipt,
 * enrolment of a new member. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(window.location.search);
  if (params.get("terminal")) localStorage.setItem("passerelle.terminal", params.get("terminal"));
  const terminalId = localStorage.getItem("passerelle.terminal") || "pos-screen";

  let lines = [];
  let customer = null;
  let coupons = []; // {code, discount, title}: what the server said each code takes off
  let saleKey = P.uuid(); // one key per sale: a double tap or a retry records one sale
  let sale = null;
  let busy = false;
  let order = null; // a click-and-collect order paid at this till: {order_id, order_number, …}
  let exchange = null; // goods coming back in an exchange: {body (the return), credit}

  function message(text) {
    $("pos-message").textContent = text || "";
    $("pos-message").hidden = !text;
  }

  function subtotal() {
    return lines.reduce((sum, l) => sum + l.price * l.qty, 0);
  }

  /* Points per minor unit, as the server valued this member's balance. */
  function pointsRate() {
    if (!customer || !customer.points_value) return null;
    return customer.points_balance / customer.points_value;
  }

  function redeemPoints() {
    const n = parseInt($("redeem-input").value, 10);
    return Number.isFinite(n) && n > 0 ? n : 0;
  }

  function totalDue() {
    const couponOff = coupons.reduce((n, c) => n + c.discount, 0);
    const rate = pointsRate();
    const points = customer ? redeemPoints() : 0;
    const value = rate && points ? Math.floor(points / rate) : 0;
    if (order) return Math.max(0, order.total - couponOff);
    const credit = exchange ? exchange.credit : 0;
    return Math.max(0, subtotal() - couponOff - value - credit);
  }

  /* Euros typed in a field, as minor units (null when empty or not a number). */
  function minor(input) {
    const v = parseFloat(String(input.value).replace(",", "."));
    return Number.isFinite(v) && v >= 0 ? Math.round(v * 100) : null;
  }

  function renderChange() {
    const given = minor($("cash-given"));
    const change = given === null ? null : given - totalDue();
    $("change-due").hidden = change === null || change < 0;
    if (change !== null && change >= 0) {
      $("change-due").textContent = P.t("change_due", { amount: P.money(change) });
    }
  }

  function render() {
    const body = $("basket-lines");
    body.replaceChildren();
    for (const line of lines) {
      const minus = P.el("button", { type: "button", class: "btn round", text: "−",
        "aria-label": P.t("less", { name: line.name }) });
      const plus = P.el("button", { type: "button", class: "btn round", text: "+",
        "aria-label": P.t("more", { name: line.name }) });
      const remove = P.el("button", { type: "button", class: "btn round danger", text: "✕",
        "aria-label": P.t("remove_line", { name: line.name }) });
      minus.addEventListener("click", () => changeQty(line.sku, -1));
      plus.addEventListener("click", () => changeQty(line.sku, 1));
      remove.addEventListener("click", () => changeQty(line.sku, -line.qty));
      body.appendChild(P.el("tr", { "data-sku": line.sku },
        P.el("td", { class: "name" }, P.el("span", { text: line.name }),
          P.el("span", { class: "sku", text: line.barcode || line.sku })),
        P.el("td", { class: "num", text: P.money(line.price) }),
        P.el("td", { class: "qty" }, P.el("div", { class: "qty-box" }, minus,
          P.el("span", { class: "qty-value", text: String(line.qty) }), plus)),
        P.el("td", { class: "num amount", text: P.money(line.price * line.qty) }),
        P.el("td", { class: "remove" }, remove)));
    }
    $("basket-empty").hidden = lines.length > 0;
    const sub = subtotal();
    $("subtotal").textContent = P.money(sub);
    const rows = $("coupon-rows");
    rows.replaceChildren();
    for (const c of coupons) {
      const remove = P.el("button", { type: "button", class: "btn round small danger", text: "✕",
        "aria-label": P.t("remove_line", { name: c.code }) });
      remove.addEventListener("click", () => {
        coupons = coupons.filter((x) => x.code !== c.code);
        render();
      });
      rows.appendChild(P.el("div", { class: "coupon-row", "data-code": c.code },
        P.el("dt", {}, P.el("span", { class: "coupon-code", text: c.code }),
          P.el("span", { class: "coupon-title", text: c.title || "" })),
        P.el("dd", {}, "−" + P.money(c.discount), remove)));
    }
    const rate = pointsRate();
    const points = customer ? redeemPoints() : 0;
    const value = rate && points ? Math.floor(points / rate) : 0;
    $("points-row").hidden = !points;
    $("points-discount").textContent = "−" + P.money(value);
    $("total").textContent = P.money(totalDue());
    $("order-banner").hidden = !order;
    $("exchange-banner").hidden = !exchange;
    if (exchange) {
      $("exchange-title").textContent = P.t("exchange_credit", { total: P.money(exchange.credit) });
    }
    if (order) {
      $("order-title").textContent = P.t("order_to_pay", { number: order.order_number });
      $("order-customer").textContent = order.customer_name;
    }
    renderChange();
    if (customer) {
      $("customer-name").textContent = [customer.first_name, customer.last_name].join(" ");
      $("customer-meta").textContent = P.t("tier_member", { tier: P.t("tier_" + customer.tier) }) + " · " +
        P.t("points", { points: P.number(customer.points_balance) }) + " · " +
        P.money(customer.points_value, customer.currency);
    }
    $("customer-none").hidden = !!customer;
    $("customer-found").hidden = !customer;
    document.querySelectorAll(".pay-btn").forEach((b) => { b.disabled = busy || !!sale; });
    document.body.dataset.state = sale ? "done" : "selling";
  }

  function changeQty(sku, delta) {
    if (sale || order) return;
    const line = lines.find((l) => l.sku === sku);
    if (!line) return;
    line.qty += delta;
    if (line.qty <= 0) lines = lines.filter((l) => l.sku !== sku);
    message("");
    render();
    refreshCoupons();
  }

  function addProduct(p) {
    if (sale) newSale();
    if (order) { message(P.t("error_order_lines_mismatch")); return; }
    const line = lines.find((l) => l.sku === p.sku);
    if (line) line.qty += 1;
    else lines.push({ sku: p.sku, name: p.name, price: p.price, barcode: p.barcode, qty: 1 });
    $("search-results").hidden = true;
    message("");
    render();
    refreshCoupons();
  }

  async function setCustomerBy(query) {
    const c = await P.api("GET", "/customers/lookup?" + query);
    customer = c;
    document.dispatchEvent(new CustomEvent("passerelle:member", { detail: c }));  // issue 22
    $("redeem-input").value = "0";
    $("customer-input").value = "";
    message("");
    render();
    refreshCoupons();
    return c;
  }

  // -- coupons: the server checks each code against the basket ----------------------------
  function couponBody(code) {
    const body = { code, lines: lines.map((l) => ({ sku: l.sku, qty: l.qty })) };
    if (customer) body.customer_id = customer.customer_id;
    return body;
  }

  /* Try a code as a coupon: true when it is one (added, or refused with the server's
     reason shown), false when the server does not know it as a coupon at all. */
  async function tryCoupon(code) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(code)) return false;
    if (coupons.some((c) => c.code.toUpperCase() === code.toUpperCase())) return true;
    let r;
    try {
      r = await P.api("POST", "/coupons/check", couponBody(code));
    } catch (err) {
      if (err.status === 404 || err.status === 422) return false;
      throw err;
    }
    if (!r.valid && r.reason === "unknown") return false;
    if (r.applies) {
      coupons.push({ code: r.code, discount: r.discount, title: r.offer ? r.offer.title : "" });
      // A code of a fixed amount (a store-credit voucher) is used once: say what is not used.
      const rest = r.offer && r.offer.kind === "amount" ? r.offer.value - r.discount : 0;
      message(rest > 0 ? P.t("coupon_rest_lost", { rest: P.money(rest) }) : "");
      render();
    } else {
      message(r.message || r.reason);
    }
    return true;
  }

  /* The basket or the customer changed: ask again what each code takes off. */
  let couponTimer = null;
  function refreshCoupons() {
    if (!coupons.length) return;
    clearTimeout(couponTimer);
    couponTimer = setTimeout(async () => {
      const next = [];
      for (const c of coupons) {
        try {
          const r = await P.api("POST", "/coupons/check", couponBody(c.code), { background: true });
          if (r.applies) next.push({ code: c.code, discount: r.discount, title: c.title });
          else message(r.message || r.reason);
        } catch (err) {
          next.push(c);
        }
      }
      coupons = next;
      render();
    }, 250);
  }

  /* An unpaid click-and-collect order, by number or the QR of the shopper's e-mail
     (PSRL:W-100234:123456): its lines at the order's prices; the sale collects it. */
  async function openOrder(number, code) {
    const o = await P.api("GET", "/sales/orders/" + encodeURIComponent(number));
    if (o.paid) { message(P.t("order_paid_online", { number: o.order_number })); return; }
    newSale();
    order = o;
    lines = o.lines.map((l) => ({ sku: l.sku, name: l.name, price: l.unit_price, qty: l.qty }));
    $("order-code").value = code || "";
    message("");
    render();
  }

  /* A scan: a product barcode, a loyalty card, a coupon code, or an order's QR code. */
  async function handleCode(code) {
    if (returnsMode) { findReturn(code); return; }
    const qr = /^PSRL:([A-Za-z0-9-]{1,32}):(\d{6})$/i.exec(code);
    if (qr) {
      try { await openOrder(qr[1], qr[2]); } catch (err) { message(P.explain(err)); }
      return;
    }
    if (sale) newSale();
    const kind = P.codeKind(code);
    const tryProduct = async () => {
      const r = await P.api("GET", "/products?barcode=" + encodeURIComponent(code));
      if (r.items.length) { addProduct(r.items[0]); return true; }
      return false;
    };
    const tryCard = async () => {
      if (!/^[A-Za-z0-9-]{4,32}$/.test(code)) return false;
      try { await setCustomerBy("card=" + encodeURIComponent(code)); return true; }
      catch (err) { if (err.code === "customer_not_found") return false; throw err; }
    };
    try {
      // By its format: a barcode is a product, "PC…" a card, any other code a coupon first
      // (a card of another numbering last); each API is asked only what it may know.
      let found = false;
      if (kind === "barcode") found = (await tryProduct()) || (await tryCard());
      else if (kind === "card") found = await tryCard();
      else if (kind === "code") found = (await tryCoupon(code)) || (await tryCard());
      if (!found) message(P.t("unknown_code", { code }));
    } catch (err) {
      message(P.explain(err));
    }
  }

  /* The stock on hand beside each product found (issue 17); the sale never waits for it. */
  async function showStock(list, items) {
    if (!items.length) return;
    try {
      const r = await P.api("GET", "/stock/levels?skus=" + encodeURIComponent(items.map((p) => p.sku).join(",")),
        undefined, { background: true });
      for (const [sku, f] of Object.entries(r.items)) {
        const b = list.querySelector(`li[data-sku="${CSS.escape(sku)}"] .result`);
        if (b) b.appendChild(P.el("span", { class: "result-stock" + (f.on_hand > 0 ? "" : " is-out"),
          text: P.t("stock_on_hand", { count: f.on_hand }) }));
      }
    } catch (err) { /* the figures are a help, not a condition of the sale */ }
  }

  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = $("search-input").value.trim();
    if (!q) return;
    const list = $("search-results");
    if (/^W-[0-9]{1,30}$/i.test(q)) { // an order number: the order to pay at the till
      try { await openOrder(q.toUpperCase(), ""); $("search-input").value = ""; }
      catch (err) { message(P.explain(err)); }
      return;
    }
    if (P.codeKind(q) === "card") {
      // A member card typed by hand in the search field: the customer, as a scan would.
      $("search-input").value = "";
      list.hidden = true;
      await handleCode(q);
      return;
    }
    try {
      let r = { items: [] };
      if (/^\d{8,14}$/.test(q)) r = await P.api("GET", "/products?barcode=" + encodeURIComponent(q));
      if (!r.items.length) r = await P.api("GET", "/products?limit=8&q=" + encodeURIComponent(q));
      if (!r.items.length && await tryCoupon(q)) {
        $("search-input").value = "";
        list.hidden = true;
        return;
      }
      list.replaceChildren();
      if (!r.items.length) list.appendChild(P.el("li", { class: "empty", text: P.t("no_results") }));
      for (const p of r.items) {
        const b = P.el("button", { type: "button", class: "result" },
          P.el("span", { class: "result-name", text: p.name }),
          P.el("span", { class: "result-price", text: P.money(p.price, p.currency) }));
        b.addEventListener("click", () => { addProduct(p); $("search-input").value = ""; });
        list.appendChild(P.el("li", { "data-sku": p.sku }, b));
      }
      list.hidden = false;
      showStock(list, r.items);
    } catch (err) {
      message(P.explain(err));
    }
  });

  $("customer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const raw = $("customer-input").value.trim();
    if (!raw) return;
    const phone = raw.replace(/[\s.()-]/g, "");
    const query = /^\+\d{7,15}$/.test(phone) ? "phone=" + encodeURIComponent(phone)
                                              : "card=" + encodeURIComponent(raw);
    try { await setCustomerBy(query); } catch (err) { message(P.explain(err)); }
  });

  $("customer-clear").addEventListener("click", () => {
    customer = null;
    document.dispatchEvent(new CustomEvent("passerelle:member-cleared"));
    $("redeem-input").value = "0";
    message("");
    render();
    refreshCoupons();
  });

  $("redeem-input").addEventListener("input", () => { message(""); render(); });
  $("redeem-max").addEventListener("click", () => {
    const rate = pointsRate();
    if (!customer || !rate) return;
    $("redeem-input").value = String(Math.max(0, Math.min(customer.points_balance,
      Math.floor(subtotal() * rate))));
    render();
  });

  // -- the sale --------------------------------------------------------------------------------
  async function postSale(body) {
    // A lost answer is retried with the same key: the server returns the first answer.
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await P.api("POST", "/sales", body, { headers: { "Idempotency-Key": saleKey } });
      } catch (err) {
        if (err.code !== "network" || attempt >= 2) throw err;
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
  }

  async function pay(method, payments) {
    if (busy || sale) return;
    if (!lines.length) { message(P.t("need_lines")); return; }
    busy = true;
    render();
    const body = {
      terminal_id: terminalId,
      customer_id: customer ? customer.customer_id : null,
      currency: P.config.currency,
      lines: lines.map((l) => ({ sku: l.sku, qty: l.qty })),
      redeem_points: customer ? redeemPoints() : 0,
      payment_method: method === "split" ? "card" : method,
      coupon_codes: coupons.map((c) => c.code),
    };
    if (payments) body.payments = payments;
    const given = minor($("cash-given"));
    if (method === "cash" && given !== null) body.cash_tendered = given;
    if (order) {
      body.order_id = order.order_id;
      body.pickup_code = $("order-code").value.trim();
      if (!customer) delete body.customer_id;
    }
    if (exchange) {
      try {
        const r = await P.api("POST", "/exchanges", { return: exchange.body, sale: body },
          { headers: { "Idempotency-Key": saleKey } });
        sale = r.sale;
        message("");
        $("sale-done-title").textContent = r.difference >= 0
          ? P.t("exchange_recorded", { amount: P.money(r.difference) })
          : P.t("exchange_refunded", { amount: P.money(-r.difference) });
        $("sale-done-change").hidden = true;
        $("sale-done-points").textContent = "";
        $("sale-done").hidden = false;
        document.body.dataset.saleId = sale.sale_id;
        document.body.dataset.returnId = r.return.return_id;
      } catch (err) {
        message(P.explain(err));
      } finally {
        busy = false;
        render();
      }
      return;
    }
    try {
      sale = await postSale(body);
      message("");
      $("sale-done-title").textContent = order
        ? P.t("order_collected", { number: order.order_number })
        : P.t("sale_recorded", { total: P.money(sale.total, sale.currency) });
      $("sale-done-change").hidden = !sale.change_due;
      $("sale-done-change").textContent = P.t("change_due", { amount: P.money(sale.change_due) });
      const bits = [];
      if (customer) {
        bits.push(P.t("earned", { points: P.number(sale.points_earned) }));
        bits.push(P.t("new_balance", { points: P.number(sale.points_balance) }));
      }
      $("sale-done-points").textContent = bits.join(" · ");
      $("sale-done").hidden = false;
      document.body.dataset.saleId = sale.sale_id;
      lastSaleId = sale.sale_id;
    } catch (err) {
      message(P.explain(err));
    } finally {
      busy = false;
      render();
    }
  }

  document.querySelectorAll(".pay-btn[data-method]").forEach((b) =>
    b.addEventListener("click", () => pay(b.dataset.method)));
  $("cash-given").addEventListener("input", renderChange);

  // -- several tenders (no card data here: what the card terminal accepted) ------------------
  const split = $("split-dialog");
  function splitLeft() {
    let paid = 0;
    document.querySelectorAll(".split-amount").forEach((i) => { paid += minor(i) || 0; });
    $("split-total").textContent = P.money(totalDue());
    $("split-left").textContent = P.money(totalDue() - paid);
  }
  $("split-open").addEventListener("click", () => {
    if (sale || !lines.length) { if (!lines.length) message(P.t("need_lines")); return; }
    document.querySelectorAll(".split-amount").forEach((i) => { i.value = ""; });
    $("split-message").hidden = true;
    splitLeft();
    split.showModal();
  });
  document.querySelectorAll(".split-amount").forEach((i) => i.addEventListener("input", splitLeft));
  $("split-cancel").addEventListener("click", () => split.close());
  $("split-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const payments = [];
    document.querySelectorAll(".split-amount").forEach((i) => {
      const v = minor(i);
      if (v) payments.push({ method: i.dataset.method, amount: v });
    });
    split.close();
    await pay("split", payments);
  });

  $("order-clear").addEventListener("click", () => newSale());

  function newSale() {
    lines = [];
    customer = null;
    document.dispatchEvent(new CustomEvent("passerelle:member-cleared"));
    coupons = [];
    sale = null;
    order = null;
    exchange = null;
    $("cash-given").value = "";
    $("sale-done-change").hidden = true;
    saleKey = P.uuid();
    $("redeem-input").value = "0";
    $("sale-done").hidden = true;
    delete document.body.dataset.saleId;
    message("");
    render();
  }
  $("new-sale").addEventListener("click", newSale);

  $("print-receipt").addEventListener("click", async () => {
    if (!sale) return;
    try {
      await P.api("POST", "/sales/" + encodeURIComponent(sale.sale_id) + "/receipt");
      P.toast(P.t("receipt_queued"));
    } catch (err) {
      P.toast(P.explain(err), "error");
    }
  });

  // -- enrolment -----------------------------------------------------------------------------
  const dialog = $("enroll-dialog");
  $("enroll-open").addEventListener("click", () => {
    $("enroll-form").reset();
    $("enroll-message").hidden = true;
    dialog.showModal();
  });
  $("enroll-cancel").addEventListener("click", () => dialog.close());
  $("enroll-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = new FormData($("enroll-form"));
    const body = { first_name: f.get("first_name").trim(), last_name: f.get("last_name").trim(),
                   locale: f.get("locale") };
    for (const k of ["email", "phone", "loyalty_card"]) {
      const v = (f.get(k) || "").replace(k === "phone" ? /[\s.()-]/g : /^\s+|\s+$/g, "");
      if (v) body[k] = v;
    }
    try {
      const c = await P.api("POST", "/customers", body);
      dialog.close();
      await setCustomerBy("card=" + encodeURIComponent(c.loyalty_card));
      P.toast(P.t("enrolled", { name: c.first_name, card: c.loyalty_card }));
    } catch (err) {
      $("enroll-message").textContent = P.explain(err);
      $("enroll-message").hidden = false;
    }
  });

  P.onScan((code) => {
    if (dialog.open) { $("e-card").value = code; return; }
    handleCode(code);
  });

  // -- returns, voids and exchanges -----------------------------------------------------------
  let returnsMode = false;
  let returnable = null; // GET /returns/lookup: the purchase and what may still come back
  let returnKey = P.uuid();
  let lastSaleId = null;

  function setMode(returns) {
    returnsMode = returns;
    $("returns-panel").hidden = !returns;
    $("sale-panel").hidden = returns;
    $("mode-toggle").textContent = P.t(returns ? "mode_sale" : "mode_returns");
    $("mode-toggle").dataset.t = returns ? "mode_sale" : "mode_returns";
    document.body.dataset.mode = returns ? "returns" : "sale";
    if (returns) $("return-id").focus();
  }
  $("mode-toggle").addEventListener("click", () => setMode(!returnsMode));

  function returnMessage(text) {
    $("return-message").textContent = text || "";
    $("return-message").hidden = !text;
  }

  function chosen() {
    const out = [];
    document.querySelectorAll("#return-lines input").forEach((i) => {
      const n = parseInt(i.value, 10);
      if (Number.isFinite(n) && n > 0) out.push({ sku: i.dataset.sku, qty: n });
    });
    return out;
  }

  function renderReturn() {
    const body = $("return-lines");
    body.replaceChildren();
    $("return-table").hidden = !returnable;
    if (!returnable) { $("return-info").textContent = ""; $("return-total").textContent = ""; return; }
    $("return-info").textContent = P.t("return_bought_on", {
      date: P.date(returnable.occurred_at), total: P.money(returnable.total, returnable.currency),
      until: P.date(returnable.return_until) });
    let refund = 0;
    for (const l of returnable.lines) {
      const input = P.el("input", { type: "number", min: "0", max: String(l.returnable), step: "1",
        value: "0", class: "big-input qty-input", "data-sku": l.sku,
        "aria-label": P.t("col_back") + " " + l.name });
      if (!l.returnable) input.disabled = true;
      input.addEventListener("input", renderTotalOnly);
      body.appendChild(P.el("tr", { "data-sku": l.sku },
        P.el("td", { class: "name", text: l.name }),
        P.el("td", { class: "num", text: String(l.qty) }),
        P.el("td", { class: "num", text: String(l.returned) }),
        P.el("td", { class: "num", text: P.money(l.unit_refund) }),
        P.el("td", { class: "qty" }, input)));
    }
    renderTotalOnly();
    return refund;
  }

  /* An estimate (the next units' share): the server's answer is the refund. */
  function renderTotalOnly() {
    if (!returnable) return;
    let total = 0;
    for (const c of chosen()) {
      const l = returnable.lines.find((x) => x.sku === c.sku);
      if (l) total += l.unit_refund * c.qty;
    }
    $("return-total").textContent = P.money(total);
  }

  /* A member's card in returns mode: their purchases of both channels, to pick the one
     that comes back (when the receipt is lost). */
  async function memberPurchases(card) {
    const list = $("return-history");
    list.replaceChildren();
    try {
      const c = await P.api("GET", "/customers/lookup?card=" + encodeURIComponent(card));
      const h = await P.api("GET", "/customers/" + encodeURIComponent(c.customer_id) + "/history?limit=10");
      for (const item of h.items) {
        const kind = item.channel === "store" && !item.order_id ? "sale" : "order";
        const ident = kind === "sale" ? item.purchase_id : (item.order_id || item.purchase_id);
        const names = item.lines.map((l) => (l.qty > 1 ? l.qty + " × " : "") + l.name).join(", ");
        const b = P.el("button", { type: "button", class: "result", "data-purchase": item.purchase_id },
          P.el("span", { class: "result-name", text: P.date(item.occurred_at) + " · " +
            P.t("channel_" + item.channel) + " · " + names }),
          P.el("span", { class: "result-price", text: P.money(item.total, item.currency) }));
        b.addEventListener("click", () => {
          $("return-kind").value = kind;
          $("return-receipt").checked = false; // found without the receipt
          list.hidden = true;
          findReturn(ident, kind);
        });
        list.appendChild(P.el("li", {}, b));
      }
      if (!h.items.length) list.appendChild(P.el("li", { class: "empty", text: P.t("no_purchases") }));
      list.hidden = false;
      returnMessage("");
    } catch (err) {
      returnMessage(P.explain(err));
    }
  }

  async function findReturn(code, forced) {
    if (!forced && P.codeKind(code) === "card") { $("return-id").value = ""; memberPurchases(code); return; }
    const kind = forced || (/^W-/i.test(code) ? "order" : $("return-kind").value);
    $("return-kind").value = kind;
    $("return-id").value = code;
    $("return-done").hidden = true;
    returnMessage("");
    try {
      returnable = await P.api("GET", "/returns/lookup?kind=" + kind + "&id=" + encodeURIComponent(code));
      returnKey = P.uuid();
    } catch (err) {
      returnable = null;
      returnMessage(P.explain(err));
    }
    renderReturn();
  }

  $("return-find").addEventListener("submit", (event) => {
    event.preventDefault();
    const code = $("return-id").value.trim();
    if (code) findReturn(code);
  });

  /* A refund in store credit is a voucher code, usable here at once and on the web: show it
     (the return receipt prints it with its QR code). */
  function showVoucher(r) {
    const credit = (r.refunds || []).find((x) => x.voucher && x.voucher.code);
    $("return-done-voucher").hidden = !credit;
    if (!credit) return;
    $("voucher-text").textContent = P.t("voucher_issued", { amount: P.money(credit.amount, r.currency),
      until: P.date(credit.voucher.valid_until) });
    $("voucher-code").textContent = credit.voucher.code;
  }

  $("return-confirm").addEventListener("click", async () => {
    if (!returnable) return;
    const lines = chosen();
    if (!lines.length) { returnMessage(P.t("nothing_selected")); return; }
    const body = {
      terminal_id: terminalId,
      original: returnable.original,
      lines,
      reason: $("return-reason").value,
      receipt: $("return-receipt").checked,
      restock: $("return-reason").value !== "damaged", // damaged goods stay off the shelf
    };
    if ($("refund-method").value) body.refund_method = $("refund-method").value;
    if (!$("manager-fields").hidden && $("manager-id").value.trim()) {
      body.manager_id = $("manager-id").value.trim();
      body.manager_pin = $("manager-pin").value.trim();
    }
    try {
      const r = await P.api("POST", "/returns", body, { headers: { "Idempotency-Key": returnKey } });
      returnMessage("");
      $("return-done-title").textContent = P.t("return_recorded", { total: P.money(r.total_refunded, r.currency) });
      $("return-done-points").textContent = (r.points_reversed || r.points_restored)
        ? P.t("points_back", { reversed: r.points_reversed, restored: r.points_restored }) : "";
      showVoucher(r);
      $("return-done").hidden = false;
      document.body.dataset.returnId = r.return_id;
      $("manager-pin").value = "";
    } catch (err) {
      if (err.code === "manager_required") {
        $("manager-fields").hidden = false;
        returnMessage(P.t("manager_needed"));
      } else {
        returnMessage(P.explain(err));
      }
    }
  });

  /* An exchange: the goods chosen here come back as store credit for a new sale, in one
     transaction when the new sale is paid (POST /exchanges). */
  $("exchange-start").addEventListener("click", () => {
    if (!returnable) return;
    const lines = chosen();
    if (!lines.length) { returnMessage(P.t("nothing_selected")); return; }
    let credit = 0;
    for (const c of lines) {
      const l = returnable.lines.find((x) => x.sku === c.sku);
      if (l) credit += l.unit_refund * c.qty;
    }
    const body = { terminal_id: terminalId, original: returnable.original, lines,
                   reason: $("return-reason").value, receipt: $("return-receipt").checked,
                   restock: $("return-reason").value !== "damaged" };
    if (!$("manager-fields").hidden && $("manager-id").value.trim()) {
      body.manager_id = $("manager-id").value.trim();
      body.manager_pin = $("manager-pin").value.trim();
    }
    newSale();
    exchange = { body, credit };
    setMode(false);
    render();
  });
  $("exchange-clear").addEventListener("click", () => { exchange = null; render(); });

  $("new-return").addEventListener("click", () => {
    returnable = null;
    $("return-id").value = "";
    $("return-done").hidden = true;
    $("manager-fields").hidden = true;
    $("return-receipt").checked = true;
    delete document.body.dataset.returnId;
    renderReturn();
  });

  $("void-last").addEventListener("click", async () => {
    const target = lastSaleId || document.body.dataset.saleId;
    if (!target) return;
    $("manager-fields").hidden = false;
    if (!$("manager-id").value.trim() || !$("manager-pin").value.trim()) {
      returnMessage(P.t("void_confirm", { id: target.slice(-8) }));
      return;
    }
    try {
      const r = await P.api("POST", "/sales/" + encodeURIComponent(target) + "/void", {
        terminal_id: terminalId, reason: "void at the till",
        manager_id: $("manager-id").value.trim(), manager_pin: $("manager-pin").value.trim() });
      returnMessage("");
      $("return-done-title").textContent = P.t("return_recorded", { total: P.money(r.total_refunded, r.currency) });
      showVoucher(r);
      $("return-done").hidden = false;
      $("manager-pin").value = "";
      lastSaleId = null;
    } catch (err) {
      returnMessage(P.explain(err));
    }
  });

  // The board's "take payment": the order and the code typed there, handed over in this tab.
  const handed = sessionStorage.getItem("passerelle.pickup");
  if (handed) {
    sessionStorage.removeItem("passerelle.pickup");
    try {
      const h = JSON.parse(handed);
      openOrder(h.number, h.code).catch((err) => message(P.explain(err)));
    } catch (err) { /* a stale value: ignore it */ }
  } else if (params.get("order")) {
    openOrder(params.get("order"), "").catch((err) => message(P.explain(err)));
  }

  render();
})();
