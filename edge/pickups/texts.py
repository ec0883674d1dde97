"""What the shopper reads at the kiosk about their order, in their language."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "wait_preparing": "Merci, vous êtes enregistré(e). Votre commande {number} est en "
        "préparation : un membre de l'équipe vous l'apporte dans quelques instants.",
        "wait_ready": "Merci, vous êtes enregistré(e). Votre commande {number} est prête : un "
        "membre de l'équipe vous l'apporte.",
        "pay": " Le paiement se fera au comptoir.",
        "failed": "Nous ne trouvons pas de commande avec ce numéro et ce code. Vérifiez-les "
        "dans votre e-mail ou adressez-vous à un membre de l'équipe.",
        "closed": "La commande {number} ne peut plus être retirée (état : {status}). "
        "Adressez-vous à un membre de l'équipe.",
    },
    "en": {
        "wait_preparing": "Thank you, you are checked in. Your order {number} is being "
        "prepared: a member of staff will bring it to you shortly.",
        "wait_ready": "Thank you, you are checked in. Your order {number} is ready: a member "
        "of staff is bringing it to you.",
        "pay": " You will pay at the counter.",
        "failed": "We cannot find an order with this number and code. Check them in your "
        "e-mail or ask a member of staff.",
        "closed": "Order {number} can no longer be picked up (status: {status}). Please ask "
        "a member of staff.",
    },
}


def shopper_message(key: str, locale: str, **values: str) -> str:
    texts = MESSAGES.get(locale) or MESSAGES["en"]
    return texts[key].format(**values)


def next_step(status: str) -> str:
    return "wait_ready" if status == "ready" else "wait_preparing"
