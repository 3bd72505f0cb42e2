"""The Tryton connector's own texts in English (its default) and Danish: its config fields, the names of the role
rules and the messages of its errors, keyed by the English text (``erpsync.sdk.language.Translations``). The labels of
Tryton's fields and the names of Tryton's list items are Tryton's own strings, in the languages its database translates
(``languages``)."""

from __future__ import annotations

from erpsync.sdk.language import Translations

DANISH: dict[str, str] = {
    # config fields
    "Tryton server URL": "Tryton-serverens URL",
    "Database": "Database",
    "User": "Bruger",
    "Password": "Adgangskode",
    "Company id": "Firma-id",
    "Tryton's id of the company; empty: the user's current company": (
        "Firmaets id i Tryton; tom: brugerens aktuelle firma"
    ),
    "Customers": "Kunder",
    "Which parties are customers": "Hvilke parter der er kunder",
    "Customer category": "Kundekategori",
    "Tryton's party category of customers, when chosen above": (
        "Tryton-partkategorien med kunderne, når den er valgt ovenfor"
    ),
    "Suppliers": "Leverandører",
    "Which parties are suppliers": "Hvilke parter der er leverandører",
    "Supplier category": "Leverandørkategori",
    "Tryton's party category of suppliers, when chosen above": (
        "Tryton-partkategorien med leverandørerne, når den er valgt ovenfor"
    ),
    "Contact relation type": "Relationstype for kontaktpersoner",
    "The name of Tryton's relation type from a contact person to its company; empty: no persons": (
        "Navnet på Tryton-relationstypen fra en kontaktperson til dens firma; tom: ingen personer"
    ),
    # the role rules (the list of the config fields customers and suppliers)
    "Every party": "Alle parter",
    "Parties in the party category named below": "Parter i partkategorien, der er nævnt nedenfor",
    "Parties with sales (customers) or purchases (suppliers)": "Parter med salg (kunder) eller indkøb (leverandører)",
    "Parties with a customer (supplier) payment term": "Parter med en betalingsbetingelse som kunde (leverandør)",
    "None": "Ingen",
    # messages
    "Connected to Tryton": "Forbundet til Tryton",
    "{url} does not answer as a Tryton server: check the server URL": (
        "{url} svarer ikke som en Tryton-server: kontrollér serverens URL"
    ),
    "the Tryton connection needs a {key}": "Tryton-forbindelsen skal have en {key}",
    "company {value} is not one of the Tryton user's companies": "firma {value} er ikke et af Tryton-brugerens firmaer",
    "Tryton has no database named {database}": "Tryton har ingen database ved navn {database}",
    "Tryton refused the user name or password": "Tryton afviste brugernavnet eller adgangskoden",
    "cannot reach the Tryton server": "kan ikke få forbindelse til Tryton-serveren",
    "Tryton refused the call": "Tryton afviste kaldet",
    "the Tryton server is busy or restarting": "Tryton-serveren er optaget eller ved at genstarte",
    "the URL does not answer as a Tryton server": "URL'en svarer ikke som en Tryton-server",
    "the record was changed in Tryton since it was read": "posten er ændret i Tryton, siden den blev læst",
    "Tryton refused access: {message}": "Tryton nægtede adgang: {message}",
    "Tryton is rate limiting logins": "Tryton begrænser antallet af logins",
    "Tryton failed to process the request": "Tryton kunne ikke behandle forespørgslen",
}

TEXTS = Translations("en", {"da": DANISH})
"""The connector's texts; ``TEXTS.text(english)`` answers in the request's language."""
