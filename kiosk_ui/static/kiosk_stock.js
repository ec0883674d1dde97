/* The kiosk's "is it in store?" (issue 17): scan or search a product, see its price, what
   this store has available and which other stores have some. No personal data: the answer
   is about products only, and the list is emptied when the kiosk goes back to welcome. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let shown = [];

  function render() {
    const list = $("product-results");
    list.replaceChildren(...shown.map((p) => {
      const here = p.available_here > 0
        ? P.el("p", { class: "stock-here in-stock", text: P.t("stock_here", { count: p.available_here }) })
        : P.el("p", { class: "stock-here out-of-stock", text: P.t("stock_not_here") });
      const others = p.elsewhere.length
        ? P.el("ul", { class: "stock-elsewhere" }, ...p.elsewhere.map((s) =>
          P.el("li", { "data-store": s.store_id,
            text: P.t("stock_elsewhere", { store: s.store_id, count: s.available }) })))
        : (p.available_here > 0 ? null : P.el("p", { class: "stock-nowhere", text: P.t("stock_nowhere") }));
      return P.el("li", { class: "stock-item", "data-sku": p.sku },
        P.el("div", { class: "stock-head" },
          P.el("span", { class: "stock-name", text: p.name }),
          P.el("span", { class: "stock-price", text: P.money(p.price, p.currency) })),
        here, others);
    }));
  }

  function say(text) {
    const el = $("product-message");
    el.textContent = text || "";
    el.hidden = !text;
  }

  async function find(query, byBarcode) {
    const path = byBarcode ? "/stock/lookup?barcode=" : "/stock/lookup?limit=6&q=";
    const r = await P.api("GET", path + encodeURIComponent(query));
    return r.items;
  }

  async function search(query) {
    say("");
    try {
      let items = /^\d{8,14}$/.test(query) ? await find(query, true) : [];
      if (!items.length) items = await find(query, false);
      shown = items;
      render();
      if (!items.length) say(P.t("product_none"));
    } catch (err) {
      shown = [];
      render();
      say(P.explain(err));
    }
  }

  /* A scan at the kiosk: a product's barcode shows the product; anything else (a card, a
     pickup QR code) is left to the kiosk. Resolves true when it was a product. */
  async function scan(code) {
    if (!/^\d{8,14}$/.test(code)) return false;
    let items;
    try {
      items = await find(code, true);
    } catch (err) {
      return false;
    }
    if (!items.length) return false;
    shown = items;
    render();
    say("");
    $("product-input").value = "";
    window.KioskShow("product");
    return true;
  }

  function clear() {
    shown = [];
    render();
    say("");
    $("product-input").value = "";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("product-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const q = $("product-input").value.trim();
      if (q) search(q);
    });
    document.addEventListener("click", (event) => {
      const go = event.target.closest("[data-go]");
      if (go && go.dataset.go !== "product") clear();
      if (go && go.dataset.go === "product") setTimeout(() => $("product-input").focus(), 0);
    });
    P.onLocale(render);
    // The kiosk went back to welcome on its own (idle): nothing stays on the page.
    setInterval(() => { if (document.body.dataset.view !== "product" && shown.length) clear(); }, 1000);
  });

  window.KioskStock = { scan, clear };
})();
