"""Deterministic contract-like Markdown for the knowledge index's benchmarks: N passages as N/10 agreements.

Each agreement is between two invented companies and holds 10 clauses drawn from 29 headings (fees, liability,
service levels, data protection...); a clause is its heading's own sentences and a few general ones, filled with
amounts, percentages, days, dates, codes such as "PO-58213", names and e-mail addresses, 350-650 characters, so that
`bot.documents` makes exactly one passage of it. `questions` asks about them as a user of a contract archive would.
The same number gives the same bytes on every machine.
"""

import random
from pathlib import Path

CLAUSES_PER_FILE = 10
_PREFIXES = ("Brindle", "Corv", "Halden", "Marrow", "Quill", "Tessel", "Yarrow", "Ostra", "Pell", "Vantor", "Lumen",
             "Kestrel", "Arden", "Fenwick", "Sorrel", "Garrow", "Ibex", "Juniper", "Nettle", "Rook")
_SUFFIXES = ("wave", "ane", "ford", "stone", "ridge", "field", "line", "works", "gate", "mere")
_FORMS = ("Ltd", "Inc.", "GmbH", "S.A.", "B.V.", "LLC", "plc", "Oy", "AB", "Pty Ltd")
_PRODUCTS = ("Rota", "Ledger", "Beacon", "Harbor", "Atlas", "Pulse", "Relay", "Summit", "Compass", "Vault")
_FIRST = ("Amara", "Bastian", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Keiko", "Luca",
          "Maya", "Nikolai", "Olu", "Priya", "Quentin", "Rosa", "Sven", "Talia")
_LAST = ("Abernathy", "Baptiste", "Castellano", "Dubois", "Eriksen", "Fontaine", "Grünwald", "Haddad", "Iwasaki",
         "Jovanović", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quiroga", "Rahman")
_CITIES = ("Rotterdam", "Lyon", "Porto", "Gdańsk", "Leeds", "Graz", "Tampere", "Bilbao", "Aarhus", "Cork")
_AGREEMENTS = ("Master Services Agreement", "Customer Subscription Agreement", "Data Processing Addendum",
               "Reseller Agreement", "Support and Maintenance Agreement", "Software Licence Agreement",
               "Statement of Work", "Supply Agreement", "Consulting Agreement", "Hosting Agreement")
_CLAUSES = {
    "Fees and Payment": ("{party} shall pay each invoice within {days} days of its date, by bank transfer to the "
                         "account named in {code}.",
                         "Fees for {product} are {amount} per named user per month, billed {period} in advance."),
    "Late Payment": ("Late payments bear interest at {pct}% per month from the due date until paid in full.",
                     "A fee of {amount} applies to each reinstatement after suspension for non-payment."),
    "Term and Renewal": ("The initial term is {months} months from the Effective Date of {date}, renewing for "
                         "successive terms of {renew} months unless either party gives notice of non-renewal.",),
    "Termination for Breach": ("Either party may terminate this Agreement on {days} days' written notice if the other "
                               "party materially breaches it and fails to cure the breach within that period.",),
    "Termination for Convenience": ("{party} may terminate for convenience on {days} days' notice, paying the fees "
                                    "for the remainder of the current {period} billing period.",),
    "Service Levels": ("{vendor} will make {product} available {pct}.{digit}% of the time in each calendar month, "
                       "excluding scheduled maintenance announced at least {hours} hours ahead.",),
    "Service Credits": ("If availability falls below the commitment, {party} receives a service credit of {pct}% of "
                        "the monthly fee for the affected service, up to {cap}% in total.",
                        "Service credits are claimed within {days} days of the month's end by writing to {email}."),
    "Support Hours": ("Support requests are answered within {hours} business hours; priority 1 incidents (ticket "
                      "prefix {code}) within {minutes} minutes, around the clock.",),
    "Confidentiality": ("Each party keeps the other's Confidential Information secret for {years} years after this "
                        "Agreement ends.",),
    "Data Protection": ("{vendor} processes Personal Data only on {party}'s documented instructions and keeps it in "
                        "data centres in {city}.",),
    "Security Incidents": ("{vendor} notifies {party} of a Personal Data Breach without undue delay and in any case "
                           "within {hours} hours of becoming aware of it.",),
    "Sub-processors": ("Sub-processors are listed at {url}; {party} may object to a new one within {days} days of "
                       "notice.",),
    "Limitation of Liability": ("The total liability of either party in any contract year is capped at {amount}, or "
                                "{multiple} times the fees paid in the {months} months before the claim, whichever "
                                "is greater.",),
    "Insurance": ("{vendor} maintains professional indemnity insurance of at least {amount} with an insurer rated A- "
                  "or better.",),
    "Intellectual Property": ("All rights in deliverables created under {code} pass to {party} on payment of the "
                              "relevant invoice.",),
    "Acceptance Testing": ("Acceptance tests run for {days} business days; a deliverable with no open severity-1 "
                           "defects is accepted.",),
    "Audit Rights": ("{party} may audit {vendor}'s compliance once per year on {days} days' notice, at its own "
                     "cost.",),
    "Assignment": ("Neither party may assign this Agreement without the other's prior written consent, not to be "
                   "unreasonably withheld.",),
    "Notices": ("Notices go to {person}, {role}, at {email}, and are effective on receipt.",),
    "Force Majeure": ("Neither party is liable for delay caused by events beyond its reasonable control lasting under "
                      "{days} days.",),
    "Governing Law": ("This Agreement is governed by the laws of {country}; the courts of {city} have exclusive "
                      "jurisdiction.",),
    "Dispute Resolution": ("Disputes are first escalated to {person} and the other party's account lead, who meet "
                           "within {days} days.",),
    "Escrow": ("Source code for {product} version {version} is deposited with the escrow agent under reference "
               "{code}.",),
    "Price Changes": ("Prices may rise once a year by no more than {pct}% or the consumer price index, whichever is "
                      "lower.",),
    "Invoicing": ("Invoices quote the purchase order number ({code}) and are sent to {email}.",),
    "Taxes": ("Amounts are exclusive of VAT and other taxes, which {party} pays at the applicable rate.",),
    "Exit Assistance": ("On expiry {vendor} provides up to {hours} hours of exit assistance at the rates in Schedule "
                        "{schedule}.",),
    "Seats": ("The minimum order is {units} seats; additional seats cost {amount} each and are prorated by day.",),
}
_GENERAL = (
    "This clause survives termination of this Agreement for {years} years.",
    "Any change to this clause needs a written amendment signed by {person} for {party}.",
    "Where this clause conflicts with Schedule {schedule}, this clause prevails.",
    "{party}'s contact for this clause is {person}, {role} ({email}).",
    "The obligations in this clause apply from {date}.",
    "References to days in this clause mean calendar days unless stated otherwise.",
)
_ROLES = ("General Counsel", "Head of Procurement", "Chief Financial Officer", "Contracts Manager", "Legal Director")
_COUNTRIES = ("England and Wales", "the Netherlands", "Ireland", "Sweden", "Portugal", "Austria", "Finland")
_PERIODS = ("monthly", "quarterly", "annually")


def _company(rng: random.Random) -> str:
    return f"{rng.choice(_PREFIXES)}{rng.choice(_SUFFIXES)} {rng.choice(_FORMS)}"


def _sentence(rng: random.Random, template: str, vendor: str, party: str, product: str) -> str:
    person = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    values = {
        "party": party, "vendor": vendor, "product": f"{vendor.split()[0]} {product}", "person": person,
        "days": rng.choice((10, 14, 15, 20, 30, 45, 60, 90)), "months": rng.choice((12, 24, 36, 48)),
        "renew": rng.choice((12, 24)), "hours": rng.choice((4, 8, 24, 48, 72)), "minutes": rng.choice((15, 30, 60)),
        "years": rng.choice((2, 3, 5, 7)), "pct": rng.choice((1, 2, 3, 5, 8, 10, 15, 99)), "digit": rng.randrange(10),
        "cap": rng.choice((20, 25, 30, 50)), "multiple": rng.choice((1, 1.5, 2, 3)), "units": rng.choice((5, 10, 25, 50)),
        "amount": rng.choice(("$", "€", "£")) + f"{rng.randrange(5, 250_000):,}.{rng.randrange(100):02d}",
        "period": rng.choice(_PERIODS), "date": f"{rng.randrange(1, 29)} {rng.choice(('March', 'June', 'October'))} "
                                                f"{rng.randrange(2019, 2027)}",
        "code": f"{rng.choice(('PO', 'SOW', 'SLA', 'ESC', 'INC', 'fh'))}-{rng.randrange(100, 99_999)}",
        "url": f"https://{vendor.split()[0].lower()}.example/subprocessors", "role": rng.choice(_ROLES),
        "email": f"{person.split()[0].lower()}@{party.split()[0].lower()}.example", "version": f"{rng.randrange(1, 9)}.{rng.randrange(20)}",
        "country": rng.choice(_COUNTRIES), "city": rng.choice(_CITIES), "schedule": rng.choice("ABCDE"),
    }
    return template.format(**values)


def agreement(number: int) -> str:
    """Agreement `number`: CLAUSES_PER_FILE clauses, each a heading and a paragraph of 350-650 characters."""
    rng = random.Random(number)
    vendor, party, product = _company(rng), _company(rng), rng.choice(_PRODUCTS)
    lines = [f"# {rng.choice(_AGREEMENTS)} {rng.choice(('MSA', 'CSA', 'DPA'))}-{number:06d} between {vendor} and "
             f"{party}", ""]
    for clause, heading in enumerate(rng.sample(sorted(_CLAUSES), CLAUSES_PER_FILE), start=1):
        templates = list(_CLAUSES[heading]) + rng.sample(_GENERAL, 3)
        paragraph = ""
        for template in templates:
            candidate = (paragraph + " " + _sentence(rng, template, vendor, party, product)).strip()
            if len(candidate) > 650 or len(paragraph) >= 350:
                break
            paragraph = candidate
        lines += [f"## {clause}. {heading}", "", paragraph, ""]
    return "\n".join(lines)


def write_corpus(directory: Path, passages: int) -> Path:
    """`passages` / CLAUSES_PER_FILE agreements under `directory` (written once; the same bytes every time)."""
    directory.mkdir(parents=True, exist_ok=True)
    for number in range(passages // CLAUSES_PER_FILE):
        path = directory / f"{number // 1000:03d}" / f"agreement-{number:06d}.md"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            path.write_text(agreement(number), encoding="utf-8")
    return directory

_QUESTIONS = (
    "What interest is charged on late payments by {party}?",
    "How many days does {party} have to pay an invoice?",
    "What is the liability cap in the agreement between {vendor} and {party}?",
    "How quickly must a personal data breach be reported?",
    "Can we terminate the {product} contract early, and with how much notice?",
    "What uptime does {vendor} promise and what service credits apply?",
    "Who receives notices for {party}?",
    "Which courts have jurisdiction over disputes with {vendor}?",
    "How long does confidentiality last after the agreement ends?",
    "Where is the source code for {product} held in escrow?",
    "How much can prices rise each year?",
    "What insurance must {vendor} carry?",
    "What happens to purchase order {code}?",
    "When does the initial term end and does it renew automatically?",
    "How many hours of exit assistance do we get?",
)


def questions(count: int, passages: int) -> list[str]:
    """`count` questions about the agreements of a corpus of `passages` passages (deterministic)."""
    rng = random.Random(f"questions-{passages}")
    asked = []
    for _ in range(count):
        agreement_rng = random.Random(rng.randrange(passages // CLAUSES_PER_FILE))
        vendor, party, product = _company(agreement_rng), _company(agreement_rng), agreement_rng.choice(_PRODUCTS)
        code = f"{rng.choice(('PO', 'SOW', 'ESC'))}-{rng.randrange(100, 99_999)}"
        asked.append(rng.choice(_QUESTIONS).format(vendor=vendor, party=party, product=f"{vendor.split()[0]} {product}",
                                                   code=code))
    return asked
