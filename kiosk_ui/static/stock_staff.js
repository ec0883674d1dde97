/* The staff's stock page (issue 17): find a SKU (by SKU, barcode or name), see its figures
   and movements, record a receipt, an adjustment with its reason, or a count. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let sku = null;
  let data = null;

  function say(text, kind) {
    const el = $("stock-message");
    el.textContent = text || "";
    el.className = "message" + (kind ? " " + kind : "");
    el.hidden = !text;
  }

  function signed(n) { return n > 0 ? "+" + n : String(n); }

  function render() {
    if (!data) { $("sku-card").hidden = true; return; }
    const { level, items } = data;
    $("sku-card").hidden = false;
    $("sku-card").dataset.sku = level.sku;
    $("sku-name").textContent = level.name + " · " + level.sku;
    $("fig-on-hand").textContent = P.number(level.on_hand);
    $("fig-reserved").textContent = P.number(level.reserved);
    $("fig-available").textContent = P.number(level.available);
    $("fig-flag").hidden = !level.needs_count;
    $("movements").replaceChildren(...items.map((m) => P.el("tr", { "data-reason": m.reason },
      P.el("td", { text: P.date(m.occurred_at, true) }),
      P.el("td", { text: [P.t("stockmove_" + m.reason), m.ref, m.note].filter(Boolean).join(" · ") }),
      P.el("td", { class: "num", text: signed(m.on_hand_delta) + " → " + m.on_hand }),
      P.el("td", { class: "num", text: signed(m.reserved_delta) + " → " + m.reserved }),
      P.el("td", { text: m.actor }))));
  }

  async function resolve(text) {
    if (/^\d{8,14}$/.test(text) || !/^[A-Za-z0-9_.:-]+$/.test(text)) {
      const path = /^\d{8,14}$/.test(text) ? "/products?barcode=" : "/products?limit=1&q=";
      const r = await P.api("GET", path + encodeURIComponent(text));
      if (r.items.length) return r.items[0].sku;
    }
    return text;
  }

  async function load(which) {
    sku = which;
    data = await P.api("GET", "/stock/" + encodeURIComponent(sku) + "/movements?limit=50");
    render();
  }

  async function loadToCount() {
    try {
      const r = await P.api("GET", "/stock/to-count", undefined, { background: true });
      $("to-count").hidden = !r.items.length;
      $("to-count-list").replaceChildren(...r.items.map((i) => {
        const b = P.el("button", { type: "button", class: "btn ghost small", "data-sku": i.sku,
          text: i.name + " · " + P.number(i.on_hand) });
        b.addEventListener("click", () => load(i.sku).catch((err) => say(P.explain(err), "error")));
        return P.el("li", {}, b);
      }));
    } catch (err) { /* the list is a help */ }
  }

  async function post(path, body, keyed) {
    const opts = keyed ? { headers: { "Idempotency-Key": P.uuid() } } : undefined;
    const r = await P.api("POST", path, body, opts);
    const m = r.moved[0];
    say(P.t("stock_done", { before: m.on_hand_before, after: m.on_hand }), "ok");
    await load(sku);
    await loadToCount();
  }

  function number(id) { return parseInt($(id).value, 10); }

  document.addEventListener("DOMContentLoaded", () => {
    $("sku-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      say("");
      const text = $("sku-input").value.trim();
      if (!text) return;
      try { await load(await resolve(text)); } catch (err) { data = null; render(); say(P.explain(err), "error"); }
    });
    P.onScan((code) => { $("sku-input").value = code; $("sku-form").requestSubmit(); });
    const guard = (fn) => async (event) => {
      event.preventDefault();
      const button = event.target.querySelector("button[type=submit]");
      button.disabled = true;
      try { await fn(); event.target.reset(); } catch (err) { say(P.explain(err), "error"); }
      finally { button.disabled = false; }
    };
    $("receipt-form").addEventListener("submit", guard(() => post("/stock/receipts", {
      ref: $("receipt-ref").value.trim() || null, lines: [{ sku, qty: number("receipt-qty") }] }, true)));
    $("adjust-form").addEventListener("submit", guard(() => post("/stock/adjustments", {
      sku, qty: number("adjust-qty"), reason: $("adjust-reason").value }, true)));
    $("count-form").addEventListener("submit", guard(() => post("/stock/counts", {
      lines: [{ sku, on_hand: number("count-qty") }] }, false)));
    P.onLocale(render);
    loadToCount();
  });
})();
