/* Passerelle screens: what every screen shares.
 * - the API client (session cookie + X-CSRFToken, the same /api/v1 as any terminal);
 * - the two languages (catalogs from the page, data-t attributes), money and dates per
 *   locale with Intl (CLDR: "12,50 €" in French);
 * - barcode scanners that type like a keyboard: fast keystrokes ending with Enter are a
 *   scan, wherever the focus is;
 * - the banner when the link to the online store is down (/readyz);
 * - on-screen keypads for touch screens.
 */
"use strict";

const P = (() => {
  const config = JSON.parse(document.getElementById("screen-config").textContent);
  const catalogs = JSON.parse(document.getElementById("i18n").textContent);
  let locale = config.locale;
  const localeListeners = [];

  function t(key, vars) {
    let text = (catalogs[locale] && catalogs[locale][key]) || key;
    for (const [name, value] of Object.entries(vars || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  function applyTranslations(root) {
    (root || document).querySelectorAll("[data-t]").forEach((el) => {
      el.textContent = t(el.dataset.t);
    });
    (root || document).querySelectorAll("[data-t-placeholder]").forEach((el) => {
      el.placeholder = t(el.dataset.tPlaceholder);
    });
  }

  function setLocale(next) {
    if (!catalogs[next] || next === locale) return;
    locale = next;
    document.documentElement.lang = next;
    applyTranslations();
    document.querySelectorAll("[data-lang]").forEach((b) => {
      const on = b.dataset.lang === next;
      b.classList.toggle("is-active", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    localeListeners.forEach((fn) => fn(next));
  }

  const fractionDigits = {};
  function money(minor, currency) {
    const cur = currency || config.currency;
    if (!(cur in fractionDigits)) {
      fractionDigits[cur] = new Intl.NumberFormat("en", { style: "currency", currency: cur })
        .resolvedOptions().maximumFractionDigits;
    }
    const value = minor / Math.pow(10, fractionDigits[cur]);
    return new Intl.NumberFormat(locale, { style: "currency", currency: cur }).format(value);
  }

  function number(n) {
    return new Intl.NumberFormat(locale).format(n);
  }

  function date(iso, withTime) {
    const opts = withTime
      ? { dateStyle: "medium", timeStyle: "short", timeZone: config.timezone }
      : { dateStyle: "long", timeZone: config.timezone };
    return new Intl.DateTimeFormat(locale, opts).format(new Date(iso));
  }

  function time(iso) {
    return new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone: config.timezone })
      .format(new Date(iso));
  }

  /* An API error as the screens show it: ``message`` is the screen's own text for the
     error's code ("error_<code>" in the catalogs, kiosk_ui/i18n.py), in the screen's language;
     the API's English text (``detail``) only stands in for a code the catalogs do not know.
     A 429 thus reads "Too many attempts…", never Flask-Limiter's "30 per 1 minute". */
  class ApiError extends Error {
    constructor(status, code, detail, field) {
      const known = catalogs[locale] && catalogs[locale]["error_" + code];
      super(known || detail || t("error_generic"));
      this.status = status;
      this.code = code;
      this.detail = detail || "";
      this.field = field;
    }
  }

  /* The staff screens' wording of an error: the translated text, then the API's own words
     when they say more (tries left, the points balance, which SKU) for the staff to act on.
     The kiosk shows ``err.message`` alone: a shopper never reads the API's English. */
  function explain(err) {
    const detail = err.detail || "";
    return detail && detail !== err.message ? err.message + " — " + detail : err.message;
  }

  async function api(method, path, body, options) {
    const opts = options || {};
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = config.csrf;
    if (opts.background) headers["X-Background"] = "1";
    headers["X-Screen"] = config.screen; // which of the session's screens calls (kiosk, staff, pos)
    Object.assign(headers, opts.headers || {});
    let resp;
    try {
      resp = await fetch("/api/v1" + path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, "network", "", null);
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (err) {
      data = null;
    }
    if (!resp.ok) {
      const e = (data && data.error) || {};
      if (resp.status === 401 && config.loginUrl) {
        window.location.assign(config.loginUrl + "&expired=1");
      }
      throw new ApiError(resp.status, e.code || "http_" + resp.status, e.message || "",
        e.field || null);
    }
    return data;
  }

  // -- scanner ---------------------------------------------------------------------------
  // A keyboard-wedge scanner types a whole code in a few milliseconds per key and ends with
  // Enter; people type far slower. A burst is a scan when the median time between its keys
  // is under SCAN_MEDIAN_MS (the median, so one late key from a busy machine or USB hub does
  // not spoil it); a pause longer than SCAN_PAUSE_MS starts a new burst.
  const SCAN_MEDIAN_MS = 60;
  const SCAN_PAUSE_MS = 400;
  const SCAN_MIN = 4;
  const scanHandlers = [];
  let gaps = [];
  let buffer = "";
  let lastKey = 0;
  let burstTarget = null; // the field the burst started in, and its value before it
  let burstValue = null;

  function onScan(handler) {
    scanHandlers.push(handler);
  }

  function isTextField(node) {
    return node && (node.tagName === "INPUT" || node.tagName === "TEXTAREA") &&
      node.type !== "password";
  }

  // -- typed by hand -------------------------------------------------------------------------
  // A person types a card or code far slower than a scanner: keys typed outside a text field
  // gather in a bar at the bottom of the screen that shows them (Backspace corrects, Escape
  // clears), and Enter hands them to the same handlers as a scan, at any speed.
  const TYPED_IDLE_MS = 30000;
  let typed = "";
  let typedTimer = null;
  let typedBar = null;

  function showTyped() {
    if (!typedBar) {
      typedBar = document.createElement("div");
      typedBar.id = "typed-bar";
      typedBar.className = "typed-bar";
      typedBar.setAttribute("role", "status");
      typedBar.setAttribute("aria-live", "polite");
      typedBar.innerHTML = '<span class="typed-icon" aria-hidden="true">⌨</span>' +
        '<output class="typed-text"></output><span class="typed-hint"></span>';
      document.body.appendChild(typedBar);
    }
    typedBar.querySelector(".typed-text").textContent = typed;
    typedBar.querySelector(".typed-hint").textContent = t("typed_hint");
    typedBar.hidden = !typed;
    clearTimeout(typedTimer);
    if (typed) typedTimer = setTimeout(() => { typed = ""; showTyped(); }, TYPED_IDLE_MS);
  }

  function clearTyped() {
    if (!typed) return;
    typed = "";
    showTyped();
  }

  /* Keys typed where no field takes them (the page, a button): what the bar gathers. */
  function outsideFields(node) {
    return !node || !(isTextField(node) || node.tagName === "SELECT" ||
      node.isContentEditable || (node.tagName === "INPUT" && node.type === "password") ||
      node.closest("dialog[open]"));
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey || !scanHandlers.length) return;
    if (!outsideFields(event.target)) return;
    if (event.key === "Escape" && typed) { clearTyped(); return; }
    if (event.key === "Backspace" && typed) {
      event.preventDefault();
      typed = typed.slice(0, -1);
      showTyped();
      return;
    }
    if (event.key.length === 1 && (typed || event.key !== " ")) {
      typed += event.key;
      showTyped();
    }
  }, true);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const now = performance.now();
    const gap = now - lastKey;
    if (gap > SCAN_PAUSE_MS) { buffer = ""; gaps = []; } else if (buffer) gaps.push(gap);
    lastKey = now;
    if (event.key === "Enter") {
      const code = buffer.trim();
      const sorted = gaps.slice().sort((a, b) => a - b);
      const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : Infinity;
      buffer = "";
      gaps = [];
      if (code.length >= SCAN_MIN && median < SCAN_MEDIAN_MS && scanHandlers.length) {
        event.preventDefault();
        event.stopPropagation();
        // The scanner typed into a focused field: give the field its value back.
        if (isTextField(burstTarget) && burstValue !== null) burstTarget.value = burstValue;
        clearTyped();
        scanHandlers.forEach((fn) => fn(code));
      } else if (typed && scanHandlers.length && outsideFields(event.target)) {
        // A person's typing, shown in the bar: the same handlers as a scan.
        event.preventDefault(); // not also a click on the focused button
        const text = typed.trim();
        clearTyped();
        if (text) scanHandlers.forEach((fn) => fn(text));
      }
      return;
    }
    if (event.key.length === 1) {
      if (!buffer) {
        burstTarget = event.target;
        burstValue = isTextField(event.target) ? event.target.value : null;
      }
      buffer += event.key;
    }
  }, true);

  /* What a scanned or typed code is, told by its format alone, so that each is asked of the
     one API that knows it (no 404 from the wrong one first): the pickup QR "PSRL:…", a
     product barcode (EAN/UPC: 8 to 14 digits), a member card ("PC" + 12 digits, the cards
     the shop and the online store print), or another code: a coupon, or a card numbered
     otherwise (asked as a coupon first, which answers "unknown" without an error). */
  function codeKind(raw) {
    const code = String(raw).trim();
    if (/^PSRL:[A-Za-z0-9 -]{1,32}:\d{6}$/i.test(code)) return "pickup";
    if (/^\d{8,14}$/.test(code)) return "barcode";
    if (/^PC\d{12}$/i.test(code)) return "card";
    if (/^[A-Za-z0-9_-]{1,64}$/.test(code)) return "code";
    return null;
  }

  // -- link banner -------------------------------------------------------------------------
  async function checkLink() {
    const banner = document.getElementById("link-banner");
    if (!banner) return;
    try {
      const resp = await fetch("/readyz", { headers: { "X-Background": "1" } });
      const body = await resp.json();
      // "reachable": the one judgement of the link (the online store's heartbeat, not only
      // our broker connection, which a store broker keeps up when the internet is down)
      const link = body.link || {};
      banner.hidden = !!(link.reachable === undefined ? link.connected : link.reachable);
    } catch (err) {
      banner.hidden = false;
    }
  }

  // -- toast -------------------------------------------------------------------------------
  let toastTimer = null;
  function toast(text, kind) {
    const el = document.getElementById("toast");
    el.textContent = text;
    el.className = "toast" + (kind ? " " + kind : "");
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
  }

  // -- keypads -----------------------------------------------------------------------------
  function buildKeypads(root) {
    (root || document).querySelectorAll(".keypad").forEach((pad) => {
      if (pad.dataset.built) return;
      pad.dataset.built = "1";
      pad.dataset.keys.split(" ").forEach((key) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "key" + (key === "⌫" || key === "✓" ? " key-action" : "");
        b.textContent = key;
        b.dataset.key = key;
        if (key === "⌫") b.setAttribute("aria-label", "⌫ " + (locale === "fr" ? "effacer" : "delete"));
        if (key === "✓") b.setAttribute("aria-label", "OK");
        pad.appendChild(b);
      });
      pad.addEventListener("click", (event) => {
        const b = event.target.closest("button.key");
        if (!b) return;
        const input = document.getElementById(pad.dataset.target);
        const key = b.dataset.key;
        if (key === "⌫") input.value = input.value.slice(0, -1);
        else if (key === "✓") { if (input.form) input.form.requestSubmit(); return; }
        else if (!input.maxLength || input.maxLength < 0 || input.value.length < input.maxLength) {
          input.value += key;
        }
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "type" ||
               k === "id" || k === "for" || k === "lang" || k === "title") node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // -- staff sessions end on idle ----------------------------------------------------------
  function staffIdle() {
    if (!config.loginUrl) return;
    let last = Date.now();
    let lastPing = Date.now();
    const touch = () => {
      last = Date.now();
      if (last - lastPing > 30000) {
        lastPing = last;
        fetch("/screens/ping", {
          method: "POST",
          headers: { "X-CSRFToken": config.csrf, "X-Screen": config.screen },
        });
      }
    };
    ["pointerdown", "keydown"].forEach((e) => document.addEventListener(e, touch, true));
    setInterval(() => {
      if (Date.now() - last > config.staffIdleSeconds * 1000) {
        window.location.assign(config.loginUrl + "&expired=1");
      }
    }, 5000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    buildKeypads();
    checkLink();
    setInterval(checkLink, 10000);
    staffIdle();
    document.querySelectorAll("[data-lang]").forEach((b) => {
      b.addEventListener("click", () => setLocale(b.dataset.lang));
    });
  });

  return {
    config, t, applyTranslations, setLocale, onLocale: (fn) => localeListeners.push(fn),
    get locale() { return locale; }, money, number, date, time, api, ApiError, explain, onScan,
    toast, el, uuid, checkLink, codeKind,
  };
})();
