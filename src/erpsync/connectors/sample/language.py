"""The sample connector in English (its default) and Danish: field labels and descriptions, list item names and the
messages a user sees, keyed by the English text (``erpsync.sdk.language.Translations``)."""

from __future__ import annotations

from erpsync.protocol.models import MAX_LIMIT
from erpsync.sdk.language import Translations

_ADDRESS = {
    f"{english} {part}": f"{danish}{suffix}"
    for english, danish in (("Postal", "Post"), ("Street", "Besøgs"))
    for part, suffix in (
        ("address, line 1", "adresse, linje 1"),
        ("address, line 2", "adresse, linje 2"),
        ("address, line 3", "adresse, linje 3"),
        ("zip code", "nummer"),
        ("city", "by"),
    )
}

DANISH: dict[str, str] = {
    # config fields
    "ERP company": "ERP-firma",
    "The company (client) of the ERP whose records this connection syncs.": (
        "Det firma (klient) i ERP-systemet, hvis poster denne forbindelse synkroniserer."
    ),
    "User": "Bruger",
    "Password": "Adgangskode",
    "Demo credentials": "Demo-login",
    "The demo ERP's user is erpsync with password demo.": "Demo-ERP'ets bruger er erpsync med adgangskoden demo.",
    "Page size": "Sidestørrelse",
    f"Most records per page of changes (1 to {MAX_LIMIT}).": (
        f"Højst så mange poster pr. side med ændringer (1 til {MAX_LIMIT})."
    ),
    "Include inactive records in searches": "Medtag inaktive poster i søgninger",
    "Sync changes from": "Synkroniser ændringer fra",
    "Changes made before this moment are not synced. Empty: all changes.": (
        "Ændringer fra før dette tidspunkt synkroniseres ikke. Tom: alle ændringer."
    ),
    "Credit limit of new customers": "Kreditgrænse for nye kunder",
    "Used when a customer, supplier or partner is created without a credit limit.": (
        "Bruges, når en kunde, leverandør eller partner oprettes uden kreditgrænse."
    ),
    # actor fields
    "Number": "Nummer",
    "Created": "Oprettet",
    "Active": "Aktiv",
    "Name": "Navn",
    "Organisation number": "CVR-nummer",
    "VAT number": "Momsnummer",
    **_ADDRESS,
    "Country": "Land",
    "Phone": "Telefon",
    "Email": "E-mail",
    "Web site": "Hjemmeside",
    "Currency": "Valuta",
    "Payment terms": "Betalingsbetingelser",
    "Customer group": "Kundegruppe",
    "Employees": "Ansatte",
    "Credit limit": "Kreditgrænse",
    "Blocked": "Spærret",
    "First name": "Fornavn",
    "Last name": "Efternavn",
    "Title": "Titel",
    "Direct phone": "Direkte telefon",
    "Mobile phone": "Mobiltelefon",
    "Description": "Beskrivelse",
    "End date": "Slutdato",
    "Status": "Status",
    # lists
    "Denmark": "Danmark",
    "Sweden": "Sverige",
    "Norway": "Norge",
    "Finland": "Finland",
    "Iceland": "Island",
    "Germany": "Tyskland",
    "Netherlands": "Holland",
    "United Kingdom": "Storbritannien",
    "United States": "USA",
    "Danish krone": "Dansk krone",
    "Swedish krona": "Svensk krone",
    "Norwegian krone": "Norsk krone",
    "Icelandic króna": "Islandsk krone",
    "Pound sterling": "Britisk pund",
    "US dollar": "Amerikansk dollar",
    "Prepaid": "Forudbetalt",
    "8 days net": "Netto 8 dage",
    "14 days net": "Netto 14 dage",
    "30 days net": "Netto 30 dage",
    "60 days net": "Netto 60 dage",
    "End of month + 30 days": "Løbende måned + 30 dage",
    "Retail": "Detail",
    "Wholesale": "Engros",
    "Public sector": "Offentlig sektor",
    "Reseller": "Forhandler",
    "Internal": "Intern",
    "Planned": "Planlagt",
    "In progress": "I gang",
    "On hold": "På pause",
    "Completed": "Afsluttet",
    "Cancelled": "Annulleret",
    # messages
    "Connected to the sample ERP.": "Forbundet til eksempel-ERP'et.",
    "The ERP refused the user name or password.": "ERP-systemet afviste brugernavnet eller adgangskoden.",
    "the ERP has no company {company!r}": "ERP-systemet har intet firma {company!r}",
    "{key} is mandatory": "{key} skal udfyldes",
    "mandatory field(s) missing or blank: {keys}": "obligatoriske felter mangler eller er tomme: {keys}",
    "{key}: longer than {most} characters": "{key}: længere end {most} tegn",
    "{actor_type} {key} was changed in the ERP since it was read": (
        "{actor_type} {key} er ændret i ERP-systemet, siden den blev læst"
    ),
    "{actor_type} {key} does not exist": "{actor_type} {key} findes ikke",
}

TEXTS = Translations("en", {"da": DANISH})
"""The sample connector's texts; ``TEXTS.text(english)`` answers in the request's language."""
