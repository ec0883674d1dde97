"""The landing page's and the campaign messages' texts, in French and English.

The reference online store is a distribution of its own (it imports nothing of the edge,
whose gettext catalogues serve the store's screens): its few shopper-facing texts live here,
one dictionary per language, and a test checks both have the same keys.
"""

from __future__ import annotations

LANGS = ("fr", "en")
MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}  # fmt: skip

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "lang_name": "Français",
        "other_lang": "English",
        "intro": "Inscrivez-vous et recevez votre bon personnel.",
        "first_name": "Prénom",
        "last_name": "Nom",
        "email": "E-mail",
        "phone": "Téléphone mobile",
        "choose": "Choisissez…",
        "consent_title": "Vos choix (rien n'est coché d'avance)",
        "consent_email": "J'accepte de recevoir les offres par e-mail",
        "consent_sms": "J'accepte de recevoir les offres par SMS",
        "send_title": "Recevoir mon bon",
        "send_email": "par e-mail",
        "send_sms": "par SMS",
        "submit": "Recevoir mon bon",
        "errors": "Vérifiez les champs signalés : rien n'a été enregistré.",
        "err_first_name": "Indiquez votre prénom.",
        "err_last_name": "Indiquez votre nom.",
        "err_contact": "Indiquez un e-mail ou un téléphone mobile.",
        "err_email": "Cette adresse e-mail n'est pas valide.",
        "err_phone": "Ce numéro de téléphone n'est pas valide.",
        "err_answer": "Choisissez une réponse.",
        "err_send_email": "Pour recevoir le bon par e-mail, donnez votre e-mail et cochez "
        "l'accord e-mail.",
        "err_send_sms": "Pour recevoir le bon par SMS, donnez votre mobile et cochez l'accord SMS.",
        "done_title": "Merci {name} !",
        "done_code": "Votre code :",
        "done_sent_email": "Nous vous l'avons envoyé par e-mail.",
        "done_sent_sms": "Nous vous l'avons envoyé par SMS.",
        "done_card": "Votre carte de fidélité : {card}. Montrez-la en magasin : la borne affiche "
        "votre bon.",
        "done_again": "Vous étiez déjà inscrit à cette offre : voici votre bon.",
        "sms_link": "{title} : inscrivez-vous ici {url} (STOP au même numéro pour ne plus "
        "recevoir de SMS)",
        "sms_coupon": "{title} : votre code {code}, valable jusqu'au {until}. STOP pour ne plus "
        "recevoir de SMS.",
        "mail_stop": "Pour ne plus recevoir nos offres par e-mail, changez vos choix en "
        "magasin (borne ou caisse) ou sur votre compte.",
        "why_bought": "parce que vous avez acheté {name} en {month}",
        "why_lapsed": "parce que nous ne vous avons pas vu en magasin depuis {days} jours",
        "why_tier": "parce que vous êtes membre {tier}",
        "why_answer": "parce que vous nous avez répondu « {answer} »",
        "closed": "Cette offre n'est plus disponible.",
    },
    "en": {
        "lang_name": "English",
        "other_lang": "Français",
        "intro": "Sign up and get your personal coupon.",
        "first_name": "First name",
        "last_name": "Last name",
        "email": "E-mail",
        "phone": "Mobile phone",
        "choose": "Choose…",
        "consent_title": "Your choices (nothing is ticked for you)",
        "consent_email": "I agree to receive offers by e-mail",
        "consent_sms": "I agree to receive offers by text message",
        "send_title": "Get my coupon",
        "send_email": "by e-mail",
        "send_sms": "by text message",
        "submit": "Get my coupon",
        "errors": "Please check the fields marked: nothing was saved.",
        "err_first_name": "Enter your first name.",
        "err_last_name": "Enter your last name.",
        "err_contact": "Enter an e-mail address or a mobile number.",
        "err_email": "This e-mail address is not valid.",
        "err_phone": "This phone number is not valid.",
        "err_answer": "Choose an answer.",
        "err_send_email": "To get the coupon by e-mail, give your e-mail and tick the e-mail "
        "consent.",
        "err_send_sms": "To get the coupon by text, give your mobile and tick the text consent.",
        "done_title": "Thank you {name}!",
        "done_code": "Your code:",
        "done_sent_email": "We sent it to you by e-mail.",
        "done_sent_sms": "We sent it to you by text message.",
        "done_card": "Your loyalty card: {card}. Show it in store: the kiosk shows your coupon.",
        "done_again": "You had already signed up for this offer: here is your coupon.",
        "sms_link": "{title}: sign up here {url} (reply STOP to receive no more texts)",
        "sms_coupon": "{title}: your code {code}, valid until {until}. Reply STOP to receive no "
        "more texts.",
        "mail_stop": "To receive no more offers by e-mail, change your choices in store (kiosk "
        "or till) or on your account.",
        "why_bought": "because you bought {name} in {month}",
        "why_lapsed": "because we have not seen you in store for {days} days",
        "why_tier": "because you are a {tier} member",
        "why_answer": "because you told us “{answer}”",
        "closed": "This offer is no longer available.",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    text = TEXTS.get(lang, TEXTS["fr"])[key]
    return text.format(**values) if values else text
