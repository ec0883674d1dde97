/* The click-and-collect board: orders by status, the most urgent first; shoppers who
 * checked in on top with a visible and audible alert; one button per move the state machine
 * allows (the API says which: allowed_actions); handover against the code or a QR scan;
 * cancellation with a reason; slips; polled every 2 s without reloading. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  const OPEN = ["received", "preparing", "ready"];
  let orders = [];
  let counts = {};
  let knownCheckins = null; // order ids already alerted (null until the first poll)
  let dialogOrder = null;

  // -- sound: a short WebAudio chime, no file to load ----------------------------------------
  let audio = null;
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      [0, 0.22, 0.44].forEach((at, i) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = i === 2 ? 1175 : 880;
        gain.gain.setValueAtTime(0.0001, audio.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.4, audio.currentTime + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + at + 0.2);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + at);
        osc.stop(audio.currentTime + at + 0.22);
      });
      document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
    } catch (err) {
      /* no audio device: the visible alert stays */
    }
  }
  // Browsers start audio only after a touch: the first touch on the board unlocks it.
  document.addEventListener("pointerdown", () => {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
  }, { once: true });

  // -- rendering -----------------------------------------------------------------------------
  const isOpen = (o) => OPEN.includes(o.status);
  const checkedIn = (o) => isOpen(o) && !!o.checked_in_at;

  function actionButton(order, action) {
    const labels = { prepare: "move_preparing", ready: "move_ready", collect: "move_collect",
                     cancel: "move_cancel", reprint: "move_reprint", unlock: "move_unlock",
                     put_back: "move_put_back" };
    const kind = { prepare: "primary", ready: "primary", collect: "warm", cancel: "danger",
                   reprint: "ghost", unlock: "secondary", put_back: "secondary" }[action];
    const b = P.el("button", { type: "button", class: "btn " + kind, text: P.t(labels[action]),
      "data-action": action, "data-order": order.order_id });
    b.addEventListener("click", () => act(order, action));
    return b;
  }

  function card(order) {
    const late = isOpen(order) && new Date(order.pickup_by) < new Date();
    const actions = order.allowed_actions.filter((a) => ["prepare", "ready", "collect", "cancel"].includes(a));
    if (order.locked) actions.unshift("unlock");
    if (order.status === "ready") actions.push("reprint");
    const lines = P.el("ul", { class: "order-lines" },
      ...order.lines.map((l) => P.el("li", { text: l.qty + " × " + l.name },
        ...(order.short || []).filter((s) => s.sku === l.sku).map((s) => P.el("span", {
          class: "short", text: " · " + P.t("short_of", { covered: s.covered, qty: s.qty }) })))));
    return P.el("article", {
      class: "order" + (checkedIn(order) ? " is-checked-in" : "") + (late ? " is-late" : ""),
      "data-order": order.order_id, "data-number": order.order_number,
      "aria-label": order.order_number + " · " + order.customer_name,
    },
      P.el("div", { class: "order-head" },
        P.el("span", { class: "order-number", text: order.order_number }),
        P.el("span", { class: "order-total", text: P.money(order.total, order.currency) })),
      P.el("div", { class: "order-meta" },
        P.el("span", { class: "order-customer", text: order.customer_name }),
        P.el("span", { text: order.paid ? P.t("paid") : P.t("to_pay") }),
        P.el("span", { class: "order-due", text: P.t("pickup_by", { date: P.date(order.pickup_by, true) }) })),
      checkedIn(order) ? P.el("p", { class: "order-flag",
        text: P.t("checked_in_at", { time: P.time(order.checked_in_at) }) }) : null,
      order.locked ? P.el("p", { class: "order-flag locked", text: P.t("locked") }) : null,
      lines,
      P.el("div", { class: "order-actions" }, ...actions.map((a) => actionButton(order, a))));
  }

  function render() {
    // Shoppers who are waiting come first, then the oldest deadline (the API's order).
    const sorted = orders.slice().sort((a, b) =>
      (checkedIn(b) ? 1 : 0) - (checkedIn(a) ? 1 : 0) || a.pickup_by.localeCompare(b.pickup_by));
    for (const status of OPEN) {
      const box = $("cards-" + status);
      const mine = sorted.filter((o) => o.status === status);
      box.replaceChildren(...mine.map(card));
      if (!mine.length) box.appendChild(P.el("p", { class: "empty", text: P.t("no_orders") }));
      $("count-" + status).textContent = String(counts[status] ?? mine.length);
    }
    const alerts = $("alerts");
    alerts.replaceChildren();
    for (const o of sorted.filter(checkedIn)) {
      const row = P.el("div", { class: "alert", "data-order": o.order_id },
        P.el("span", { class: "alert-icon", "aria-hidden": "true", text: "!" }),
        P.el("span", { class: "alert-text", text: P.t("checked_in_alert",
          { name: o.customer_name, number: o.order_number }) }));
      if (o.allowed_actions.includes("collect")) row.appendChild(actionButton(o, "collect"));
      alerts.appendChild(row);
    }
    for (const o of orders.filter((x) => x.put_back)) {
      alerts.appendChild(P.el("div", { class: "alert warning", "data-order": o.order_id },
        P.el("span", { class: "alert-icon", "aria-hidden": "true", text: "↩" }),
        P.el("span", { class: "alert-text", text: o.order_number + " · " + P.t("put_back") }),
        actionButton(o, "put_back")));
    }
    const closed = $("closed-list");
    closed.replaceChildren();
    for (const status of ["collected", "cancelled", "expired"]) {
      closed.appendChild(P.el("span", { class: "chip" }, P.t("status_" + status) + " : " + (counts[status] || 0)));
    }
    // The last handovers, to print their receipt again.
    const collected = orders.filter((x) => x.status === "collected")
      .sort((a, b) => (b.collected_at || "").localeCompare(a.collected_at || "")).slice(0, 3);
    for (const o of collected) {
      const b = actionButton(o, "reprint");
      b.textContent = o.order_number + " · " + P.t("move_reprint");
      closed.appendChild(b);
    }
  }

  // -- live updates ---------------------------------------------------------------------------
  async function poll() {
    try {
      const board = await P.api("GET", "/pickups?limit=500", undefined, { background: true });
      orders = board.items;
      counts = board.counts || {};
      const now = new Set(orders.filter(checkedIn).map((o) => o.order_id));
      if (knownCheckins !== null && [...now].some((id) => !knownCheckins.has(id))) chime();
      if (knownCheckins === null && now.size) chime();
      knownCheckins = now;
      render();
      document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
    } catch (err) {
      if (err.status !== 401) P.toast(P.explain(err), "error");
    }
  }

  // -- moves ----------------------------------------------------------------------------------
  async function act(order, action) {
    if (action === "collect") return openHandover(order, "");
    if (action === "cancel") return openCancel(order);
    const path = { prepare: "preparing", ready: "ready", reprint: "reprint", unlock: "unlock",
                   put_back: "put-back" }[action];
    try {
      await P.api("POST", "/pickups/" + encodeURIComponent(order.order_id) + "/" + path);
      if (action === "reprint") P.toast(P.t("slip_queued"));
    } catch (err) {
      P.toast(P.explain(err), "error");
    }
    poll();
  }

  function dialogMessage(id, text) {
    $(id).textContent = text || "";
    $(id).hidden = !text;
  }

  function openHandover(order, code) {
    dialogOrder = order;
    $("handover-title").textContent = P.t("handover_title", { number: order.order_number });
    $("handover-code").value = code || "";
    $("payment-row").hidden = order.paid;
    dialogMessage("handover-message", order.paid ? "" : P.t("payment_due", { total: P.money(order.total, order.currency) }));
    if (!$("handover-dialog").open) $("handover-dialog").showModal();
  }

  $("handover-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("handover-code").value.trim();
    if (!code) { dialogMessage("handover-message", P.t("code_needed")); return; }
    const body = { pickup_code: code };
    try {
      await P.api("POST", "/pickups/" + encodeURIComponent(dialogOrder.order_id) + "/collect", body);
      $("handover-dialog").close();
      P.toast(P.t("handover_done", { number: dialogOrder.order_number }));
      poll();
    } catch (err) {
      dialogMessage("handover-message", P.explain(err));
      $("handover-code").value = "";
      if (err.status === 423) poll();
    }
  });

  // An unpaid order is paid at the till, whose sale hands it over (issue 16): the order and
  // the code typed here go to the till in this tab, never in the address.
  $("take-payment").addEventListener("click", () => {
    sessionStorage.setItem("passerelle.pickup", JSON.stringify(
      { number: dialogOrder.order_number, code: $("handover-code").value.trim() }));
  });

  function openCancel(order) {
    dialogOrder = order;
    $("cancel-title").textContent = P.t("cancel_title", { number: order.order_number });
    $("cancel-reason").value = "";
    dialogMessage("cancel-message", "");
    $("cancel-dialog").showModal();
  }

  document.querySelectorAll("[data-reason]").forEach((b) =>
    b.addEventListener("click", () => { $("cancel-reason").value = P.t(b.dataset.reason); }));

  $("cancel-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = $("cancel-reason").value.trim();
    if (!reason) { dialogMessage("cancel-message", P.t("reason_needed")); return; }
    try {
      await P.api("POST", "/pickups/" + encodeURIComponent(dialogOrder.order_id) + "/cancel", { reason });
      $("cancel-dialog").close();
      P.toast(P.t("cancel_done", { number: dialogOrder.order_number }));
      poll();
    } catch (err) {
      dialogMessage("cancel-message", P.explain(err));
    }
  });

  document.querySelectorAll("[data-close]").forEach((b) =>
    b.addEventListener("click", () => b.closest("dialog").close()));

  /* A scan on the board: the shopper's QR code (PSRL:<order number>:<code>) opens the
     handover of that order with the code filled in; with the dialog open, it fills the code. */
  P.onScan((code) => {
    if ($("handover-dialog").open) { $("handover-code").value = code; return; }
    const m = code.match(/^PSRL:([A-Za-z0-9-]{1,32}):/i);
    const order = m && orders.find((o) => o.order_number === m[1]);
    if (order && order.allowed_actions.includes("collect")) openHandover(order, code);
    else P.toast(P.t("unknown_code", { code }), "error");
  });

  P.onLocale(render);
  poll();
  setInterval(poll, POLL_MS);
})();
