/* A member's consents and contact details, at the kiosk and the till (issue 22).
 * The screen's own script announces the member with a "passerelle:member" event (detail:
 * the lookup summary, plus the scanned card at the kiosk) and "passerelle:member-cleared";
 * this fills the form and saves only what changed (PATCH /customers/{id}). The online store
 * owns the record: its next version may still differ, and the screens show it when it comes. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let member = null;

  function say(text, ok) {
    const m = $("pref-message");
    m.textContent = text;
    m.hidden = !text;
    m.classList.toggle("ok", !!ok);
  }

  document.addEventListener("passerelle:member", (event) => {
    member = event.detail;
    const consents = member.consents || {};
    $("pref-email").checked = !!consents.email;
    $("pref-sms").checked = !!consents.sms;
    $("pref-email-address").value = "";
    $("pref-phone").value = "";
    say("");
    $("prefs-box").hidden = false;
  });
  document.addEventListener("passerelle:member-cleared", () => {
    member = null;
    $("prefs-box").hidden = true;
  });

  $("prefs-box").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!member) return;
    const body = { consents: { email: $("pref-email").checked, sms: $("pref-sms").checked } };
    const email = $("pref-email-address").value.trim();
    const phone = $("pref-phone").value.trim();
    if (email) body.email = email;
    if (phone) body.phone = phone;
    if (member.card) body.card = member.card;
    try {
      const saved = await P.api("PATCH", "/customers/" + encodeURIComponent(member.customer_id), body);
      member = Object.assign({}, member, { consents: saved.consents });
      $("pref-email-address").value = "";
      $("pref-phone").value = "";
      say(P.t("prefs_saved"), true);
    } catch (err) {
      say(P.explain(err));
    }
  });
})();
