"""Generate the fictional Ledgerleaf support corpus used by Tandem's training-speed benchmark.

Run from the repository root (standard library only, no network, takes well under a second):

    python benchmarks/support-csv/make_corpus.py

It (re)writes, next to this script:

    faq.csv      600 rows, columns q,a,topic (75 topics x 8 phrasings of the question)
    heldout.csv   75 rows, columns q,a,topic,key_facts (one unseen phrasing per topic)
    README.md    data card, including the answer-length statistics of this run

How the text is built: ``F`` below is the hand-written fact table (prices, limits, durations,
addresses, menu paths). Every topic is hand-written as eight customer questions plus one held-out
question, a few "core" points that each have two or three alternative wordings, optional extra
details, and the key facts a correct answer must contain. Answers are assembled from an opening,
one wording of every core point, some extra details in varying positions and a closing, then
filled in from ``F`` so that every number is identical wherever it appears. The random choices use
a fixed seed, so the output is byte-for-byte reproducible. Ledgerleaf and every fact here are
invented.
"""

import csv
import difflib
import random
import re
import statistics
from pathlib import Path

SEED = 20240611
OUT = Path(__file__).resolve().parent
MIN_WORDS, MAX_WORDS = 100, 200
MAX_SIMILARITY = 0.85  # word-level difflib ratio allowed between two answers of one topic

# --------------------------------------------------------------------------------------------
# Fact table. Every number, address and limit in the corpus comes from here.
# Plans: Quill (free), Inkwell, Folio, Bureau.
# --------------------------------------------------------------------------------------------
F = {
    # contact points
    "support": "support@ledgerleaf.com",
    "billing": "billing@ledgerleaf.com",
    "privacy": "privacy@ledgerleaf.com",
    "security": "security@ledgerleaf.com",
    "complaints": "complaints@ledgerleaf.com",
    "partners": "partners@ledgerleaf.com",
    "edu": "education@ledgerleaf.com",
    "npo": "nonprofits@ledgerleaf.com",
    "phone_uk": "+44 117 496 0384",
    "phone_us": "+1 (646) 555-0142",
    "hours": "Monday to Friday, 08:00–18:00 UK time",
    "tk": "LL-482913",  # support ticket reference: LL- plus six digits
    "help": "help.ledgerleaf.com",
    "status": "status.ledgerleaf.com",
    "feedback": "feedback.ledgerleaf.com",
    "dev": "developers.ledgerleaf.com",
    "api": "https://api.ledgerleaf.com/v2",
    "email_reply": "1 business day",
    "bureau_reply": "4 business hours",
    "quill_reply": "2 business days",
    "complaint_ack": "2 business days",
    "complaint_full": "10 business days",
    # plans and prices (USD list prices, excluding VAT / sales tax)
    "quill": "Quill",
    "inkwell": "Inkwell",
    "folio": "Folio",
    "bureau": "Bureau",
    "quill_clients": "3 active clients",
    "quill_inv": "5 invoices a month",
    "inkwell_m": "$14",
    "inkwell_y": "$140",
    "folio_m": "$32",
    "folio_y": "$320",
    "bureau_m": "$79",
    "bureau_y": "$790",
    "inkwell_m_gbp": "£11",
    "folio_m_gbp": "£26",
    "bureau_m_gbp": "£64",
    "folio_y_gbp": "£260",
    "inkwell_m_eur": "€13",
    "folio_m_eur": "€30",
    "bureau_m_eur": "€74",
    "folio_y_eur": "€300",
    "folio_users": "3 users",
    "bureau_users": "10 users",
    "folio_extra": "$6",
    "bureau_extra": "$5",
    "trial_days": "30 days",
    "trial_ext": "14 days",
    # billing policies
    "ref_annual": "30 days",
    "ref_monthly": "7 days",
    "ref_time": "5–10 business days",
    "bill_inv_ex": "LLB-2024-004417",
    "billing_ret": "7 years",
    "retry_days": "days 1, 4 and 10",
    "readonly_day": "day 14",
    "unpaid_days": "90 days",
    "bank_min": "$2,000",
    "uk_vat": "20%",
    "exempt_days": "3 business days",
    "price_notice": "60 days",
    "pause_max": "3 months",
    "pause_fee": "$3 a month",
    "ws_disc": "20%",
    "ref_friend": "one month free",
    "ref_credit": "$25",
    "ref_cap": "20 referrals",
    "student_term": "12 months",
    "grad_disc": "40%",
    "class_seats": "40",
    "npo_disc": "30%",
    "partner_disc": "15%",
    # account and security
    "lock_tries": "5",
    "lock_min": "15 minutes",
    "reset_valid": "60 minutes",
    "pw_len": "12 characters",
    "backup_codes": "10",
    "recovery": "2 business days",
    "email_confirm": "24 hours",
    "owner_accept": "48 hours",
    "sec_resp": "4 hours",
    "audit_other": "30 days",
    "audit_bureau": "12 months",
    # data and privacy
    "export_link": "7 days",
    "export_big": "24 hours",
    "delete_grace": "30 days",
    "backup_ret": "35 days",
    "sar": "one month",
    "inactive": "24 months",
    "trash": "30 days",
    "restore_fee": "$150",
    "import_rows": "5,000 rows",
    "import_mb": "10 MB",
    # product features
    "scan_inkwell": "20",
    "scan_folio": "200",
    "scan_bureau": "1,000",
    "scan_pack": "$5",
    "banks": "6,000",
    "bank_inkwell": "1",
    "bank_folio": "5",
    "reconnect": "90 days",
    "currencies": "160",
    "fx": "16:00 CET",
    "inkwell_fee": "0.5%",
    "payout": "2 business days",
    "first_payout": "7–14 days",
    "quote_valid": "30 days",
    "templates": "6",
    "logo_mb": "2 MB",
    "mtd_auth": "18 months",
    "inv_langs": "14 languages",
    "app_langs": "5 languages",
    # platform
    "api_f_min": "60 requests per minute",
    "api_f_day": "10,000 requests per day",
    "api_b_min": "300 requests per minute",
    "api_b_day": "100,000 requests per day",
    "max_keys": "10",
    "wh_retry": "8 times over 24 hours",
    "wh_timeout": "10 seconds",
    "maint": "Sundays between 02:00 and 04:00 UK time",
    "maint_notice": "72 hours",
    "sla": "99.9%",
    "ios": "iOS 16",
    "android": "Android 10",
}

# --------------------------------------------------------------------------------------------
# Openings and closings shared by all topics (a topic can add its own).
# --------------------------------------------------------------------------------------------
GREETINGS = ["Hi there!", "Hello!", "Hi!", "Hi there,", "Hello,"]

OPEN_ANY = [  # fine for any question, including problems
    "Thanks for getting in touch.",
    "Thanks for your message.",
    "Thanks for reaching out — happy to help.",
    "Thanks for writing in.",
    "Thanks for contacting Ledgerleaf Support.",
    "Let me walk you through it.",
    "Happy to help with this.",
    "Here's what you need to know.",
]
OPEN_INFO = [  # questions about how something works
    "Good question!",
    "Great question, and thanks for checking with us first.",
    "Sure — here's how it works.",
    "Of course, here are the details.",
    "Glad you asked.",
    "Thanks for the question — this one comes up a lot.",
    "Happy to clear this up for you.",
    "Here's a quick rundown.",
    "Absolutely, here's the short version.",
    "No problem at all, let me explain.",
]
OPEN_PROBLEM = [  # something has gone wrong for the customer
    "Sorry for the trouble — let's get this sorted.",
    "I'm sorry you've run into this.",
    "Apologies for the hassle, and thanks for letting us know.",
    "Sorry about that, I know how frustrating it can be.",
    "Thanks for flagging this, and sorry for the inconvenience.",
    "That's no fun at all — let's fix it.",
    "Sorry to hear that. Here's what to do.",
]
CLOSE_HELP = [  # offer of further help
    "Let us know if there's anything else we can help with.",
    "If anything is unclear, just reply to this message and we'll pick it up.",
    "Feel free to reply if you get stuck on any of the steps.",
    "Just reply here if you have any follow-up questions.",
    "You can reach us {hours} if you'd like to go through it together.",
    "If you'd like us to double-check anything on your account, reply with your workspace name.",
    "There's more detail in our help centre at {help}.",
    "Don't hesitate to get back in touch if you need more help.",
    "I hope that answers your question.",
    "Hope this clears things up.",
    "Let me know if I can help with anything else.",
    "Anything else, just ask — we're happy to help.",
    "If you need a hand, our team is here {hours}.",
]
CLOSE_INFO_ONLY = [
    "Good luck, and let us know how it goes!",
    "Happy invoicing!",
]
CLOSE_PROBLEM = [
    "If it's still not working after that, reply here and we'll dig into it.",
    "Sorry again for the hassle.",
    "We'll keep this ticket open until it's resolved for you.",
    "Thanks for your patience while we get this sorted.",
]
SIGNOFFS = [
    "Have a great day!",
    "Thanks again for using Ledgerleaf.",
    "Take care.",
    "Have a good rest of your week.",
    "Thanks for being a Ledgerleaf customer.",
    "All the best.",
    "Cheers!",
    "Kind regards.",
]

TOPICS = []


def T(topic, qs, held, core, extra, keys, problem=False, shuffle=False, seq=False, opens=(), closes=()):
    """Register one topic.

    qs: the eight FAQ phrasings; held: the held-out phrasing (a leading "!" or "?" overrides the
    topic's tone for that question); core: list of points, each a list of
    alternative wordings (every answer states every point); extra: optional details (a leading "^"
    means "only at the end"); keys: key facts every answer must contain; problem: the customer has
    a problem (apologetic openings); shuffle: points after the first may be reordered; seq: the
    points form a sequence, so extras go only after them; opens/closes: topic-specific lines.
    """
    assert len(qs) == 8, topic

    def tone(q):  # "!" marks a question from someone with a problem, "?" a plain question
        return (q[1:], True) if q.startswith("!") else (q[1:], False) if q.startswith("?") else (q, problem)

    asked = [tone(q) for q in qs + [held]]
    TOPICS.append(dict(topic=topic, qs=[q for q, _ in asked[:8]], held=asked[8][0],
                       tones=[p for _, p in asked], core=core, extra=extra, keys=keys,
                       shuffle=shuffle, seq=seq, opens=list(opens), closes=list(closes)))


# ============================================================================================
# Topics: billing and plans
# ============================================================================================
T("plan_prices",
  ["How much does Ledgerleaf cost?",
   "What are your plan prices? I need to compare Inkwell, Folio and Bureau before I commit.",
   "pricing for ledgerleaf plans pls",
   "I'm a freelance illustrator just starting out. Which plan should I pick and what does each one cost per month?",
   "Can you send me a breakdown of the monthly and yearly prices for every plan?",
   "whats the diffrence in price between folio and bureau",
   "Our bookkeeper asked me to confirm what the paid tiers cost before we switch from spreadsheets. Could you list them?",
   "Is there a price list somewhere? Your website confused me a bit."],
  "Before I sign up I'd like to know the cost of each subscription level, both monthly and annually.",
  [["We have one free plan and three paid ones: {quill} is free, {inkwell} costs {inkwell_m} a month, {folio} is {folio_m} a month and {bureau} is {bureau_m} a month.",
    "Here's the current line-up: {quill} (free), {inkwell} at {inkwell_m} per month, {folio} at {folio_m} per month and {bureau} at {bureau_m} per month.",
    "Our paid plans are {inkwell} ({inkwell_m}/month), {folio} ({folio_m}/month) and {bureau} ({bureau_m}/month), and there's also a free {quill} plan if you're just testing the waters."],
   ["If you pay yearly you get two months free, so the annual prices are {inkwell_y}, {folio_y} and {bureau_y} respectively.",
    "Annual billing works out at {inkwell_y}, {folio_y} or {bureau_y} a year — effectively two months free compared with paying monthly."],
   ["{inkwell} suits solo freelancers (unlimited clients and invoices, one bank feed), {folio} adds multi-currency, time tracking, the API and {folio_users}, and {bureau} is built for bigger teams with {bureau_users}, SSO and phone support.",
    "In short: {inkwell} is for one-person businesses, {folio} is for small teams of up to {folio_users} who need multi-currency and the API, and {bureau} covers {bureau_users} plus single sign-on and phone support."],
   ["All prices are in US dollars and exclude VAT or sales tax where it applies.",
    "Prices are in USD and don't include VAT or sales tax, which is added at checkout based on your billing address."]],
  ["UK and EU customers are billed in pounds or euros at fixed local prices, which you'll see on the checkout page.",
   "Every new workspace starts with a free {folio} trial of {trial_days}, and no card is needed to start it.",
   "You can switch plans at any time from Settings > Billing > Plan, and upgrades take effect immediately.",
   "An accountant seat is included free on every paid plan, so your bookkeeper won't add to the bill.",
   "The full feature comparison lives at ledgerleaf.com/pricing if you'd like to see everything side by side."],
  ["{inkwell_m}", "{folio_m}", "{bureau_m}"],
  opens=["Happy to lay out the options for you."])

T("free_plan",
  ["Is there a free plan?",
   "What are the limits on the Quill plan?",
   "I only send a couple of invoices a month, can I use Ledgerleaf for free forever or is there a catch?",
   "how many clients can i have on the free version",
   "Does the free tier expire after a while?",
   "I'm a part-time dog walker with three regular clients. Would Quill be enough for me?",
   "What happens if I go over the free plan limits?",
   "free plan restrictions??"],
  "What exactly do I get without paying anything, and where does the free plan stop?",
  [["Yes — our {quill} plan is free with no time limit, and it covers up to {quill_clients} and {quill_inv} for a single user.",
    "{quill} is our free plan and it doesn't expire. It includes {quill_clients}, up to {quill_inv} and one user login."],
   ["You can still email invoices, accept card payments through Stripe and download PDFs, but recurring invoices, automatic reminders and bank feeds need a paid plan.",
    "Recurring invoices, automatic payment reminders and bank feeds aren't included, although you can email invoices, take card payments via Stripe and export PDFs."],
   ["If you hit a limit nothing is deleted: you'll see a prompt to archive a client, or you can wait for the invoice count to reset on the 1st of the month.",
    "Going over a limit never deletes anything — you'll be asked to archive an inactive client, and the invoice counter resets on the 1st of each month."],
   ["When you need more, {inkwell} at {inkwell_m} a month removes the client and invoice caps.",
    "Upgrading to {inkwell} ({inkwell_m} per month) lifts both caps whenever you're ready."]],
  ["Archived clients don't count towards the limit, and you can restore them later.",
   "Free workspaces get email support, with replies within {quill_reply}.",
   "You can export all your data on the free plan too, at Settings > Data > Export.",
   "Invoices sent from {quill} carry a small \"Sent with Ledgerleaf\" footer."],
  ["{quill_clients}", "{quill_inv}"])

T("free_trial",
  ["How long is the free trial?",
   "Do I need to enter a credit card to try Ledgerleaf?",
   "what happens when my trial ends, will i get charged automatically",
   "Which plan does the trial give me access to?",
   "!My trial is about to end and I haven't had time to test properly because of a family emergency. Can it be extended?",
   "Hi! Thinking of trying you out for my bakery. Is the trial really free?",
   "trial length + what happens after?",
   "Can I try the paid features before paying?"],
  "If I start the trial today, when does it finish and what do I need to do to keep using the paid features?",
  [["Every new workspace gets {trial_days} of our {folio} plan free, and you don't need a card to start.",
    "The free trial lasts {trial_days} and unlocks everything in {folio} — no credit card required."],
   ["We never charge you automatically at the end: if you haven't picked a plan, the workspace simply moves to the free {quill} plan and your data stays put.",
    "Because we don't take card details up front, nothing is charged when it ends. Without a chosen plan you drop to the free {quill} plan and keep all your data."],
   ["To carry on with paid features, go to Settings > Billing > Plan and choose {inkwell}, {folio} or {bureau} before the trial ends.",
    "If you want to keep the paid features, choose a plan under Settings > Billing > Plan before the trial runs out."],
   ["If you need more time, we can extend a trial once by {trial_ext} — just reply here or email {support}.",
    "Trials can be extended once, by {trial_ext}, if you ask us at {support} before it ends."]],
  ["You'll get a reminder email 7 days and again 1 day before the trial finishes.",
   "Anything you create during the trial — clients, invoices, templates — carries over when you subscribe.",
   "Invoices you send during the trial are real invoices, so feel free to use it with actual clients.",
   "If {folio} is more than you need, {inkwell} at {inkwell_m} a month is a popular choice after the trial."],
  ["{trial_days}", "{folio}"],
  seq=False)

T("annual_billing",
  ["Is there a discount for paying yearly?",
   "How much do I save if I switch from monthly to annual?",
   "can i pay annualy instead of every month",
   "If I switch to annual billing halfway through my month, what happens to what I've already paid?",
   "Our finance team prefers one invoice per year. Do you offer annual plans?",
   "annual vs monthly — which is cheaper?",
   "I'm on Folio monthly. What would a year cost upfront?",
   "Do annual plans lock the price?"],
  "What's the yearly price of each plan and how do I move my subscription over to it?",
  [["Yes — annual billing gives you two months free, which is roughly a 17% saving.",
    "Paying yearly works out cheaper: you effectively get two months free, about 17% off the monthly total."],
   ["On annual billing, {inkwell} costs {inkwell_y} a year, {folio} {folio_y} and {bureau} {bureau_y}.",
    "Annual prices are {inkwell_y} ({inkwell}), {folio_y} ({folio}) and {bureau_y} ({bureau}), plus any VAT or sales tax."],
   ["To switch, go to Settings > Billing > Plan, select \"Annual\" and confirm; any unused days of your current monthly period are credited against the first annual charge.",
    "You can move over at Settings > Billing > Plan by choosing the annual option. We credit the unused part of your current month, so you never pay twice for the same days."],
   ["Your price is locked for the full 12 months, even if our list prices change during that time.",
    "Annual plans also lock in your price for the whole year — any price change would only apply from your next renewal."]],
  ["Annual plans can be refunded in full within {ref_annual} of purchase or renewal if you change your mind.",
   "We send a reminder email 14 days before each annual renewal.",
   "Your billing invoice for the year appears under Settings > Billing > Invoices straight away.",
   "Annual {bureau} plans can also be paid by bank transfer if your finance team prefers."],
  ["two months free", "{folio_y}"],
  shuffle=True)

T("local_currency",
  ["Can I pay in pounds instead of dollars?",
   "What are the prices in euros?",
   "im in the UK, how much is inkwell in GBP",
   "Do you charge in local currency or will my bank add conversion fees?",
   "We're a small agency in Dublin. What would Folio cost us in EUR, and is VAT on top?",
   "gbp pricing?",
   "Can I change my billing currency from USD to EUR?",
   "!Why was I charged in dollars when I'm based in Germany?"],
  "I'm based in Manchester — what do the plans cost in sterling?",
  [["We bill in US dollars, British pounds or euros, depending on the billing country on your account.",
    "Ledgerleaf charges in USD, GBP or EUR, and the currency follows the billing country on your account."],
   ["In pounds, {inkwell} is {inkwell_m_gbp}, {folio} is {folio_m_gbp} and {bureau} is {bureau_m_gbp} a month; in euros they're {inkwell_m_eur}, {folio_m_eur} and {bureau_m_eur}.",
    "Monthly prices are {inkwell_m_gbp} / {inkwell_m_eur} for {inkwell}, {folio_m_gbp} / {folio_m_eur} for {folio} and {bureau_m_gbp} / {bureau_m_eur} for {bureau}."],
   ["Local prices are fixed rather than live conversions, and VAT is added on top where it applies.",
    "Pound and euro prices are fixed, not exchange-rate conversions, and they exclude VAT, which we add based on your country."],
   ["To change currency, update your billing country at Settings > Billing > Tax details; the new currency applies from your next renewal.",
    "If you were billed in the wrong currency, correct the billing country under Settings > Billing > Tax details and the change takes effect at the next renewal."]],
  ["Annual plans follow the same pattern: {folio}, for example, is {folio_y_gbp} or {folio_y_eur} a year.",
   "Being billed in your own currency usually avoids foreign transaction fees, although that depends on your card issuer.",
   "If you'd like the currency switched mid-term, email {billing} and we'll look into it.",
   "Invoices to your own clients can still be in other currencies — this only affects what you pay us."],
  ["{inkwell_m_gbp}", "{folio_m_gbp}", "{bureau_m_gbp}"])

T("upgrade_plan",
  ["How do I upgrade my plan?",
   "If I upgrade from Inkwell to Folio mid-month, do I pay the full price again?",
   "want to move up to bureau, how does billing work",
   "Need multi-currency urgently for a client in Canada — can I upgrade right now and use it today?",
   "Is upgrading prorated?",
   "What's the process for going from the free plan to a paid one?",
   "Will I lose anything when I upgrade?",
   "upgrade plan steps"],
  "I want more features than my current plan gives me — how do I switch up and what will I be charged?",
  [["You can upgrade any time at Settings > Billing > Plan: choose the new plan, check the summary and click \"Confirm upgrade\".",
    "Head to Settings > Billing > Plan, pick the plan you want and confirm — that's all there is to it."],
   ["The new features switch on immediately, so there's no waiting until your next billing date.",
    "Upgrades take effect straight away, and the new features are available the moment you confirm."],
   ["You're only charged a pro-rated amount for the days left in your current billing period, and the unused part of your old plan is credited.",
    "Billing is pro-rated: we credit what's left of your current plan and charge the difference for the remaining days, then the full new price from your next renewal."],
   ["Nothing is lost or moved — all clients, invoices and settings stay exactly as they are.",
    "All your existing data stays where it is; upgrading doesn't touch invoices, clients or templates."]],
  ["Only the workspace owner or an Admin can change the plan.",
   "You'll get a billing invoice for the pro-rated charge under Settings > Billing > Invoices.",
   "If you're moving from {quill}, you'll be asked for a card or PayPal account at this step.",
   "For reference, {folio} is {folio_m} a month and {bureau} is {bureau_m} a month."],
  ["Settings > Billing > Plan", "pro-rated"])

T("downgrade_plan",
  ["How do I downgrade to a cheaper plan?",
   "If I go from Bureau to Folio, what happens to my extra users?",
   "downgrade folio to inkwell - will i lose my data",
   "Business has slowed down over winter, so I'd like to drop to a lower tier. When does that take effect?",
   "Do I get money back if I downgrade mid-cycle?",
   "Can I move back to the free plan without cancelling?",
   "What features stop working after a downgrade?",
   "!I accidentally upgraded, how do I go back down?"],
  "Is it possible to switch to a smaller plan, and what happens to the things my current plan includes?",
  [["You can downgrade from Settings > Billing > Plan by choosing a lower plan and clicking \"Schedule downgrade\".",
    "To downgrade, open Settings > Billing > Plan, pick the lower plan and confirm with \"Schedule downgrade\"."],
   ["The change takes effect at the end of your current billing period, and you keep your current features until then.",
    "A downgrade kicks in at the end of the billing period you've already paid for, so you lose nothing before that date."],
   ["We don't issue partial refunds for downgrades, but you're never charged the higher price again.",
    "There's no partial refund for the rest of the period, but the next charge will be at the lower price."],
   ["Your data is never deleted: features the new plan doesn't include become read-only, and if you have more users than it allows, you choose who to deactivate.",
    "Nothing gets deleted. Anything outside the new plan, such as multi-currency invoices or extra users, becomes read-only or deactivated until you upgrade again."]],
  ["You can cancel a scheduled downgrade any time before it happens from the same screen.",
   "If an upgrade was a mistake made in the last day or so, email {billing} with your billing invoice number and we'll reverse it.",
   "Moving to {quill} works the same way — it's listed as a plan option, so there's no need to cancel.",
   "Deactivated users can be reactivated later without losing their history."],
  ["Settings > Billing > Plan", "billing period"])

T("cancel_subscription",
  ["How do I cancel my subscription?",
   "cancel account",
   "I'm closing my business at the end of the month. What's the process for cancelling Ledgerleaf, and will I still be able to get at old invoices for my tax return?",
   "If I cancel today, do I lose access immediately?",
   "how do i cancle my ledgerleaf plan, cant find the button",
   "Do you have a cancellation fee or notice period?",
   "What happens to my data if I cancel?",
   "Please cancel my plan, I no longer need it."],
  "Where do I go to stop my paid plan, and what happens to my account afterwards?",
  [["You can cancel any time at Settings > Billing > Plan > Cancel subscription; you'll be asked to type CANCEL to confirm.",
    "Cancelling is done at Settings > Billing > Plan > Cancel subscription — type CANCEL in the box and confirm."],
   ["There's no fee or notice period, and you keep full access until the end of the period you've paid for.",
    "We don't charge cancellation fees and there's no notice period; your paid features stay active until the current billing period ends."],
   ["When the paid period ends, the workspace moves to the free {quill} plan rather than being deleted, so your invoices and clients remain available to view and export.",
    "When the period ends, your workspace drops to the free {quill} plan. Nothing is deleted, so old invoices stay available for your records."],
   ["Only the workspace owner can cancel, so if the button is missing, check that you're signed in as the owner.",
    "If you don't see the cancel option, you're probably signed in as an Admin or Staff user — only the owner can cancel."]],
  ["If you'd like a full copy of your records, Settings > Data > Export gives you CSV, JSON or a ZIP of PDFs.",
   "If you want everything removed permanently, that's a separate step at Settings > Account > Delete workspace.",
   "Annual plans cancelled within {ref_annual} of purchase or renewal are refunded in full.",
   "For security reasons we can't cancel on your behalf from an email, but we're happy to walk you through it on chat.",
   "If you're only taking a break, pausing for up to {pause_max} might suit you better."],
  ["Settings > Billing > Plan", "{quill}"],
  opens=["Sorry to see you go, but happy to help with this."])

T("refund_policy",
  ["What's your refund policy?",
   "I paid for a year and realised Ledgerleaf isn't right for us. Can I get my money back?",
   "can i get a refund for this month",
   "!My monthly plan renewed yesterday but I meant to cancel. Refund possible?",
   "How long does a refund take to reach my card?",
   "Do you do pro-rated refunds if I cancel half way through?",
   "i want a refund",
   "Our annual Bureau renewal went through three weeks ago but the company has been sold. Is a refund still possible?"],
  "If I'm not happy after paying, under what conditions do you give money back?",
  [["Annual plans can be refunded in full within {ref_annual} of the initial purchase or of a renewal.",
    "If you're on an annual plan, you can get a full refund as long as you ask within {ref_annual} of buying or renewing."],
   ["Monthly plans aren't refunded for partial months, but if a renewal went through by accident we'll refund it within {ref_monthly}, provided no invoices were sent in that time.",
    "For monthly plans we don't do partial-month refunds. The exception is an accidental renewal: ask within {ref_monthly} and, as long as no invoices have gone out since, we'll refund it."],
   ["To request one, email {billing} with your billing invoice number (it looks like {bill_inv_ex} and is listed under Settings > Billing > Invoices).",
    "Just send your billing invoice number — for example {bill_inv_ex}, found at Settings > Billing > Invoices — to {billing}."],
   ["Refunds go back to the original payment method and usually appear within {ref_time}.",
    "Once approved, the money returns to the card or PayPal account you paid with, typically within {ref_time}."]],
  ["Outside those windows, cancelling stops future charges and you keep access until the end of the paid period.",
   "We don't offer pro-rated refunds for cancelling partway through a term.",
   "The exact timing after approval depends on your bank, so some cards show it sooner.",
   "If the workspace was paid for through an accountant partner, the refund goes to whoever was billed."],
  ["{ref_annual}", "{billing}"])

T("duplicate_charge",
  ["I've been charged twice this month.",
   "Why are there two Ledgerleaf payments on my bank statement?",
   "double charge on my card!! please fix",
   "I updated my card yesterday and now I see a second pending charge of $32. Is that a mistake?",
   "Charged two times for the same subscription, how do i get one back",
   "There's a duplicate transaction from Ledgerleaf on our company Amex.",
   "Seems like your system billed me twice, can you check?",
   "Two identical charges, same day, same amount. What's going on?"],
  "My statement shows the same Ledgerleaf charge appearing twice — can you look into it and refund one?",
  [["Often the second entry is a temporary authorisation, for example after a card update, and it drops off on its own within 3–5 business days.",
    "Most of the time one of the two is a pending authorisation hold (common right after a card change), which your bank releases within 3–5 business days."],
   ["If both charges have settled, send the date, amount and last four digits of the card to {billing} and we'll check our records.",
    "If both have actually gone through, email {billing} with the amount, the dates and the last four digits of the card, and we'll look it up."],
   ["Any genuine duplicate is refunded in full straight away, and it usually reaches your account within {ref_time}.",
    "Confirmed duplicates are refunded in full — no questions asked — and normally show up within {ref_time}."],
   ["You can compare against Settings > Billing > Invoices: every real charge has its own billing invoice number.",
    "A quick check: every genuine charge has a matching billing invoice (format {bill_inv_ex}) under Settings > Billing > Invoices."]],
  ["Please don't open a dispute with your bank in the meantime, as that freezes the payment while it's investigated and slows things down.",
   "If you have two workspaces under the same login, the two charges may be for different workspaces.",
   "We'll reply with a ticket reference in the format {tk} so you can keep track."],
  ["{billing}", "3–5 business days"],
  problem=True)

T("failed_payment",
  ["My payment failed, what happens now?",
   "Got an email saying your card was declined. How do I update my card details?",
   "card expired, will my account be suspended?",
   "?How many times do you retry a failed payment?",
   "Our workspace says it's read-only. I think the company card was cancelled. Help!",
   "?What happens if I can't pay this month?",
   "?where do i change payment method",
   "The renewal failed because of insufficient funds — can you try again tomorrow?"],
  "A renewal charge didn't go through. How long before my account is restricted and how do I fix the payment?",
  [["When a payment fails we retry it automatically on {retry_days}, and we email the billing contact each time.",
    "Failed payments are retried automatically three times — on {retry_days} — with an email to your billing contact after each attempt."],
   ["If all three attempts fail, the workspace becomes read-only on {readonly_day}: you can still view and export everything, but you can't send new invoices.",
    "If it still hasn't gone through by {readonly_day}, the workspace switches to read-only, which means viewing and exporting still work but sending doesn't."],
   ["To fix it, update your card or PayPal account at Settings > Billing > Payment method and click \"Retry payment now\".",
    "The quickest fix is Settings > Billing > Payment method: add the new card, then hit \"Retry payment now\" to settle the balance."],
   ["Full access comes back as soon as the payment succeeds. If it stays unpaid for {unpaid_days} the workspace moves to the free {quill} plan, but data is never deleted because of a failed payment.",
    "As soon as the payment clears, everything is unlocked again. After {unpaid_days} unpaid the account drops to {quill}, but no data is deleted because of a missed payment."]],
  ["Only the owner or an Admin can change the payment method.",
   "If your bank replaced your card, the new number usually needs to be added manually.",
   "Questions about a specific charge can go to {billing}.",
   "If you need a few extra days, reply to the payment email and we can hold off the retries for up to a week."],
  ["Settings > Billing > Payment method", "{readonly_day}"],
  problem=True)

T("payment_methods",
  ["What payment methods do you accept?",
   "Can I pay by PayPal?",
   "do you take amex",
   "Our procurement department needs to pay by bank transfer against an invoice. Is that possible?",
   "Can I pay with a debit card?",
   "Is direct debit an option for the monthly plan?",
   "We're a UK limited company — can we pay by BACS?",
   "which cards work for paying the subscription"],
  "Apart from credit cards, how else can I pay for my Ledgerleaf subscription?",
  [["We accept Visa, Mastercard and American Express (credit or debit) as well as PayPal on all plans.",
    "For every plan you can pay by Visa, Mastercard or American Express — debit cards included — or by PayPal."],
   ["Bank transfer (ACH, BACS or SEPA) is available for annual {bureau} plans or any order over {bank_min} a year, and we'll send an invoice with 30-day payment terms.",
    "Paying by bank transfer via ACH, BACS or SEPA is possible on annual {bureau} subscriptions, or on orders above {bank_min} per year, against an invoice due in 30 days."],
   ["Monthly plans need a card or PayPal, because they renew automatically.",
    "For monthly billing we need a card or PayPal on file, since those renewals are automatic."],
   ["You can add or change the method at Settings > Billing > Payment method.",
    "Payment details are managed at Settings > Billing > Payment method."]],
  ["To set up invoiced billing, email {billing} with your company name, billing address and any purchase order number.",
   "We don't accept cheques or cryptocurrency.",
   "Card payments are processed by Stripe, so Ledgerleaf never stores your full card number.",
   "Prepaid cards sometimes fail on renewal, so we recommend a regular debit or credit card."],
  ["American Express", "PayPal"],
  shuffle=True)

T("billing_invoices",
  ["Where can I download my Ledgerleaf invoices?",
   "I need a receipt for my subscription for my accountant.",
   "how do i get an invoice with my company name on it",
   "Can you resend last year's invoices? Doing my tax return and can't find them.",
   "Can billing emails go to our finance address instead of mine?",
   "Need VAT invoice for ledgerleaf payment",
   "How far back can I see my billing history?",
   "Our auditors want copies of every subscription invoice from 2022. Where are they?"],
  "How do I get hold of the invoices you've issued for my subscription payments?",
  [["All of your billing invoices are under Settings > Billing > Invoices, where each one can be downloaded as a PDF.",
    "You'll find every subscription invoice at Settings > Billing > Invoices, with a PDF download next to each one."],
   ["Billing invoices are numbered like {bill_inv_ex} and kept for {billing_ret}, so older ones are still there.",
    "We keep them for {billing_ret}, and each has a reference in the format {bill_inv_ex}."],
   ["To get your company name, address or VAT number on them, fill in Settings > Billing > Tax details; new invoices pick that up automatically and we can reissue ones from the last 90 days.",
    "Company details come from Settings > Billing > Tax details. Update them there and future invoices will show them — we can also reissue anything from the past 90 days."],
   ["You can also add a billing contact, such as your finance inbox, at Settings > Billing > Billing contacts so copies are emailed there.",
    "If finance should get them directly, add their address under Settings > Billing > Billing contacts and each new invoice will be emailed to them too."]],
  ["Each invoice shows VAT separately where it applies, so it works as a VAT invoice.",
   "The \"Download all\" button gets you a ZIP of a whole year at once.",
   "For reissues, email {billing} with the invoice numbers you need.",
   "Billing invoices are separate from the invoices you send your own clients, which live under Invoices in the main menu."],
  ["Settings > Billing > Invoices", "{billing_ret}"],
  shuffle=True)

T("vat_number",
  ["How do I add my VAT number?",
   "!We're an EU business — why are you charging us VAT? We should be reverse charge.",
   "add vat id to account",
   "I'm a UK sole trader, VAT registered. Do you charge VAT on the subscription?",
   "!I entered our VAT ID but the last invoice still has VAT on it. Can it be corrected?",
   "How long does VAT number validation take?",
   "Do you apply reverse charge for German companies?",
   "vat 20% on my bill, is that right?"],
  "Where do I enter my company's VAT registration so my subscription is taxed correctly?",
  [["You can add your VAT number at Settings > Billing > Tax details; we check EU numbers against VIES and UK ones with HMRC, usually within a few minutes.",
    "Enter your VAT number under Settings > Billing > Tax details. EU numbers are validated through VIES and UK numbers with HMRC, which normally takes a few minutes."],
   ["UK customers are charged {uk_vat} VAT whether or not they're VAT registered, EU businesses with a valid VAT ID are billed under the reverse charge at 0%, and EU customers without one pay their country's rate.",
    "For UK accounts we always add {uk_vat} VAT. EU businesses with a validated VAT ID are invoiced at 0% under the reverse charge, while EU customers without one pay their local VAT rate."],
   ["The number applies from your next invoice onwards, and we can reissue invoices from the last 90 days with it included.",
    "Once your number is validated, it's used from the next invoice; anything from the previous 90 days can be reissued on request."],
   ["For reissues, or a refund of VAT charged in error, email {billing} with the invoice numbers.",
    "To have older invoices corrected, send the invoice numbers (like {bill_inv_ex}) to {billing}."]],
  ["If validation fails, double-check the country prefix, such as DE or FR, and that there are no spaces.",
   "UK VAT on our invoices can normally be reclaimed like any other business expense — your accountant can confirm.",
   "VAT is shown as a separate line on every billing invoice."],
  ["Settings > Billing > Tax details", "{uk_vat}"])

T("us_sales_tax",
  ["Why was I charged sales tax?",
   "Do you charge sales tax in Texas?",
   "we're tax exempt, how do we stop sales tax being added",
   "How is the sales tax on my invoice calculated?",
   "I moved from New York to Oregon, will my sales tax change?",
   "sales tax on ledgerleaf subscription?",
   "Our nonprofit has a state exemption certificate. Where do we send it?",
   "!The tax on my bill looks wrong for my city."],
  "How does Ledgerleaf decide whether to add US sales tax to my bill?",
  [["In the US, we collect sales tax in states where software subscriptions are taxable and where we're registered to collect it.",
    "For US customers, sales tax is added only in states that tax SaaS subscriptions and where Ledgerleaf is registered."],
   ["The rate is calculated from the ZIP code in your billing address, so it can include state, county and city rates.",
    "We calculate it from your billing ZIP code, which is why it can combine state and local rates."],
   ["If your address has changed, update it at Settings > Billing > Tax details and the new rate applies from the next invoice.",
    "After a move, just update the billing address under Settings > Billing > Tax details; the next invoice uses the new rate."],
   ["Tax-exempt organisations can email their exemption certificate to {billing}; once it's approved, usually within {exempt_days}, tax is removed from future invoices.",
    "If you're exempt, send the certificate to {billing}. Approval normally takes {exempt_days}, and after that no sales tax is added."]],
  ["Oregon, for example, has no sales tax, so you wouldn't see a charge there.",
   "We can only refund tax on past invoices if the certificate was valid at the time, but send it over and we'll check.",
   "The tax line is shown separately on each billing invoice at Settings > Billing > Invoices."],
  ["ZIP code", "{billing}"])

T("price_changes",
  ["Are you raising prices?",
   "I got an email about a price change. When does it affect me?",
   "will my price go up if im on annual",
   "How much notice do you give before changing prices?",
   "Is my current price guaranteed?",
   "Price increase notice - can I lock in the old price?",
   "I've been a customer since 2019, do I keep my original rate?",
   "!why did my monthly bill go up"],
  "If Ledgerleaf changes its prices, how much warning will I get and when would it apply to me?",
  [["We always give at least {price_notice} of notice by email before any price change affects you.",
    "Any change to what you pay is announced by email at least {price_notice} before it applies."],
   ["On a monthly plan the new price starts from the first renewal after that notice period; on an annual plan it only applies at your next annual renewal.",
    "Monthly subscribers move to the new price at the first renewal after the notice period, while annual subscribers keep their current price until the year is up."],
   ["Switching to annual billing before the change takes effect locks your current price for 12 months.",
    "If you'd like to hold your current rate, moving to annual billing before the change date locks it in for a full 12 months."],
   ["If your bill went up without a notice, it's usually extra users, a plan change or tax — Settings > Billing > Invoices breaks it down line by line.",
    "When a bill looks higher without a notice, check Settings > Billing > Invoices: extra users, tax or a plan change are the usual reasons."]],
  ["We don't offer permanent legacy pricing, but long-standing customers are always notified well ahead.",
   "You can cancel or downgrade at any time during the notice period without a fee.",
   "If something still doesn't add up, send the invoice number to {billing} and we'll explain it."],
  ["{price_notice}"])

T("pause_subscription",
  ["Can I pause my subscription?",
   "I'm going on maternity leave for a few months. Is there a way to freeze my account without losing everything?",
   "pause plan instead of cancel?",
   "How much does it cost to pause?",
   "My business is seasonal (ski lessons). Can I pause Ledgerleaf over the summer?",
   "how long can i pause for",
   "What happens to my recurring invoices if I pause?",
   "Is there a hibernate option?"],
  "Is it possible to put my plan on hold for a while instead of cancelling, and what does that cost?",
  [["Yes — monthly plans can be paused from Settings > Billing > Plan > Pause subscription for up to {pause_max}.",
    "You can pause a monthly plan for up to {pause_max} at Settings > Billing > Plan > Pause subscription."],
   ["While paused it costs {pause_fee} instead of your normal price, and the workspace is read-only, so you can view and export but not send invoices.",
    "A paused workspace costs {pause_fee} and is read-only: everything is still there to look at and export, but sending is switched off."],
   ["Recurring invoices, automatic reminders and bank feed syncing stop during the pause and pick up again when you resume.",
    "Scheduled recurring invoices and reminders don't go out while you're paused, and bank feeds stop syncing until you're back."],
   ["You can pause once in any 12-month period, and you can resume early at any time from the same screen.",
    "Pausing is available once every 12 months, and you can unpause early whenever you like."]],
  ["Annual plans can't be paused, but you could switch to monthly at your next renewal.",
   "In pounds or euros the pause fee is £2 or €3 a month.",
   "At the end of the pause, your normal plan and price resume automatically.",
   "If you need longer than {pause_max}, cancelling to the free {quill} plan keeps your data at no cost."],
  ["{pause_max}", "{pause_fee}"])

T("extra_users",
  ["How much does it cost to add another user?",
   "Can I add a team member on Inkwell?",
   "we need 5 people on folio, whats the price",
   "Does my accountant count as a paid user?",
   "How many users are included in Bureau?",
   "Adding staff accounts - pricing?",
   "I've just hired an assistant. How do I give them access and what will it cost me?",
   "per user pricing?"],
  "How are additional team members charged on each plan?",
  [["{folio} includes {folio_users} and each extra user is {folio_extra} a month; {bureau} includes {bureau_users} and extra users are {bureau_extra} a month.",
    "On {folio} you get {folio_users} included, then {folio_extra} per extra user per month. {bureau} comes with {bureau_users}, and each one beyond that is {bureau_extra} per month."],
   ["{inkwell} is single-user, so adding a team member means moving to {folio}.",
    "{inkwell} is a one-person plan; to add staff you'd need {folio} or higher."],
   ["Accountants are free on every paid plan — invite them with the Accountant role and they don't count towards your user total.",
    "Your accountant doesn't cost anything: the Accountant role is free on all paid plans and isn't counted as a user."],
   ["To invite someone, go to Settings > Team > Invite member, enter their email and choose a role; extra users are billed pro-rata from the day they join.",
    "Invites are sent from Settings > Team > Invite member. Extra seats are charged pro-rata for the rest of the billing period."]],
  ["As an example, five people on {folio} would be {folio_m} plus two extra users at {folio_extra} each, so $44 a month.",
   "Removing a user stops the charge from your next billing date.",
   "Invitations expire after 7 days if they aren't accepted, but you can resend them."],
  ["{folio_extra}", "{bureau_extra}"])

T("multiple_workspaces",
  ["Can I manage two businesses in one account?",
   "I run a café and a separate catering company. Do I need two subscriptions?",
   "multiple companies under one login?",
   "Is there a discount for a second workspace?",
   "How do I switch between my workspaces?",
   "Can I combine billing for my 3 businesses?",
   "new workspace for second business, how",
   "Do separate entities need separate Ledgerleaf plans?"],
  "I have more than one company — how does Ledgerleaf handle that and is it cheaper for the extra ones?",
  [["Each business gets its own workspace with its own clients, invoices and tax settings, and each workspace has its own subscription.",
    "Every business lives in a separate workspace — separate clients, numbering and tax settings — with a subscription per workspace."],
   ["You can run them all under one login and switch using the workspace menu in the top-left corner.",
    "One login can access all of them; just use the workspace switcher at the top left."],
   ["Every additional paid workspace owned by the same login gets {ws_disc} off, applied automatically.",
    "There's an automatic {ws_disc} discount on each additional paid workspace you own."],
   ["To create one, open the workspace menu and choose \"Create new workspace\"; it starts with the usual {folio} trial of {trial_days}.",
    "Choose \"Create new workspace\" from the workspace menu to add one — it comes with a {folio} trial of {trial_days}, like any new workspace."]],
  ["If you'd like all workspaces on one combined billing invoice, email {billing} and we'll link them.",
   "Team members are invited per workspace, so your bookkeeper can see one business without seeing the other.",
   "Reports are per workspace; there's no consolidated report across businesses yet."],
  ["{ws_disc}"],
  shuffle=True)

T("referral_program",
  ["Do you have a referral program?",
   "How much credit do I get for referring a friend?",
   "where's my referral link",
   "I recommended you to three other freelancers in my coworking space. Do I get anything for that?",
   "!My friend signed up with my link but I haven't received the credit.",
   "What does the person I refer get?",
   "Is there a limit on referral rewards?",
   "can referral credit be paid out as cash"],
  "How does the refer-a-friend scheme work and what do both of us get?",
  [["Yes! Your personal link is at Settings > Referrals, and anyone who signs up with it gets {ref_friend} on any paid plan.",
    "You'll find your referral link under Settings > Referrals — friends who sign up through it get {ref_friend} on a paid plan."],
   ["You get {ref_credit} in account credit for each referral once they've paid their first bill and stayed for 30 days.",
    "For each friend who pays their first bill and stays 30 days, we add {ref_credit} of credit to your account."],
   ["You can earn credit for up to {ref_cap} a year, and it's applied automatically to your next bills.",
    "Rewards are capped at {ref_cap} per year, and the credit comes off your upcoming bills automatically."],
   ["Credit can't be paid out as cash or transferred, and it only counts if they sign up through your link rather than adding it later.",
    "The credit has no cash value, and the link needs to be used at sign-up — we can't attach a referral afterwards."]],
  ["Settings > Referrals also shows the status of each person you've referred, so you can see who's still pending.",
   "If a referral still isn't showing after 45 days, send their workspace name to {support} and we'll check.",
   "UK and EU accounts receive the equivalent of £20 or €23."],
  ["{ref_credit}", "Settings > Referrals"],
  opens=["Thanks for spreading the word about Ledgerleaf — we really appreciate it."])

T("student_discount",
  ["Do you have a student discount?",
   "I'm studying graphic design and doing some freelance work on the side. Is Ledgerleaf free for students?",
   "student pricing?",
   "How do I verify I'm a student? My uni doesn't give us .edu emails.",
   "what happens to the student plan after i graduate",
   "Can I get Inkwell free with my .ac.uk address?",
   "Is the student offer only for US universities?",
   "Student here, broke, need invoicing software lol"],
  "Is there a deal for people still in university, and how do I prove I'm eligible?",
  [["Yes — students get the {inkwell} plan free for {student_term}, renewable each year while you're studying, for up to 4 years.",
    "We give students {inkwell} free for {student_term} at a time, and you can renew every year you're enrolled, up to 4 years in total."],
   ["Apply at ledgerleaf.com/students and verify with a school email address (such as .edu or .ac.uk) or by uploading a current student ID.",
    "Sign up at ledgerleaf.com/students; you can verify with a university email like .edu or .ac.uk, or upload a photo of a valid student card instead."],
   ["The offer is open to students at accredited colleges and universities in any country.",
    "The offer isn't limited to the US — any accredited college or university worldwide qualifies."],
   ["When you graduate, you get {grad_disc} off your first paid year on any plan.",
    "After graduation we offer {grad_disc} off the first year of any paid plan to help with the move."]],
  ["ID checks are usually completed within 2 business days.",
   "The student plan is a normal {inkwell} workspace, so invoices you send to real clients are fully valid.",
   "If you already have a paid workspace, we can convert it after verification — just email {edu}."],
  ["{student_term}", "ledgerleaf.com/students"],
  shuffle=True)

T("educator_classroom",
  ["I'm a teacher and I'd like to use Ledgerleaf to teach bookkeeping to my class. Is there an education plan?",
   "Do you offer free accounts for classrooms?",
   "How many students can join a Ledgerleaf Classroom?",
   "college lecturer - can my students practise invoicing without sending real emails?",
   "We teach a small-business course at a community college. What does Ledgerleaf Classroom include?",
   "how to apply for the education program",
   "Is there sample data for teaching?",
   "Is the classroom plan free for teachers at private training providers?"],
  "Can I run a course with my pupils using Ledgerleaf, and how do I sign up as an educator?",
  [["Yes — Ledgerleaf Classroom is free for teachers at accredited schools, colleges and universities teaching bookkeeping or business.",
    "We run a free programme called Ledgerleaf Classroom for educators at accredited schools, colleges and universities."],
   ["Each class gets up to {class_seats} student sandbox workspaces preloaded with sample clients, invoices and expenses.",
    "A class can have up to {class_seats} students, each with a sandbox workspace that comes with sample data already loaded."],
   ["Sandboxes can't email real clients: anything a student \"sends\" is delivered to the teacher's inbox instead, so they can practise safely.",
    "Nothing leaves the sandbox — invoices and reminders are routed to the teacher's email, so students can experiment without contacting anyone real."],
   ["To apply, email {edu} from your school address with your course name; approval takes up to 5 business days.",
    "Applications go to {edu} — send it from your institutional email with the course details, and we'll reply within 5 business days."]],
  ["You can reset any student's sandbox to the original sample data from the teacher dashboard.",
   "Private training providers qualify if they're accredited by a recognised awarding body.",
   "Students can also apply separately for our student offer if they want a real workspace for freelance work.",
   "There are ready-made lesson plans on invoicing, VAT and bank reconciliation at {help}/classroom."],
  ["{class_seats}", "{edu}"],
  opens=["It's great to hear you'd like to bring Ledgerleaf into the classroom."])

T("nonprofit_discount",
  ["Do you offer nonprofit discounts?",
   "We're a registered charity in Scotland. Is there a reduced price?",
   "501c3 discount?",
   "How do we apply for the charity rate?",
   "Does the nonprofit discount apply to monthly plans?",
   "Can we combine the nonprofit discount with the referral credit?",
   "charity pricing for ledgerleaf",
   "Our community garden is a nonprofit. What proof do you need?"],
  "What discount can a registered charity get and what do we need to send to qualify?",
  [["Registered charities and nonprofits get {npo_disc} off any annual plan — {inkwell}, {folio} or {bureau}.",
    "We offer {npo_disc} off annual {inkwell}, {folio} and {bureau} plans for registered nonprofits and charities."],
   ["The discount is for annual billing only, so monthly plans aren't eligible.",
    "Monthly billing stays at the standard price, as the discount only applies to annual subscriptions."],
   ["Email {npo} with your registration number (for example a UK charity number or a US 501(c)(3) determination letter) and we'll confirm within 5 business days.",
    "To apply, send your charity registration number or 501(c)(3) letter to {npo}; we'll review it within 5 business days."],
   ["The nonprofit discount can't be combined with other offers, though referral credit can still be used on your bills.",
    "The nonprofit rate can't be stacked with other discounts, but referral credit still applies."]],
  ["If you're already on an annual plan, we'll apply the discount from your next renewal.",
   "As an example, annual {folio} would come to $224 a year with the discount.",
   "Community groups that aren't formally registered unfortunately don't qualify."],
  ["{npo_disc}", "annual"],
  opens=["Thanks for the work you do — we're glad to support nonprofits."])

T("accountant_partners",
  ["I'm an accountant. Do you have a partner program?",
   "Our practice manages invoicing for 30 small clients. Is there a special deal for accounting firms?",
   "partner program benefits?",
   "Can I get a discount for my clients if I bring them to Ledgerleaf?",
   "how do bookkeepers join the partner directory",
   "Do accountants pay for access to client workspaces?",
   "Is there a free practice account for bookkeepers?",
   "What's the Ledgerleaf Partner Program and how do I apply?"],
  "What do accounting firms get from partnering with Ledgerleaf?",
  [["Yes — the Ledgerleaf Partner Program is free for accountants and bookkeepers, and includes a free {bureau} practice workspace for your firm.",
    "Our Partner Program is free to join for accounting and bookkeeping firms, and you get a {bureau} workspace for the practice at no cost."],
   ["Clients you bring on get {partner_disc} off any paid plan for as long as they stay subscribed.",
    "Clients who join through you receive {partner_disc} off their paid plan for the lifetime of the subscription."],
   ["Once you have 5 active clients, we list you in our public partner directory.",
    "Partners with 5 or more active clients are listed in the Ledgerleaf partner directory."],
   ["Apply at ledgerleaf.com/partners or email {partners}; most applications are approved within 3 business days.",
    "You can apply at ledgerleaf.com/partners, or write to {partners} — approval usually takes 3 business days."]],
  ["Accessing client workspaces is always free with the Accountant role, partner or not.",
   "From the partner dashboard you can switch between all client workspaces with one login.",
   "You can choose whether clients pay us directly or your firm is billed centrally for them."],
  ["{partner_disc}", "ledgerleaf.com/partners"],
  shuffle=True)

T("chargebacks",
  ["?What happens if I dispute a charge with my bank?",
   "I filed a chargeback and now my account is locked. Why?",
   "?can i just do a chargeback instead of asking for a refund",
   "My bank says Ledgerleaf is disputing my claim.",
   "?How do I resolve a payment dispute?",
   "I didn't recognise a charge and reported it as fraud to my bank. Now what?",
   "account suspended after dispute",
   "?Will a chargeback delete my data?"],
  "I opened a dispute with my card provider over a Ledgerleaf charge — what does that mean for my account?",
  [["When a charge is disputed, the workspace is set to read-only while the dispute is open, because the bank freezes the payment.",
    "Opening a chargeback puts the workspace into read-only mode until the dispute is settled, since the bank holds the payment in the meantime."],
   ["We'd always recommend contacting {billing} first — most billing issues are resolved within 2 business days, much faster than a bank dispute.",
    "It's usually quicker to email {billing}: we resolve most billing problems within 2 business days, whereas disputes can take weeks."],
   ["If you've already filed one, reply with the charge date and amount; if the charge was our error, we'll refund it and tell the bank, which closes the dispute.",
    "If a dispute is already open, send us the date and amount. Where we got it wrong, we refund it and let your bank know so it can close the case."],
   ["Your data isn't deleted because of a dispute, and you can still export it while the workspace is read-only.",
    "No data is removed during a dispute — exporting still works even in read-only mode."]],
  ["We respond to the bank within 7 days with our billing records, such as the billing invoice and login history.",
   "If you don't recognise a charge, check Settings > Billing > Invoices — it might be a second workspace or a colleague's upgrade.",
   "Full access is restored as soon as the dispute is closed or the balance is settled."],
  ["read-only", "{billing}"],
  problem=True)

# ============================================================================================
# Topics: account and security
# ============================================================================================
T("account_lockout",
  ["My account is locked, what do I do?",
   "It says too many login attempts. How long until I can try again?",
   "locked out of ledgerleaf!!! need to send invoices today",
   "I think my colleague tried to log in with my email several times and now I'm locked out.",
   "?How many failed logins before the account locks?",
   "the unlock email never arrived",
   "Keep getting locked out even with the right password",
   "Account temporarily locked message - help"],
  "After a few wrong passwords Ledgerleaf won't let me in anymore. How do I get back in?",
  [["After {lock_tries} failed sign-in attempts we lock the account for {lock_min} to protect it.",
    "For security, {lock_tries} wrong passwords in a row locks sign-in for {lock_min}."],
   ["We also email the account address an \"Unlock your account\" link, valid for {reset_valid}, so you don't have to wait.",
    "You don't need to wait it out: we send an \"Unlock your account\" email with a link that's valid for {reset_valid}."],
   ["If you're not sure of the password, use \"Forgot password?\" on the login page once you're unlocked rather than guessing again.",
    "Once unlocked, it's safest to reset with \"Forgot password?\" instead of trying more guesses."],
   ["If the email doesn't arrive within a few minutes, check spam for messages from no-reply@ledgerleaf.com, or contact {support} from the account's email address.",
    "No email? Look in spam for no-reply@ledgerleaf.com, and if it's not there write to {support} from the email address on the account."]],
  ["If you keep getting locked out with the correct password, a browser password manager may be filling in an old one — try typing it manually.",
   "If someone else has been trying your email, we strongly recommend turning on two-factor authentication afterwards.",
   "Support will confirm your identity before unlocking manually, so please write from the account email."],
  ["{lock_tries}", "{lock_min}"],
  problem=True)

T("password_reset",
  ["How do I reset my password?",
   "forgot password",
   "!The password reset link says it has expired.",
   "!I never receive the reset email. I've checked spam twice.",
   "What are your password requirements?",
   "How do I change my password when I'm already logged in?",
   "!reset link not working on my phone",
   "My previous employee set up the account and I don't know the password. How do I reset it?"],
  "I can't remember my login password — what's the process to set a new one?",
  [["Click \"Forgot password?\" on the sign-in page, enter your account email and we'll send a reset link valid for {reset_valid}.",
    "On the login page choose \"Forgot password?\" and enter your email — the reset link we send lasts {reset_valid}."],
   ["If a link has expired, just request a new one; only the most recent link works.",
    "Expired links can't be reused, so request a fresh one — only the newest link is valid."],
   ["New passwords need at least {pw_len} and can't be one you've used before.",
    "Your new password must be at least {pw_len} long and different from previous ones."],
   ["Resetting signs you out on all other devices, and if you're already signed in you can change it at Settings > Security > Password.",
    "Once your password is reset, any other sessions are signed out. When you're logged in, the same change can be made at Settings > Security > Password."]],
  ["The email comes from no-reply@ledgerleaf.com, so it's worth adding that to your safe senders.",
   "If the link opens in the wrong app on your phone, copy it into your mobile browser instead.",
   "If the account email belongs to someone who's left, contact {support} — we'll verify ownership before changing it.",
   "Work email filters sometimes hold these messages for a few minutes, so give it a moment before requesting another."],
  ["{reset_valid}", "{pw_len}"])

T("two_factor_setup",
  ["How do I turn on two-factor authentication?",
   "Does Ledgerleaf support authenticator apps?",
   "setup 2fa",
   "Can I use SMS for 2FA instead of an app?",
   "We want everyone in our team to use 2FA. Can an admin enforce it?",
   "Where are my backup codes?",
   "Is 2FA available on the free plan?",
   "My client's finance team asked if our invoicing tool is secured with MFA. How do I enable it?"],
  "How can I add an extra verification step to my Ledgerleaf login?",
  [["Go to Settings > Security > Two-factor authentication, choose \"Authenticator app\" or \"SMS\", and follow the prompts.",
    "You can switch it on at Settings > Security > Two-factor authentication by picking either an authenticator app or SMS codes."],
   ["For the app option, scan the QR code with Google Authenticator, 1Password, Authy or similar, then enter the 6-digit code to confirm.",
    "With an authenticator app (Google Authenticator, Authy, 1Password and so on), you scan the QR code and type in the 6-digit code it shows."],
   ["You'll then get {backup_codes} single-use backup codes — save them somewhere safe, as they're your way back in if you lose your phone.",
    "We then show {backup_codes} one-time backup codes. Keep them safe; they're the fastest way back in if your phone goes missing."],
   ["2FA is available on every plan, including {quill}, and {bureau} owners can require it for all users under Settings > Team > Security policy.",
    "Two-factor authentication is free on all plans. On {bureau}, the owner can make it mandatory for the whole team at Settings > Team > Security policy."]],
  ["We recommend an authenticator app over SMS, as it works without signal and is harder to intercept.",
   "You can generate a fresh set of backup codes at any time from the same screen, which cancels the old ones.",
   "If you sign in with Google or Microsoft, that provider's two-step verification is used instead."],
  ["Settings > Security > Two-factor authentication", "{backup_codes}"],
  seq=True)

T("lost_2fa_device",
  ["I lost my phone and can't get my 2FA code.",
   "New phone, authenticator app didn't transfer. How do I log in?",
   "lost 2fa device no backup codes help",
   "?Can you disable two-factor on my account over the phone?",
   "?How long does 2FA account recovery take?",
   "My phone was stolen on holiday and I need to invoice a client by Friday.",
   "I changed my phone number and SMS codes go to the old one.",
   "?what do i need to prove its my account"],
  "My authenticator app is gone and I can't sign in — what are my options?",
  [["The quickest route is a backup code: on the 2FA screen click \"Use a backup code\" and enter one of the {backup_codes} codes you saved during setup.",
    "If you kept your backup codes, choose \"Use a backup code\" on the verification screen — any one of the {backup_codes} will let you in."],
   ["Without backup codes, request identity recovery via \"Can't access your codes?\", which takes up to {recovery}.",
    "No codes? Click \"Can't access your codes?\" to start identity recovery; it can take up to {recovery}."],
   ["We'll ask for the account email, the amount of your last Ledgerleaf payment or the last four card digits, and for workspace owners a photo ID.",
    "To confirm it's you, we'll need details like the last four digits of the card on file or your latest payment amount, plus photo ID if you're the owner."],
   ["For your protection, we never disable 2FA over the phone or chat.",
    "We can't remove 2FA over phone or chat — it always goes through the verified recovery process."]],
  ["If a teammate is an Admin, they can't remove your 2FA either, but they can send invoices for you in the meantime.",
   "Once you're back in, set up 2FA again on the new phone and save the new backup codes.",
   "If your number changed, update it under Settings > Security > Two-factor authentication once you're in."],
  ["backup code", "{recovery}"],
  problem=True, seq=True)

T("change_login_email",
  ["How do I change the email I log in with?",
   "I'm moving from Gmail to a company domain. Can I update my login email?",
   "change account email address",
   "!The confirmation link for my new email doesn't work.",
   "Can I have invoices from Ledgerleaf sent to a different email than my login?",
   "!my old email is shut down, how do i change my login",
   "Will changing my email affect my invoices or clients?",
   "update login e-mail"],
  "I need the account to use a new email address for signing in — how?",
  [["Go to Settings > Profile > Email address, enter the new address and your current password, then click Save.",
    "You can update it at Settings > Profile > Email address — you'll need to confirm with your current password."],
   ["We send a confirmation link to the new address, valid for {email_confirm}, and the change only happens once you click it.",
    "A confirmation email goes to the new address; the link works for {email_confirm}, and nothing changes until you click it."],
   ["We also notify the old address, so you'll get a security message there too.",
    "For security we also send a notice to your old address."],
   ["The change only affects your login — the billing email is separate at Settings > Billing > Billing contacts, and your clients and invoices aren't affected.",
    "Your clients and invoices aren't affected; if you want our billing emails to go elsewhere, that's set separately at Settings > Billing > Billing contacts."]],
  ["If you no longer have access to the old address, contact {support} from the new one and we'll verify your identity.",
   "If you signed up with Google or Microsoft sign-in, change the email with that provider first.",
   "The reply-to address on invoices you send clients is set under Settings > Business > Contact email.",
   "If a confirmation link doesn't work, request a new one from the same screen — only the latest link is valid."],
  ["Settings > Profile > Email address", "{email_confirm}"])

T("transfer_ownership",
  ["How do I transfer ownership of the workspace?",
   "I'm selling my business. Can I hand the Ledgerleaf account to the new owner?",
   "make someone else the owner",
   "Our office manager set up Ledgerleaf and is leaving. How do we move the account to the director?",
   "Does the billing card change when ownership is transferred?",
   "transfer owner role - requirements?",
   "Can there be two owners?",
   "!The owner has left the company and isn't responding. How do we regain control?"],
  "What are the steps to pass the owner role to another person in our team?",
  [["The current owner can go to Settings > Team > Members, open the menu next to the person and choose \"Make owner\".",
    "From Settings > Team > Members, the owner clicks the \"...\" next to the new person and selects \"Make owner\"."],
   ["The new owner must already be an Admin and have two-factor authentication turned on, and they need to accept within {owner_accept}.",
    "The person must be an Admin with 2FA enabled, and they have {owner_accept} to accept the request."],
   ["There's only one owner per workspace; the previous owner becomes an Admin, who can then be removed.",
    "Each workspace has a single owner, so the old owner becomes an Admin afterwards and can be removed if they're leaving."],
   ["The payment method doesn't change automatically, so the new owner should update it at Settings > Billing > Payment method.",
    "Billing details stay as they were until the new owner updates Settings > Billing > Payment method."]],
  ["If the owner has left and can't be reached, email {support} from an Admin account; we'll need proof of authority, such as a letter on company letterhead, and it takes up to 5 business days.",
   "For a business sale, the buyer can be invited as an Admin first and then made owner.",
   "Ownership transfers are recorded in the audit log."],
  ["Make owner", "{owner_accept}"])

T("user_roles",
  ["What user roles are there?",
   "Can I give my assistant access without letting them see billing?",
   "difference between admin and staff",
   "What can the accountant role do?",
   "Can I create custom roles?",
   "I want a junior team member to create invoices but not delete anything. Which role?",
   "roles and permissions explained",
   "Can staff users see all clients?"],
  "What permission levels can I assign to people in my workspace?",
  [["There are four roles: Owner, Admin, Staff and Accountant.",
    "Ledgerleaf has four standard roles — Owner, Admin, Staff and Accountant."],
   ["The Owner controls billing and can delete the workspace; Admins manage settings and users; Staff can create and send invoices, quotes and expenses but can't see billing or change settings.",
    "Owners handle billing and deletion, Admins manage settings and team members, and Staff can create and send invoices, quotes and expenses without access to billing or settings."],
   ["Accountants get read access to everything plus reports and exports, and the seat is free on every paid plan.",
    "The Accountant role can view all records, run reports and export data, and it's free on paid plans."],
   ["Custom roles, such as Staff who can't delete or who only see their own clients, are available on {bureau} under Settings > Team > Roles.",
    "If you need something finer — say, Staff without delete rights or limited to certain clients — custom roles are on {bureau} at Settings > Team > Roles."]],
  ["You can change someone's role at any time from Settings > Team > Members.",
   "By default, Staff can see all clients in the workspace.",
   "Deleted invoices go to the trash for {trash}, so mistakes by any role can be undone."],
  ["Staff", "Accountant"])

T("single_sign_on",
  ["Can I log in with Google?",
   "Do you support SAML SSO with Okta?",
   "sign in with microsoft account?",
   "Our IT team needs SSO via Entra ID for all staff. Which plan supports that?",
   "How do I set up single sign-on?",
   "Is SCIM provisioning supported?",
   "!google login not working",
   "Can we force everyone to use SSO?"],
  "Which single sign-on options does Ledgerleaf support and on which plans?",
  [["\"Sign in with Google\" and \"Sign in with Microsoft\" are available on every plan, including {quill}.",
    "Every plan, the free one included, supports signing in with a Google or Microsoft account."],
   ["SAML 2.0 SSO with providers like Okta, Microsoft Entra ID and Google Workspace is included on {bureau}.",
    "Full SAML 2.0 single sign-on — Okta, Microsoft Entra ID, Google Workspace and others — is a {bureau} feature."],
   ["An owner or Admin sets it up at Settings > Security > Single sign-on by pasting your identity provider's metadata URL.",
    "Setup is at Settings > Security > Single sign-on, where you paste the metadata URL from your identity provider."],
   ["On {bureau} you can also enforce SSO for all users and use SCIM to provision and remove accounts automatically.",
    "{bureau} also lets you make SSO mandatory and supports SCIM, so users are added and removed from your directory automatically."]],
  ["Step-by-step guides for each identity provider are at {help}/sso.",
   "If Google sign-in fails, make sure the Google account uses the same email as your Ledgerleaf login.",
   "Accountants invited from outside your organisation can be exempted from enforced SSO."],
  ["{bureau}", "Settings > Security > Single sign-on"])

T("suspicious_activity",
  ["I think my account was hacked.",
   "I got a login alert from a country I've never been to. What should I do?",
   "someone changed my bank details on an invoice??",
   "?How do I sign out of all devices?",
   "?Can I see who has logged into our account?",
   "suspicious login email from ledgerleaf",
   "A client says they received an invoice from us that we never sent.",
   "?How do I report a security incident?"],
  "I'm worried someone else has accessed my Ledgerleaf account — what should I do right now?",
  [["First, go to Settings > Security > Active sessions and click \"Sign out of all sessions\", then change your password.",
    "Start by clicking \"Sign out of all sessions\" at Settings > Security > Active sessions, and then set a new password straight away."],
   ["Next, turn on two-factor authentication and check Settings > Payments to make sure your payout bank details haven't been changed.",
    "After that, enable 2FA and check that the bank details under Settings > Payments are still yours."],
   ["Then email {security} with what you've noticed; our security team responds within {sec_resp}, 24/7.",
    "Please also report it to {security} — the security team replies within {sec_resp}, any day of the week."],
   ["The audit log at Settings > Security > Audit log shows sign-ins and changes, going back {audit_other} on most plans and {audit_bureau} on {bureau}.",
    "You can review sign-ins and changes in Settings > Security > Audit log, which keeps {audit_other} of history, or {audit_bureau} on {bureau}."]],
  ["If any client may have received a fake invoice, let them know and ask them to pay only through the link in the Ledgerleaf email.",
   "Login alerts are sometimes caused by a VPN, so check whether you were connected to one at the time.",
   "Don't reply to suspicious messages or click their links — forward them to us instead."],
  ["Sign out of all sessions", "{security}"],
  problem=True, seq=True,
  opens=["Thanks for acting quickly on this — here's what to do."])

T("phishing",
  ["Is this email from Ledgerleaf real?",
   "I got an email asking me to confirm my password for Ledgerleaf.",
   "phishing email pretending to be you",
   "Which domains do your emails come from?",
   "A 'Ledgerleaf support' person called and asked for my 2FA code. Was that you?",
   "How do I report a scam email?",
   "Got an invoice email with a weird link to pay, is it legit",
   "Does Ledgerleaf ever ask for card details by email?"],
  "How can I tell whether a message claiming to be from Ledgerleaf is genuine?",
  [["We will never ask for your password, 2FA codes or full card number by email, phone or chat.",
    "Ledgerleaf never asks you for your password, a two-factor code or card details — not by email, not by phone, not on chat."],
   ["Genuine emails only come from @ledgerleaf.com or @mail.ledgerleaf.com, and payment links always start with pay.ledgerleaf.com.",
    "Our real emails are sent from @ledgerleaf.com or @mail.ledgerleaf.com only, and any payment link begins with pay.ledgerleaf.com."],
   ["If something looks off, forward it as an attachment to {security} without clicking any links.",
    "Please forward anything suspicious to {security} as an attachment, and avoid clicking links or opening files in it."],
   ["If you've already entered details on a fake page, change your password and sign out of all sessions at Settings > Security > Active sessions straight away.",
    "If you typed your password into a suspicious page, reset it immediately and sign out everywhere from Settings > Security > Active sessions."]],
  ["Hovering over a link before clicking shows the real address, which is a quick way to spot fakes.",
   "Forwarding as an attachment keeps the original headers, which helps us get fake sites taken down.",
   "Our support team only calls you if you've asked for a call and have a ticket number like {tk}."],
  ["{security}", "@ledgerleaf.com"],
  opens=["Thanks for double-checking — that's exactly the right instinct."])

T("data_security",
  ["Is my data secure with Ledgerleaf?",
   "Do you encrypt data at rest?",
   "SOC 2 report?",
   "Our client's procurement questionnaire asks about your security certifications. What can I tell them?",
   "Do you store my clients' card numbers?",
   "how safe is ledgerleaf",
   "Do you do penetration testing?",
   "What encryption do you use?"],
  "What security measures protect the financial data I keep in Ledgerleaf?",
  [["All data is encrypted at rest with AES-256 and in transit with TLS 1.2 or higher.",
    "We encrypt everything at rest using AES-256, and all traffic uses TLS 1.2 or newer."],
   ["We're audited for SOC 2 Type II every year, and independent penetration tests are run at least annually.",
    "Ledgerleaf completes an annual SOC 2 Type II audit and an independent penetration test at least once a year."],
   ["Card payments are handled by Stripe and PayPal, so neither your card details nor your clients' are stored on our servers.",
    "Card numbers — yours and your clients' — are processed by Stripe or PayPal and never stored by Ledgerleaf."],
   ["Our SOC 2 report is available under NDA to {bureau} customers, and a security overview is public at ledgerleaf.com/security.",
    "{bureau} customers can request the SOC 2 report under NDA, and anyone can read our security overview at ledgerleaf.com/security."]],
  ["For questionnaires, {security} can help with standard forms like the CAIQ.",
   "Staff access to customer data is limited, logged and protected by 2FA.",
   "Backups are encrypted too and kept for {backup_ret}."],
  ["AES-256", "SOC 2 Type II"],
  shuffle=True)

T("data_residency",
  ["Where is my data stored?",
   "Is data kept in the EU? We're a German company and need GDPR compliance.",
   "which aws region does ledgerleaf use",
   "Can I move my workspace from the US region to the EU?",
   "Do you have a DPA we can sign?",
   "data residency uk?",
   "Are backups stored in the same country?",
   "How is the hosting region chosen?"],
  "In which country or region are my workspace's records hosted?",
  [["UK and EU workspaces are hosted in AWS Ireland (eu-west-1) with backups in Frankfurt (eu-central-1), while US and other workspaces are hosted in AWS Ohio (us-east-2).",
    "We host UK and EU workspaces on AWS in Ireland (eu-west-1) and back them up in Frankfurt (eu-central-1). Workspaces elsewhere, including the US, run in AWS Ohio (us-east-2)."],
   ["The region is chosen at sign-up from your business country and shown at Settings > Account > Data region.",
    "Your region is set at sign-up based on your business country, and you can check it at Settings > Account > Data region."],
   ["{bureau} customers can ask us to migrate a workspace between regions, which takes about 5 business days.",
    "Moving regions is possible on {bureau}: we handle the migration for you, usually within 5 business days."],
   ["Our Data Processing Agreement is at ledgerleaf.com/dpa and is pre-signed, so you just download it for your records.",
    "You can download our pre-signed Data Processing Agreement from ledgerleaf.com/dpa."]],
  ["EU and UK data stays within Europe, including backups.",
   "Our subprocessors are listed at ledgerleaf.com/subprocessors, and we give 30 days' notice of changes.",
   "Questions about GDPR specifics can go to {privacy}."],
  ["eu-west-1", "ledgerleaf.com/dpa"],
  shuffle=True)

# ============================================================================================
# Topics: data and privacy
# ============================================================================================
T("data_export",
  ["How do I export my data?",
   "Can I download all my invoices as PDFs in one go?",
   "export clients to csv",
   "We're switching software and need a full export of everything. What formats do you have?",
   "!The export download link doesn't work anymore.",
   "How long does an export take?",
   "Can I still export after I cancel?",
   "data export json?"],
  "I'd like a complete copy of my Ledgerleaf records — how do I get it?",
  [["Go to Settings > Data > Export, pick what to include and choose CSV, JSON or a PDF bundle (a ZIP of every invoice PDF).",
    "Exports are under Settings > Data > Export. You can choose CSV, JSON, or a PDF bundle that zips up all your invoice PDFs."],
   ["We email you a download link when it's ready, and it's valid for {export_link}.",
    "When it's done we send a download link by email; the link stays active for {export_link}."],
   ["Most exports finish within 15 minutes, but very large workspaces (over 10,000 invoices) can take up to {export_big}.",
    "Small and medium exports usually take under 15 minutes; workspaces with more than 10,000 invoices can take up to {export_big}."],
   ["You can run one full export per {export_big} on any plan — including {quill} and after you cancel.",
    "Exporting is available on every plan, even {quill} and cancelled accounts, with a limit of one full export per {export_big}."]],
  ["If a link has expired, just start a new export from the same screen.",
   "For a move to another tool, CSV is usually the easiest format to import elsewhere.",
   "Individual lists, like clients or items, can also be exported from the \"...\" menu on each page.",
   "Only Owners, Admins and Accountants can run full exports."],
  ["Settings > Data > Export", "{export_link}"])

T("delete_account_gdpr",
  ["How do I delete my account and all my data?",
   "I want my data erased under GDPR.",
   "delete ledgerleaf account permanently",
   "If I delete my workspace, can I get it back?",
   "How long until my data is fully gone after deletion?",
   "Right to be forgotten request",
   "!I deleted my workspace by mistake yesterday!",
   "Why do you keep billing records after I delete my account?"],
  "What's the procedure for permanently erasing my workspace and personal data?",
  [["The owner can delete the workspace at Settings > Account > Delete workspace by typing the workspace name to confirm.",
    "Go to Settings > Account > Delete workspace (owner only) and type the workspace name to confirm."],
   ["There's a grace period of {delete_grace} in which you can restore everything by signing in; after that the data is permanently deleted.",
    "For {delete_grace} afterwards you can still restore it just by logging in; once that period ends, deletion is permanent."],
   ["Copies in our encrypted backups are removed within a further {backup_ret} as they cycle out.",
    "Backups age out within another {backup_ret}, after which no copy remains."],
   ["We keep our own billing records with you for {billing_ret} because tax law requires it, but nothing from your workspace.",
    "The only thing we retain is our billing history with you, for {billing_ret}, as required by tax law — not your clients or invoices."]],
  ["You can also send an erasure request to {privacy}, and we'll respond within {sar}.",
   "Export your data first at Settings > Data > Export if you might need your invoices for tax purposes.",
   "Deleting a workspace also cancels its subscription, so there's no need to cancel separately.",
   "You'll receive a confirmation email with a reference in the format GDPR-123456."],
  ["{delete_grace}", "Settings > Account > Delete workspace"])

T("data_access_request",
  ["How do I request a copy of the personal data you hold about me?",
   "Subject access request",
   "One of our suppliers invoiced me through Ledgerleaf. Can I ask you for my data?",
   "How long do you take to respond to a GDPR request?",
   "Is there a fee for a data access request?",
   "who is your data protection contact",
   "I want to know what information Ledgerleaf has on me.",
   "DSAR - what do you need from me?"],
  "I'd like to exercise my GDPR right of access — where do I send that and how long will it take?",
  [["Email {privacy} with your request and we'll respond within {sar}, free of charge.",
    "Send a subject access request to {privacy}. It's free, and we reply within {sar}."],
   ["We'll need to verify your identity first, usually by asking you to reply from the email address on the account.",
    "To protect your data, we'll confirm who you are first — normally by asking you to reply from the account's email."],
   ["If you're not a Ledgerleaf user but received an invoice through us, the business that invoiced you controls that data, so we'll pass your request to them and let you know.",
    "If a business invoiced you through Ledgerleaf, they're the data controller and we act for them — we'll forward your request to them and tell you we've done so."],
   ["Account holders can also download much of their own data directly at Settings > Data > Export.",
    "For your own account, a lot of the data is also available instantly at Settings > Data > Export."]],
  ["In complex cases the deadline can be extended by two further months, but we'll tell you why within the first month.",
   "Our privacy notice at ledgerleaf.com/privacy explains what we collect and why.",
   "You can also ask for corrections or erasure through the same address."],
  ["{privacy}", "{sar}"])

T("retention_after_cancel",
  ["How long do you keep my data after I cancel?",
   "If I stop paying, when is my account deleted?",
   "will my invoices still be there in 2 years if i cancel",
   "Do you delete inactive free accounts?",
   "I need to keep invoices for 6 years for HMRC. Can I rely on Ledgerleaf after cancelling?",
   "data retention policy",
   "Is there a warning before my old account is deleted?",
   "cancelled last year, is my data still there?"],
  "After I cancel my subscription, what happens to my records and for how long?",
  [["When a paid plan is cancelled, the workspace moves to the free {quill} plan and keeps all its data for as long as the account stays active.",
    "Cancelling doesn't delete anything — the workspace falls back to {quill} and your records stay available while the account is in use."],
   ["Free workspaces with no sign-in for {inactive} are scheduled for deletion, and we email the owner 30 days beforehand.",
    "If nobody signs in for {inactive}, we email the owner a 30-day warning before the workspace is deleted."],
   ["Simply signing in at any point resets that clock.",
    "Logging in at least once resets the countdown."],
   ["For long legal retention, like the 6 years HMRC asks for, we recommend keeping your own copy via Settings > Data > Export.",
    "Since tax rules can require records for 6 years or more, it's wise to keep your own export from Settings > Data > Export too."]],
  ["If you delete the workspace yourself, different rules apply: there's a grace period of {delete_grace} and then it's gone.",
   "Archived clients and invoices are kept like any other data.",
   "The PDF bundle export is a handy format for long-term storage."],
  ["{inactive}", "{quill}"])

T("restore_deleted",
  ["I accidentally deleted an invoice. Can I get it back?",
   "?Where is the trash folder?",
   "deleted a client by mistake help",
   "?How long do deleted invoices stay in the trash?",
   "?Can I delete an invoice that's already been sent?",
   "restore deleted quote",
   "I emptied the trash — is there any way to recover an invoice from last week?",
   "?Will a restored invoice keep its original number?"],
  "Is there a way to undo deleting an invoice?",
  [["Yes — deleted invoices, quotes, clients and expenses go to Invoices > Trash for {trash}.",
    "Deleted items — invoices, quotes, clients and expenses — sit in Invoices > Trash for {trash} before they're removed."],
   ["Open the trash, tick the item and click Restore; it comes back with its original number and history.",
    "Select the item in the trash and choose Restore — the original number and activity history come back with it."],
   ["Sent invoices can't be deleted at all, only voided, so there's always a record.",
    "Once an invoice has been sent it can only be voided rather than deleted, which keeps your numbering intact."],
   ["After {trash}, or if the trash is emptied, items are gone from the app, though support can restore a full workspace snapshot from our last {backup_ret} of backups.",
    "If the {trash} have passed or the trash was emptied, the only option is a full-workspace restore from our {backup_ret} of backups, which support can arrange."]],
  ["^A full-workspace restore is free on {bureau} and costs {restore_fee} on other plans, and it rolls everything back to that point.",
   "Only Owners and Admins can empty the trash.",
   "Restoring a client also restores its archived invoices."],
  ["{trash}", "Invoices > Trash"],
  problem=True)

T("backups",
  ["Do you back up my data?",
   "How often are backups taken?",
   "can you restore my workspace to how it was last tuesday",
   "Is there a charge for restoring a backup?",
   "How long are backups kept?",
   "An employee bulk-deleted a bunch of clients and emptied the trash. Can you roll us back?",
   "backup policy",
   "Can I restore just one invoice from a backup?"],
  "If something goes badly wrong, can Ledgerleaf restore my data from a backup?",
  [["We take encrypted backups of every workspace daily and keep them for {backup_ret}.",
    "Every workspace is backed up daily, encrypted, and retained for {backup_ret}."],
   ["Support can restore an entire workspace to a snapshot from any day in that window; it's free on {bureau} and {restore_fee} on other plans.",
    "A full-workspace restore to any day within that period can be done by support — free on {bureau}, or a one-off {restore_fee} on other plans."],
   ["Restores are all-or-nothing: anything created after the snapshot is replaced, so we'll suggest exporting first.",
    "A restore is a full rollback rather than a single record, so anything added after that date would be overwritten — export first to be safe."],
   ["For single items, check Invoices > Trash first, since deleted records stay there for {trash}.",
    "If you only need one item, the trash at Invoices > Trash keeps deleted records for {trash}, which is much quicker."]],
  ["To request a restore, email {support} with the date you want and your workspace name; it usually takes 1 business day.",
   "Backups are stored in the same region as your workspace.",
   "Only the workspace owner can authorise a restore."],
  ["{backup_ret}", "{restore_fee}"])

T("import_data",
  ["Can I import data from QuickBooks?",
   "How do I import my client list from a spreadsheet?",
   "moving from xero to ledgerleaf, will my invoices come across",
   "What's the maximum size for a CSV import?",
   "!Import keeps failing with 'row limit exceeded'.",
   "Do you help with migration from FreshBooks?",
   "Can I import past invoices, or only clients?",
   "import duplicates - how are they handled"],
  "I'm coming from another invoicing tool — how do I bring my existing records into Ledgerleaf?",
  [["Go to Settings > Data > Import, where there are direct connectors for QuickBooks Online, Xero, FreshBooks and Wave.",
    "Settings > Data > Import has one-click connectors for QuickBooks Online, Xero, FreshBooks and Wave."],
   ["For anything else, download our CSV templates for clients, items and invoices from the same page; each file can have up to {import_rows} and be up to {import_mb}.",
    "You can also use our CSV templates for clients, items and past invoices. Each file is limited to {import_rows} and {import_mb}, so split larger lists."],
   ["Clients are matched on email address, so existing clients are updated rather than duplicated.",
    "Duplicates are detected by client email: a match updates the existing record instead of creating a new one."],
   ["{bureau} customers on annual billing get free migration help from our onboarding team.",
    "On an annual {bureau} plan, our onboarding team will handle the migration for you at no cost."]],
  ["Imported invoices keep their original numbers and dates, and are marked as imported in their history.",
   "Try a small test file first — it's quicker to spot a column-mapping problem with 20 rows.",
   "The connectors bring across clients, items and invoices from the last 5 years."],
  ["Settings > Data > Import", "{import_rows}"])

# ============================================================================================
# Topics: invoicing and product features
# ============================================================================================
T("invoice_numbering",
  ["How do I change my invoice numbers?",
   "Can I add a prefix like ACME- to invoice numbers?",
   "invoice number starts at 1 but I want to continue from 245 from my old system",
   "Can I reset invoice numbers every year?",
   "Why can't I reuse an invoice number?",
   "invoice numbering format settings",
   "My accountant says invoice numbers must be sequential. Does Ledgerleaf guarantee that?",
   "Is it possible to include the year in the invoice number?"],
  "Where can I customise the way my invoices are numbered?",
  [["Go to Settings > Invoices > Numbering, where you can set the prefix (up to 10 characters) and the next number.",
    "Numbering is controlled at Settings > Invoices > Numbering: choose a prefix of up to 10 characters and the number to continue from."],
   ["The default format is INV-0001, so continuing from an old system is just a matter of setting the next number to, say, 245.",
    "By default invoices start at INV-0001, but you can set the next number to anything higher, like 245, to carry on from your old system."],
   ["You can add the year with the {{YYYY}} token, and optionally reset the counter every 1 January.",
    "Adding {{YYYY}} to the prefix puts the year in, and there's an option to restart numbering each new year."],
   ["Numbers are always sequential and unique, so you can't reuse one or set the next number below the highest already used.",
    "Each number can only be used once and they run in sequence, which is why the next number can't go below the highest one issued."]],
  ["Quotes (QU-0001) and credit notes (CN-0001) have their own separate sequences.",
   "Voided invoices keep their number, so there are no gaps in the sequence.",
   "Changes apply to new invoices only; existing ones keep their numbers."],
  ["Settings > Invoices > Numbering", "INV-0001"],
  shuffle=True)

T("credit_notes",
  ["How do I issue a credit note?",
   "I overcharged a client. Should I edit the invoice or create a credit note?",
   "partial credit note possible?",
   "How do I refund a client who paid through Ledgerleaf?",
   "credit note numbering",
   "Can I apply a credit note to the client's next invoice?",
   "How to cancel an invoice that was already sent",
   "Client returned half the goods. How do I reflect that?"],
  "What's the correct way to reduce or reverse an invoice I've already sent?",
  [["Open the invoice, click More (\"...\") > Create credit note, and choose a full or partial amount.",
    "From the invoice, choose the \"...\" menu > Create credit note, then credit the whole invoice or just certain lines."],
   ["Credit notes are numbered separately, starting at CN-0001, and are linked to the original invoice.",
    "Credit notes have their own sequence (CN-0001 onwards) and stay linked to the invoice they relate to."],
   ["You can then apply the credit to the client's next invoice or record a refund.",
    "The credit can be applied to a future invoice for that client, or marked as refunded."],
   ["Sent invoices shouldn't be edited, because your client already has the original; a credit note keeps the records clean for your accountant.",
    "We recommend credit notes rather than editing a sent invoice, since it keeps a clear audit trail for tax purposes."]],
  ["If the client paid online through Stripe, the refund can be sent straight from the credit note and takes 5–10 business days to reach them.",
   "A full credit note sets the original invoice's status to \"Credited\".",
   "Credit notes appear in the Aged receivables and Sales by client reports automatically."],
  ["Create credit note", "CN-0001"])

T("recurring_invoices",
  ["How do I set up a recurring invoice?",
   "Can Ledgerleaf send a monthly retainer invoice automatically?",
   "recurring invoices on free plan?",
   "What time are recurring invoices sent?",
   "Can I auto-charge a client's card each month?",
   "How do I stop a recurring invoice?",
   "I bill a gym membership every two weeks. Is that frequency supported?",
   "!recuring invoice not sent today"],
  "Can I schedule invoices to go out to a client on a regular basis?",
  [["Recurring invoices are on {inkwell} and above: go to Invoices > Recurring > New schedule.",
    "On {inkwell}, {folio} and {bureau} you can create one at Invoices > Recurring > New schedule."],
   ["You can choose weekly, every 2 weeks, monthly, quarterly or yearly, and end after a number of invoices or on a set date.",
    "Frequencies are weekly, fortnightly, monthly, quarterly and yearly, with an optional end date or invoice count."],
   ["Each invoice is created and sent at 09:00 in your workspace time zone on the scheduled day.",
    "Recurring invoices go out at 09:00 on the scheduled day, based on the time zone in your workspace settings."],
   ["If the client has saved a card through Stripe, you can turn on auto-charge so it's paid automatically.",
    "With a card saved via Stripe, auto-charge takes the payment the moment the invoice is issued."]],
  ["To stop a schedule, open it and click Pause or End — invoices already sent aren't affected.",
   "If one didn't go out, check that the workspace isn't paused or read-only and that the schedule's start date is correct.",
   "You can preview the next invoice from the schedule page before it's sent.",
   "Schedules that fall in a maintenance window are sent as soon as it finishes."],
  ["Invoices > Recurring", "09:00"])

T("payment_reminders",
  ["Does Ledgerleaf send payment reminders automatically?",
   "How do I set up overdue reminders?",
   "can i change the wording of reminder emails",
   "When are reminders sent by default?",
   "!My client complained about getting too many reminders. Can I turn them off for one client?",
   "!reminders not going out",
   "How many reminders can one invoice have?",
   "!Chasing late payers is killing me. Can your software do it for me?"],
  "How can I have Ledgerleaf nudge clients who haven't paid on time?",
  [["Yes — automatic reminders are included on {inkwell} and above, and you set them up at Settings > Reminders.",
    "Automatic reminders are available from {inkwell} upwards; you'll find them at Settings > Reminders."],
   ["The default schedule is 3 days before the due date, on the due date, and 7 and 14 days after it.",
    "Out of the box we remind clients 3 days before the due date, on the day, then at 7 and 14 days overdue."],
   ["You can edit the timing and wording of each email, with up to 5 reminders per invoice.",
    "Each reminder's timing and text can be changed, and you can have as many as 5 per invoice."],
   ["To switch them off for one client, open the client, go to Preferences and untick \"Send automatic reminders\".",
    "Reminders can be disabled per client under the client's Preferences tab."]],
  ["Reminders stop automatically as soon as an invoice is marked paid.",
   "If none are going out, check that reminders are switched on globally and that the invoice has a due date.",
   "You can also add a late fee that's applied when an invoice becomes overdue."],
  ["Settings > Reminders", "3 days before"],
  shuffle=True)

T("late_fees",
  ["Can I charge late fees on overdue invoices?",
   "How do I add interest to late invoices?",
   "late fee percentage or fixed?",
   "Can the late fee be added every month the invoice is unpaid?",
   "I'm a contractor in the UK. Can Ledgerleaf apply statutory late payment interest?",
   "remove late fee from an invoice",
   "Do late fees show on the invoice?",
   "Client says the late fee wasn't in our agreement."],
  "Is there a way to automatically charge clients extra when they pay late?",
  [["Yes — go to Settings > Reminders > Late fees and choose either a fixed amount or a percentage, such as 1.5% per month.",
    "Late fees are set at Settings > Reminders > Late fees; you can use a fixed amount or a percentage, for example 1.5% a month."],
   ["You can apply the fee once when the invoice becomes overdue, or repeat it every 30 days until it's paid.",
    "The fee can be charged once on becoming overdue, or added again every 30 days while it stays unpaid."],
   ["The fee appears as a separate line on the invoice, and you can remove it from any individual invoice via Edit > Late fee.",
    "Each fee shows as its own line item, and you can take it off a specific invoice under Edit > Late fee."],
   ["Late fee rules vary by country, so check what's allowed and make sure your terms mention the fee.",
    "Please check the rules in your country and include the fee in your payment terms, since enforceability depends on the agreement."]],
  ["Late fees are available on {inkwell} and above.",
   "In the UK, statutory interest under the Late Payment of Commercial Debts Act can be entered as a percentage rule.",
   "It's a good idea to add your late-fee policy to the invoice footer under Settings > Invoices > Templates."],
  ["Settings > Reminders > Late fees", "30 days"])

T("online_payments",
  ["How can my clients pay invoices online?",
   "Do you integrate with Stripe?",
   "paypal payments on invoices?",
   "Does Ledgerleaf take a cut of online payments?",
   "Can clients pay by bank transfer through the invoice link?",
   "How do I connect Stripe to Ledgerleaf?",
   "Apple Pay for clients?",
   "What fees do I pay when a client pays by card?"],
  "What do I need to set up so clients can pay my invoices by card, and what fees apply?",
  [["Connect Stripe or PayPal at Settings > Payments, and a \"Pay now\" button is added to every invoice.",
    "Under Settings > Payments you can connect Stripe, PayPal or both — after that, every invoice gets a \"Pay now\" button."],
   ["Through Stripe, clients can pay by card, Apple Pay, Google Pay or bank debit (ACH, BACS or SEPA).",
    "Stripe covers cards, Apple Pay and Google Pay plus ACH, BACS and SEPA bank debits."],
   ["Ledgerleaf adds a {inkwell_fee} platform fee per online payment on {quill} and {inkwell}, and no fee at all on {folio} or {bureau}.",
    "On {quill} and {inkwell} we charge a {inkwell_fee} platform fee on online payments; {folio} and {bureau} have no Ledgerleaf fee."],
   ["Stripe's or PayPal's own processing fees apply separately and are shown in their dashboards.",
    "You'll still pay Stripe's or PayPal's standard processing fees, which they deduct before paying out."]],
  ["Paid invoices are marked as paid automatically, so there's nothing to reconcile by hand.",
   "You can switch payment methods on or off per invoice if you'd rather a client paid by transfer.",
   "Connecting Stripe takes about five minutes; you'll be redirected to Stripe to confirm your business details."],
  ["Settings > Payments", "{inkwell_fee}"])

T("payout_timing",
  ["When will I receive money from a client's online payment?",
   "!Client paid by card 3 days ago, money not in my bank",
   "Does Ledgerleaf hold my funds?",
   "How long is the first Stripe payout?",
   "payout schedule?",
   "!Invoice shows paid but I don't see the money anywhere.",
   "Can I get paid faster?",
   "Where do I see payout status?"],
  "After a client pays online, how long before the funds reach my bank account?",
  [["Ledgerleaf never holds your money — payments go straight to your Stripe or PayPal account.",
    "We don't hold funds at any point; the payment goes directly into your Stripe or PayPal account."],
   ["Stripe usually pays out to your bank {payout} after a payment in the US and UK, though your first payout can take {first_payout}.",
    "Standard Stripe payouts reach your bank about {payout} after the charge in the US and UK; the very first payout typically takes {first_payout} while Stripe verifies your account."],
   ["PayPal payments land in your PayPal balance straight away, and you can transfer them to your bank from there.",
    "PayPal credits your PayPal balance instantly, and you move it to your bank when you choose."],
   ["Payout status is shown in your Stripe or PayPal dashboard rather than in Ledgerleaf.",
    "To track a payout, check the Payouts page in your Stripe dashboard or your PayPal activity."]],
  ["The invoice is marked paid as soon as the payment succeeds, which is before the payout arrives.",
   "Bank debits like ACH or BACS take longer to clear, usually 4–7 business days.",
   "Faster payout schedules are set within Stripe, not Ledgerleaf."],
  ["{payout}", "{first_payout}"],
  shuffle=True)

T("partial_payments",
  ["Can I record a partial payment on an invoice?",
   "How do I ask for a deposit up front?",
   "client paid half, how to mark it",
   "Can clients pay in instalments?",
   "I need a 50% deposit before starting a kitchen renovation job. Can Ledgerleaf handle that?",
   "partially paid status",
   "Can my client pay a deposit online?",
   "payment plan for a big invoice"],
  "How do deposits and part payments work in Ledgerleaf?",
  [["On the invoice, click Record payment and enter the amount received; the status changes to \"Partially paid\" and the balance due updates.",
    "Use Record payment on the invoice and enter what the client paid — it'll show as \"Partially paid\" with the remaining balance."],
   ["To request a deposit, set a deposit percentage (up to 100%) on the quote or invoice, and clients can pay it online.",
    "For deposits, add a deposit percentage — anything up to 100% — to the quote or invoice, and the client can pay that part online."],
   ["On {folio} and {bureau} you can also split an invoice into a payment plan of up to 12 instalments.",
    "{folio} and {bureau} let you set up a payment plan of up to 12 instalments for a single invoice."],
   ["Online partial payments are recorded automatically, so you only need to enter payments made outside Ledgerleaf.",
    "Payments made through the invoice link are recorded for you; manual entry is only needed for cash or transfers."]],
  ["Reminders only chase the remaining balance on partially paid invoices.",
   "The client's statement shows each part payment separately.",
   "A deposit received against a quote carries across when you convert it to an invoice."],
  ["Partially paid", "12 instalments"],
  shuffle=True)

T("quotes_estimates",
  ["Can I send quotes or estimates?",
   "How does a client accept a quote?",
   "convert estimate to invoice",
   "How long is a quote valid?",
   "Can clients sign quotes electronically?",
   "I'm a landscaper and send a lot of estimates. Can I change the default expiry?",
   "quote numbering",
   "What happens when a quote expires?"],
  "How do I create an estimate and turn it into an invoice once the client agrees?",
  [["Yes — create one at Quotes > New quote and send it just like an invoice.",
    "Go to Quotes > New quote to create an estimate, then email it the same way you would an invoice."],
   ["Clients can accept online with an e-signature, and you're notified as soon as they do.",
    "Your client can accept and e-sign it online, and you get a notification straight away."],
   ["Quotes are valid for {quote_valid} by default, which you can change at Settings > Quotes; after expiry the client can't accept it until you extend it.",
    "The default validity is {quote_valid}, adjustable at Settings > Quotes. Expired quotes can't be accepted unless you extend the date."],
   ["Accepted quotes can be turned into an invoice with one click using \"Convert to invoice\".",
    "Once a quote is accepted, click \"Convert to invoice\" and all the lines carry over."]],
  ["Quotes have their own numbering, starting at QU-0001.",
   "You can also ask for a deposit when the quote is accepted.",
   "Quotes are available on all plans, including {quill}."],
  ["{quote_valid}", "Convert to invoice"])

T("multi_currency",
  ["Can I invoice in other currencies?",
   "Which exchange rates do you use?",
   "multi currency on inkwell?",
   "I'm UK based but have a client in the US. Can I bill them in dollars?",
   "How do I change my base currency?",
   "How many currencies are supported?",
   "foreign exchange gains in reports?",
   "Can I set a custom exchange rate for an invoice?"],
  "How does Ledgerleaf handle invoicing clients in a currency other than my own?",
  [["Multi-currency invoicing is available on {folio} and {bureau}, covering over {currencies} currencies.",
    "You can bill in more than {currencies} currencies on {folio} and {bureau}."],
   ["Just set the currency on the client or the individual invoice; rates come from the European Central Bank and update daily at {fx}.",
    "Choose the currency on the client profile or the invoice itself. We use European Central Bank rates, refreshed every day at {fx}."],
   ["You can override the rate on any invoice if you've agreed a fixed rate.",
    "If you've agreed a specific rate with the client, you can enter it manually on the invoice."],
   ["Your base currency is set at Settings > Business > Base currency and locks after your first invoice, so contact support if it needs changing.",
    "The base currency lives at Settings > Business > Base currency; once you've issued an invoice it can only be changed by our support team."]],
  ["Reports are shown in your base currency, with realised exchange gains and losses listed separately.",
   "{inkwell} invoices are in your base currency only.",
   "Stripe can settle foreign-currency payments into your local bank account."],
  ["{folio}", "European Central Bank"])

T("invoice_branding",
  ["Can I add my logo to invoices?",
   "How do I remove 'Sent with Ledgerleaf' from my invoices?",
   "change invoice colours and template",
   "What size should my logo be?",
   "Can I use my own font?",
   "how many invoice templates are there",
   "I run a wedding photography studio and want my invoices to look elegant. What customisation is there?",
   "custom invoice footer text?"],
  "How much can I change the look of the invoices I send?",
  [["At Settings > Invoices > Templates you can choose from {templates} templates, upload your logo and pick a brand colour.",
    "There are {templates} invoice templates at Settings > Invoices > Templates, where you can also add your logo and brand colour."],
   ["Logos can be PNG, JPG or SVG up to {logo_mb}; a wide image around 600 x 200 pixels looks best.",
    "Upload your logo as PNG, JPG or SVG, max {logo_mb} — something roughly 600 x 200 pixels works well."],
   ["The \"Sent with Ledgerleaf\" footer is removed on {folio} and {bureau}, and custom fonts are available on {bureau}.",
    "On {folio} and {bureau} the \"Sent with Ledgerleaf\" footer disappears; {bureau} also lets you upload custom fonts."],
   ["You can add your own footer text, like payment terms or bank details, on any plan.",
    "Custom footer text, for example terms or bank details, works on every plan."]],
  ["Changes apply to new invoices, and you can preview them before saving.",
   "Quotes and credit notes use the same template, so everything matches.",
   "Each client can have a different template if you run more than one brand."],
  ["Settings > Invoices > Templates", "{logo_mb}"],
  shuffle=True)

T("invoice_email_delivery",
  ["My client says they never got my invoice.",
   "Invoices going to spam",
   "?what email address do invoices come from",
   "?How can I tell if a client opened my invoice?",
   "?Can invoices be sent from my own domain?",
   "Invoice email bounced, what now?",
   "client didn't receive invoice email pls help",
   "?Can I set a reply-to address on invoice emails?"],
  "Why might my invoice emails not be reaching clients, and how can I check?",
  [["Invoices are sent from invoices@mail.ledgerleaf.com with your business name as the sender and your own email as the reply-to.",
    "We send invoices from invoices@mail.ledgerleaf.com, showing your business name and using your email address for replies."],
   ["Open the invoice and check its Activity tab, which shows whether the email was delivered, opened or bounced.",
    "The invoice's Activity tab tells you if the email was delivered, opened, or bounced."],
   ["If it was delivered, ask your client to check spam and add invoices@mail.ledgerleaf.com to their safe senders; you can also copy the invoice link and send it directly.",
    "If it shows as delivered, it's probably in their spam — ask them to whitelist invoices@mail.ledgerleaf.com, or use \"Copy link\" to share it yourself."],
   ["On {bureau} you can send from your own domain by adding SPF and DKIM records under Settings > Email > Sending domain.",
    "{bureau} supports a custom sending domain: add the SPF and DKIM records shown at Settings > Email > Sending domain."]],
  ["A bounce usually means a typo in the client's address — fix it on the client profile and resend.",
   "The reply-to address is set at Settings > Business > Contact email.",
   "Some corporate filters hold external invoices for review, so their IT team may need to release it."],
  ["invoices@mail.ledgerleaf.com", "Activity"],
  problem=True)

T("client_payment_page",
  ["Do my clients need an account to pay?",
   "What does the client see when they open an invoice link?",
   "client portal feature?",
   "Can clients see all their past invoices in one place?",
   "!Invoice link says expired",
   "can clients download a pdf of the invoice",
   "Is the payment page secure?",
   "How do I resend the invoice link to a client?"],
  "How do my customers view and pay invoices I send through Ledgerleaf?",
  [["No account is needed — each invoice has a secure link on pay.ledgerleaf.com where clients can view it, download a PDF and pay.",
    "Clients don't have to sign up: every invoice gets a secure pay.ledgerleaf.com link for viewing, downloading the PDF and paying."],
   ["On {folio} and {bureau}, clients also get a portal showing all their invoices, quotes and payment history.",
    "{folio} and {bureau} add a client portal where they can see every invoice, quote and payment in one place."],
   ["Links stay active for 365 days; after that you can generate a new one from the invoice's \"...\" menu.",
    "Each link works for 365 days, and you can regenerate it at any time from the invoice's \"...\" menu."],
   ["To resend, open the invoice and click Send again, or use Copy link to share it another way.",
    "You can resend with Send again on the invoice, or copy the link and message it to them yourself."]],
  ["The payment page uses TLS encryption, and card details are handled by Stripe or PayPal.",
   "You'll be notified when a client views the invoice.",
   "The page shows your logo and brand colour, so it feels like yours."],
  ["pay.ledgerleaf.com", "365 days"],
  shuffle=True)

T("receipt_scanning",
  ["How do I scan receipts?",
   "How many receipt scans do I get per month?",
   "email receipts to ledgerleaf?",
   "I've hit my scan limit. Can I buy more?",
   "What file types can I upload for receipts?",
   "receipt ocr on inkwell",
   "When does the scan count reset?",
   "I'm a mobile mechanic with a glovebox full of receipts. What's the easiest way to get them in?"],
  "What's the monthly allowance for receipt capture and how do I submit receipts?",
  [["You can snap receipts in the mobile app or forward them to your workspace's address, which looks like yourname@receipts.ledgerleaf.com and is shown at Expenses > Receipt inbox.",
    "Take a photo in the mobile app, or email them to your own receipt address (yourname@receipts.ledgerleaf.com, listed under Expenses > Receipt inbox)."],
   ["Monthly scans are {scan_inkwell} on {inkwell}, {scan_folio} on {folio} and {scan_bureau} on {bureau}, resetting on the 1st of each month.",
    "You get {scan_inkwell} scans a month on {inkwell}, {scan_folio} on {folio} and {scan_bureau} on {bureau}; the count resets on the 1st."],
   ["If you run out, extra packs of 100 scans cost {scan_pack} from Settings > Billing > Add-ons.",
    "Need more? Packs of 100 extra scans are {scan_pack} each at Settings > Billing > Add-ons."],
   ["We accept PDF, JPG, PNG and HEIC files up to 15 MB, and the date, supplier, total and tax are read automatically.",
    "Supported formats are PDF, JPG, PNG and HEIC up to 15 MB; we pick out the supplier, date, total and tax for you."]],
  ["Unused scans don't roll over to the next month.",
   "You can always add an expense manually without using a scan.",
   "The app can batch-scan several receipts in a row, which is handy for a big stack."],
  ["{scan_folio}", "receipts.ledgerleaf.com"],
  shuffle=True)

T("bank_feeds",
  ["How do I connect my bank account?",
   "Is my bank supported?",
   "!bank feed stopped updating",
   "Why do I have to reconnect my bank every few months?",
   "How many bank accounts can I connect on Folio?",
   "How often do transactions sync?",
   "My bank isn't listed. Can I upload statements instead?",
   "We use Monzo for business. Does the bank connection work in the UK?"],
  "Can Ledgerleaf pull in my bank transactions automatically, and how does that work?",
  [["Go to Banking > Connect account; we use Plaid in the US and Canada and TrueLayer in the UK and EU, covering over {banks} banks.",
    "Bank connections are set up at Banking > Connect account, through Plaid (US and Canada) or TrueLayer (UK and EU), with more than {banks} banks supported."],
   ["{inkwell} includes {bank_inkwell} connected account, {folio} includes {bank_folio}, and {bureau} has no limit.",
    "You can connect {bank_inkwell} account on {inkwell}, {bank_folio} on {folio}, and as many as you like on {bureau}."],
   ["Transactions sync every 24 hours, and UK and EU banks require you to reconnect every {reconnect} under open banking rules.",
    "Feeds update once every 24 hours. In the UK and EU, open banking rules mean you re-authorise the connection every {reconnect}."],
   ["If a feed stops updating, click Reconnect on the account in Banking; if your bank isn't listed, you can upload CSV or OFX statements instead.",
    "When a feed stalls, hit Reconnect on that account under Banking. For banks we don't cover, CSV or OFX statement uploads work too."]],
  ["We email you 7 days before a connection is due to expire.",
   "When you first connect, up to 12 months of history is imported.",
   "Bank access is read-only — Ledgerleaf can't move money."],
  ["{reconnect}", "Banking > Connect account"])

T("reports",
  ["What reports are available?",
   "Can I export a profit and loss report?",
   "aged receivables report?",
   "Can reports be emailed to my accountant automatically?",
   "I need a sales by client report for last quarter.",
   "report export excel",
   "Which report shows how much tax I've charged?",
   "Are reports available on the free plan?"],
  "What financial reports can I run in Ledgerleaf and how do I share them?",
  [["Under Reports you'll find Profit & Loss, Aged receivables, Sales by client, Tax summary and Expenses by category.",
    "The Reports menu includes Profit & Loss, Aged receivables, Sales by client, Tax summary and Expenses by category."],
   ["Any report can be filtered by date range and exported as PDF, CSV or XLSX.",
    "Pick a date range and export to PDF, CSV or Excel (XLSX)."],
   ["On {folio} and {bureau}, you can schedule a report to be emailed weekly or monthly, for example to your accountant.",
    "Scheduled reports — weekly or monthly by email, handy for your accountant — are available on {folio} and {bureau}."],
   ["The Tax summary shows the tax you've charged and paid for the period.",
    "For tax, the Tax summary report shows what you've charged on sales and paid on expenses."]],
  ["Reports are on every plan, with scheduling reserved for {folio} and {bureau}.",
   "Your accountant can run reports themselves if you invite them with the free Accountant role.",
   "Each report can be run on a cash or accrual basis — switch at the top of the report."],
  ["Aged receivables", "XLSX"],
  shuffle=True)

T("making_tax_digital",
  ["Does Ledgerleaf support Making Tax Digital for VAT?",
   "How do I connect Ledgerleaf to HMRC?",
   "submit vat return from ledgerleaf",
   "!MTD authorisation expired",
   "Which plans include MTD?",
   "I'm a VAT-registered plumber in Leeds. Can I file my quarterly VAT return through you?",
   "Do you keep the HMRC submission receipt?",
   "mtd for income tax?"],
  "Can I send my VAT returns to HMRC directly from Ledgerleaf?",
  [["Yes — Ledgerleaf is recognised by HMRC for Making Tax Digital for VAT, on {folio} and {bureau}.",
    "Making Tax Digital for VAT is supported on {folio} and {bureau}, and we're on HMRC's list of recognised software."],
   ["Connect at Settings > Tax > Making Tax Digital and sign in with your Government Gateway details; the authorisation lasts {mtd_auth}.",
    "Link your account at Settings > Tax > Making Tax Digital using your Government Gateway login. HMRC's authorisation lasts {mtd_auth}, after which you reconnect."],
   ["Then go to Reports > VAT return, review the nine boxes for the period and click Submit to HMRC.",
    "To file, open Reports > VAT return, check the nine boxes and press Submit to HMRC."],
   ["HMRC's receipt is saved with each return, so you always have proof of submission.",
    "Every submission's HMRC receipt is stored alongside the return."]],
  ["We'll email you before the authorisation expires so you can reconnect in time.",
   "MTD for Income Tax isn't supported yet — you can follow progress on {feedback}.",
   "If you're unsure about any figures, review them with your accountant first; you can invite them for free."],
  ["Settings > Tax > Making Tax Digital", "{mtd_auth}"],
  seq=True)

T("time_tracking",
  ["Does Ledgerleaf have time tracking?",
   "How do I bill tracked hours to a client?",
   "timer on mobile app?",
   "Can I set different hourly rates per project?",
   "time rounding options",
   "I'm a freelance developer billing by the hour. Can I track time and invoice it in one place?",
   "Is time tracking on Inkwell?",
   "export timesheets"],
  "Can I record my working hours in Ledgerleaf and invoice them?",
  [["Yes — time tracking is included on {folio} and {bureau}, from Time > Start timer on the web or in the mobile app.",
    "On {folio} and {bureau} you can track time with the timer at Time > Start timer, on desktop or in the app."],
   ["Hourly rates can be set per client, per project or per team member.",
    "You can set hourly rates at the client, project or person level."],
   ["When creating an invoice, choose Add > Unbilled time to pull in the hours, which are then marked as billed.",
    "To invoice, click Add > Unbilled time on a new invoice; those entries are then flagged as billed."],
   ["Rounding to the nearest 6 or 15 minutes is available under Settings > Time, and timesheets can be exported as CSV.",
    "At Settings > Time you can round to 6 or 15 minutes, and timesheets export to CSV."]],
  ["Timers keep running if you close the browser tab.",
   "You can also add entries manually afterwards if you forgot to start the timer.",
   "{inkwell} doesn't include time tracking, but you can try it during the {folio} trial."],
  ["{folio}", "Unbilled time"],
  shuffle=True)

T("invoice_languages",
  ["Can I send invoices in French?",
   "What languages are supported?",
   "invoice in german for one client only",
   "Is the Ledgerleaf app available in Spanish?",
   "Can I rename invoice labels like 'Due date'?",
   "I have clients in the Netherlands and Italy. Can each get invoices in their own language?",
   "app language settings",
   "Do you support right-to-left languages?"],
  "Can my invoices be in a different language from the one I use in the app?",
  [["Invoices, quotes and client emails can be sent in {inv_langs}, including French, German, Spanish, Italian, Dutch and Portuguese.",
    "We support {inv_langs} for invoices, quotes and emails — French, German, Spanish, Italian, Dutch and Portuguese among them."],
   ["Set the language per client in the client's profile under Preferences > Language, so each client gets their own.",
    "Each client can have their own language, set under Preferences > Language on their profile."],
   ["The app itself is available in {app_langs} — English, French, German, Spanish and Dutch — chosen at Settings > Profile > Language.",
    "The Ledgerleaf interface comes in {app_langs} (English, French, German, Spanish and Dutch); change it at Settings > Profile > Language."],
   ["You can also rename labels like \"Due date\" at Settings > Invoices > Labels.",
    "Any label, like \"Due date\" or \"Invoice\", can be renamed at Settings > Invoices > Labels."]],
  ["Right-to-left languages such as Arabic and Hebrew aren't supported yet.",
   "Line item descriptions stay exactly as you type them, so write those in the client's language.",
   "Date and number formats follow the client's language too."],
  ["{inv_langs}", "Preferences > Language"],
  shuffle=True)

# ============================================================================================
# Topics: API, platform and support
# ============================================================================================
T("api_rate_limits",
  ["What are the API rate limits?",
   "!I'm getting HTTP 429 errors from your API.",
   "api limits on folio vs bureau",
   "When does the daily API quota reset?",
   "Can we get a higher API limit?",
   "Is the API available on Inkwell?",
   "!We sync orders from our web shop every minute and keep hitting the limit. Any advice?",
   "rate limit headers?"],
  "How many API calls am I allowed, and what happens if I go over?",
  [["On {folio} the limits are {api_f_min} and {api_f_day}; on {bureau} they're {api_b_min} and {api_b_day}.",
    "{folio} allows {api_f_min} and {api_f_day}, while {bureau} allows {api_b_min} and {api_b_day}."],
   ["Going over returns HTTP 429 with a Retry-After header telling you how many seconds to wait.",
    "If you exceed a limit you'll get HTTP 429 and a Retry-After header with the wait time in seconds."],
   ["Each response includes X-RateLimit-Remaining, and the daily quota resets at 00:00 UTC.",
    "Check the X-RateLimit-Remaining header on each response; daily quotas reset at midnight (00:00 UTC)."],
   ["API access isn't included on {quill} or {inkwell}, and {bureau} customers can request higher limits via {support}.",
    "The API isn't available on {inkwell} or {quill}; if you're on {bureau} and need more, ask {support} about a raised limit."]],
  ["For frequent syncing, webhooks are usually a better fit than polling every minute.",
   "Batch endpoints let you create up to 100 records in one request, which counts as a single call.",
   "Full documentation is at {dev}."],
  ["{api_f_min}", "429"])

T("api_keys",
  ["How do I get an API key?",
   "Where are API keys in settings?",
   "lost my api key, can you show it again",
   "Is there a sandbox for testing the API?",
   "How many API keys can I create?",
   "Do you support OAuth for third-party apps?",
   "Our developer left. How do I rotate the API keys?",
   "api key permissions read only?"],
  "How do I generate credentials to use the Ledgerleaf API?",
  [["API keys are created at Settings > Developers > API keys, on {folio} and {bureau}.",
    "On {folio} or {bureau}, go to Settings > Developers > API keys to create one."],
   ["Keys start with ll_live_ (or ll_test_ for the sandbox) and are shown only once, so copy the key somewhere safe.",
    "Live keys begin with ll_live_ and sandbox keys with ll_test_. We only display a key once, so store it securely."],
   ["You can have up to {max_keys} keys per workspace, each with read-only or read-write scope.",
    "Each workspace can hold up to {max_keys} keys, and each key can be read-only or read-write."],
   ["If a key is lost or someone leaves, revoke it and create a new one — revoking takes effect immediately.",
    "We can't show a lost key again, so revoke it and generate a replacement; the old one stops working at once."]],
  ["Apps used by other Ledgerleaf customers should use OAuth 2.0 rather than API keys; details are at {dev}.",
   "The sandbox has its own test data and never sends real emails.",
   "The base URL for all requests is {api}."],
  ["Settings > Developers > API keys", "ll_live_"])

T("webhooks",
  ["Does Ledgerleaf support webhooks?",
   "How do I verify a webhook signature?",
   "webhook retries?",
   "Which events can trigger a webhook?",
   "!Our endpoint was down for an hour. Will we miss invoice.paid events?",
   "webhook timeout",
   "Where do I add a webhook URL?",
   "!My webhook endpoint got disabled. Why?"],
  "How do webhooks work in Ledgerleaf and what happens if my server doesn't respond?",
  [["Yes — add endpoints at Settings > Developers > Webhooks on {folio} and {bureau}, and pick events such as invoice.sent, invoice.paid and client.created.",
    "Webhooks are set up at Settings > Developers > Webhooks ({folio} and {bureau}); you can subscribe to events like invoice.paid, invoice.sent and client.created."],
   ["Each request is signed with HMAC-SHA256 in the Ledgerleaf-Signature header, using the endpoint's signing secret.",
    "Verify requests by checking the Ledgerleaf-Signature header — an HMAC-SHA256 of the body with your endpoint's secret."],
   ["Your endpoint needs to return a 2xx response within {wh_timeout}; otherwise we retry up to {wh_retry} with exponential backoff.",
    "Respond with any 2xx status within {wh_timeout}. Failed deliveries are retried up to {wh_retry}, with increasing gaps."],
   ["If every delivery to an endpoint fails for 3 days, it's disabled and the owner gets an email; you can re-enable it from the same page.",
    "Endpoints that fail continuously for 3 days are switched off, and we email the owner — you can turn it back on in the webhook settings."]],
  ["^So a short outage of an hour or so won't lose events; they'll arrive once the retries succeed.",
   "The delivery log for each endpoint shows the last 30 days of attempts and responses.",
   "Example payloads for every event are in the docs at {dev}."],
  ["Ledgerleaf-Signature", "{wh_timeout}"])

T("integrations",
  ["What integrations do you have?",
   "Does Ledgerleaf work with Zapier?",
   "shopify integration?",
   "Can I get Slack notifications when an invoice is paid?",
   "We use HubSpot as a CRM. Can it sync with Ledgerleaf?",
   "Where do I find the integrations page?",
   "Do you integrate with Google Drive for storing PDFs?",
   "Which plan do I need for Zapier?"],
  "Which other apps can I connect Ledgerleaf to?",
  [["All integrations are at Settings > Integrations, including Stripe, PayPal, Zapier, Shopify, Slack, HubSpot and Google Drive.",
    "You'll find them at Settings > Integrations — Stripe, PayPal, Zapier, Shopify, Slack, HubSpot and Google Drive are all there."],
   ["Zapier works on {inkwell} and above, with over 20 triggers and actions, which opens up thousands of other apps.",
    "Our Zapier app (on {inkwell} and up) has more than 20 triggers and actions, so you can connect to thousands of other tools."],
   ["Shopify and HubSpot require {folio} or {bureau}; Slack and Google Drive are available on every plan.",
    "Shopify and HubSpot need {folio} or {bureau}, while Slack and Google Drive work on all plans."],
   ["Slack can post to a channel whenever an invoice is paid or becomes overdue, and Google Drive can save a PDF of every sent invoice.",
    "For example, Slack can notify a channel when an invoice is paid or overdue, and Google Drive can keep a copy of every sent invoice."]],
  ["The HubSpot sync keeps clients and contacts matched in both directions.",
   "If you're a developer, our API and webhooks let you build your own integrations.",
   "You can suggest new integrations at {feedback}."],
  ["Settings > Integrations", "Zapier"],
  shuffle=True)

T("status_and_outages",
  ["Is Ledgerleaf down?",
   "The app won't load. Is there an outage?",
   "?where is your status page",
   "?Can I get notified about outages?",
   "I can't log in and my invoices won't send. Is it just me?",
   "ledgerleaf not working right now???",
   "?Do you publish reports after an incident?",
   "How will I know when an outage is fixed?"],
  "How can I check whether Ledgerleaf is having problems right now?",
  [["Our live status page is {status}, showing the web app, mobile apps, API, payments and email sending separately.",
    "You can check {status} — it shows the status of the web app, mobile apps, API, payments and email delivery."],
   ["During an incident we update it at least every 30 minutes until it's resolved.",
    "While an incident is open, updates are posted at least every 30 minutes."],
   ["Click \"Subscribe to updates\" to get alerts by email, SMS or RSS.",
    "You can subscribe on the page to email, SMS or RSS notifications."],
   ["For major incidents, we publish a post-incident report within 5 business days.",
    "After any major incident we post a full report on the status page within 5 business days."]],
  ["If the status page shows everything working, try a private browser window or another network to rule out a local issue, then contact {support}.",
   "Scheduled maintenance is announced there too, at least {maint_notice} in advance.",
   "Invoices scheduled during an outage are sent automatically once service is restored.",
   "Mobile app problems are listed separately, so check both if you use the app."],
  ["{status}", "30 minutes"],
  problem=True, shuffle=True)

T("scheduled_maintenance",
  ["When do you do scheduled maintenance?",
   "Will there be downtime during maintenance?",
   "maintenance window time?",
   "I got a maintenance notice. Will my recurring invoices still go out?",
   "How much notice do you give for maintenance?",
   "!Why is the app read-only on Sunday morning?",
   "maintenance schedule ledgerleaf",
   "Does maintenance affect the API?"],
  "When does Ledgerleaf schedule maintenance and will it interrupt my work?",
  [["Planned maintenance happens on {maint}.",
    "Maintenance windows are scheduled for {maint}."],
   ["Every window is announced on {status} at least {maint_notice} ahead.",
    "We post notice on {status} at least {maint_notice} in advance."],
   ["Most maintenance causes no downtime, though occasionally the app and API are read-only for up to 15 minutes.",
    "Usually you won't notice anything; at most, the app and API may be read-only for up to 15 minutes."],
   ["Recurring invoices and reminders due during the window are sent as soon as it finishes.",
    "Anything scheduled during the window — recurring invoices, reminders — goes out right after it ends."]],
  ["API requests during a read-only period return HTTP 503 with a Retry-After header.",
   "You can subscribe to maintenance notices on the status page by email or SMS.",
   "Emergency maintenance outside that window is rare, and we always post it on the status page.",
   "Scheduled maintenance isn't counted as downtime for the {bureau} uptime SLA.",
   "We picked that slot because it's the quietest time across our UK, EU and US customers."],
  ["02:00", "{maint_notice}"],
  shuffle=True)

T("uptime_sla",
  ["Do you have an uptime SLA?",
   "!Can I get a credit for the outage last week?",
   "sla bureau uptime credits",
   "How do I claim a service credit?",
   "What uptime do you guarantee?",
   "Does the SLA apply to Folio?",
   "!Our business lost half a day of invoicing due to your outage. What compensation is there?",
   "is maintenance excluded from uptime"],
  "What happens if Ledgerleaf doesn't meet its uptime commitment?",
  [["{bureau} includes a {sla} monthly uptime SLA.",
    "Our SLA guarantees {sla} uptime each month on the {bureau} plan."],
   ["If uptime falls below {sla}, you get a credit of 10% of that month's fee, rising to 25% below 99.0%.",
    "Below {sla} you're credited 10% of the monthly fee, and below 99.0% that goes up to 25%."],
   ["Claim within 30 days by emailing {billing} with the dates affected; scheduled maintenance doesn't count as downtime.",
    "To claim, write to {billing} within 30 days with the affected dates. Announced maintenance windows are excluded."],
   ["Other plans don't carry a formal SLA, though we publish every incident on {status}.",
    "{inkwell} and {folio} don't have a contractual SLA, but all incidents are documented on {status}."]],
  ["Credits are applied to your next bill rather than refunded.",
   "Service credits are the sole remedy under the SLA, so we can't cover indirect losses.",
   "Our uptime history for the last 90 days is shown on the status page."],
  ["{sla}", "10%"])

T("mobile_app",
  ["Is there a Ledgerleaf mobile app?",
   "What iOS version do I need?",
   "android app requirements",
   "Does the app work offline?",
   "Is the mobile app free?",
   "Can I use Ledgerleaf on my iPad?",
   "My phone runs Android 9. Will the app work?",
   "what can i do in the mobile app vs the website"],
  "Which phones and tablets does the Ledgerleaf app run on?",
  [["Yes — the app is free on the App Store and Google Play and works on all plans.",
    "Our app is free to download from the App Store and Google Play, and it works with every plan."],
   ["The app needs {ios} or later on iPhone and iPad, or {android} or later on Android phones and tablets.",
    "You'll need {ios} or newer for iPhone and iPad, or {android} or newer on Android."],
   ["You can create and send invoices, scan receipts, run timers and check payments; settings and reports are on the web app.",
    "The app handles invoices, receipt scanning, timers and payment tracking, while settings and reports are done on the web."],
   ["Drafts can be created offline and sync automatically when you reconnect, but sending needs a connection.",
    "Offline, you can still write drafts — they sync as soon as you're back online; sending itself needs internet."]],
  ["Devices on older versions, like Android 9, can't install the current app, but the web app works in the phone's browser.",
   "Push notifications let you know when an invoice is viewed or paid.",
   "Sign in with the same email and password (or Google/Microsoft) as on the web."],
  ["{ios}", "{android}"],
  shuffle=True)

T("mobile_app_crash",
  ["The app keeps crashing.",
   "Ledgerleaf app closes as soon as I open it on my Android.",
   "app freezing when scanning receipts",
   "Since the last update the iPhone app won't load my invoices.",
   "?How do I send you diagnostic logs from the app?",
   "?Will I lose my drafts if I reinstall the app?",
   "app stuck on loading screen",
   "mobile app crash fix??"],
  "What should I try when the Ledgerleaf app on my phone keeps shutting down?",
  [["First make sure you're on the latest version — you can check under Menu > About in the app — and update from the App Store or Google Play if needed.",
    "Start by making sure you have the latest version (Menu > About shows it) and update through the App Store or Google Play."],
   ["Then force-close the app and restart your phone; on Android, clearing the cache at Settings > Apps > Ledgerleaf > Storage > Clear cache often helps too.",
    "Next, force-close it and restart the phone. On Android it's also worth clearing the cache: Settings > Apps > Ledgerleaf > Storage > Clear cache."],
   ["Before reinstalling, connect to the internet and let drafts sync, because unsynced drafts are lost when the app is removed.",
    "Only reinstall after your drafts have synced over a connection — anything not yet synced is deleted with the app."],
   ["If it still crashes, go to Menu > Help > Send diagnostics and mention your ticket number (like {tk}) so we can match the logs.",
    "Still crashing? Use Menu > Help > Send diagnostics and include your ticket number (for example {tk}) so we can find the logs."]],
  ["^If you can't reach the menu because of the crash, email {support} with your phone model and OS version instead.",
   "^In the meantime, the web app at app.ledgerleaf.com works in your phone's browser.",
   "^Freezes while scanning are often caused by low storage, so freeing up a little space can help."],
  ["Send diagnostics", "latest version"],
  problem=True, seq=True)

T("contact_support",
  ["How do I contact support?",
   "What are your support hours?",
   "phone number for ledgerleaf support",
   "Is there live chat?",
   "How quickly do you reply to emails?",
   "I'm on the free plan. Can I still get help?",
   "Do you have a US phone line?",
   "I need to talk to a real person about my account today."],
  "What ways are there to reach your support team, and when are they available?",
  [["Email {support} on any plan; we reply within {email_reply}, or within {bureau_reply} on {bureau}.",
    "You can always email {support} — replies come within {email_reply}, and {bureau} customers get a response within {bureau_reply}."],
   ["Live chat is available on {inkwell} and above, {hours}, from the help icon in the app.",
    "Paid plans from {inkwell} upwards can use live chat via the help icon, {hours}."],
   ["{bureau} customers can also call us on {phone_uk} (UK) or {phone_us} (US) during those hours.",
    "Phone support is for {bureau}: {phone_uk} in the UK or {phone_us} in the US, same hours as chat."],
   ["On {quill}, support is by email with replies within {quill_reply}, and our help centre at {help} is always open.",
    "Free {quill} accounts get email support with replies within {quill_reply}, plus the help centre at {help}."]],
  ["Every conversation gets a ticket number like {tk}, which helps if you need to follow up.",
   "Urgent security issues should go to {security}, which is monitored 24/7.",
   "If you'd like a callback, ask in chat and we'll book a slot."],
  ["{support}", "{email_reply}"])

T("complaints",
  ["?How do I make a complaint?",
   "I'm unhappy with how my support ticket was handled. Who can I escalate to?",
   "?complaint process",
   "?How long will a complaint take to resolve?",
   "I want to speak to a manager.",
   "Formal complaint about billing error",
   "Nobody has replied to my ticket in a week, this is unacceptable",
   "?Where do I send a written complaint?"],
  "I'm not satisfied with the service I've received — how do I raise it formally?",
  [["Please email {complaints} with your ticket number (in the format {tk}) and a short summary of what went wrong.",
    "You can raise a formal complaint at {complaints}; include your ticket number, such as {tk}, and what happened."],
   ["We acknowledge complaints within {complaint_ack} and send a full response within {complaint_full}.",
    "You'll get an acknowledgement within {complaint_ack}, and a full reply within {complaint_full}."],
   ["Complaints are handled by a support team lead rather than the agent originally involved.",
    "A team lead reviews every complaint, not the person who handled your ticket."],
   ["If you're still not satisfied, reply asking for escalation and the Head of Customer Support will review it personally.",
    "If the response doesn't resolve it, ask for escalation and it goes to our Head of Customer Support."]],
  ["If it's a billing error, we'll correct the charge while the complaint is being reviewed.",
   "If a ticket has gone unanswered, mention that in the complaint and we'll look into why.",
   "We use complaints to improve how we work, so thank you for taking the time."],
  ["{complaints}", "{complaint_full}"],
  problem=True,
  opens=["Thank you for raising this with us — we take complaints seriously."])

T("feature_requests",
  ["How do I request a feature?",
   "Will you add payroll?",
   "feature request: dark mode",
   "Is there a public roadmap?",
   "I suggested something months ago. How do I know if it's being built?",
   "Where can I vote on new features?",
   "It would be great if Ledgerleaf could do purchase orders. Who do I tell?",
   "do you listen to customer feedback"],
  "What's the best way to suggest an improvement to Ledgerleaf?",
  [["The best place is {feedback}, where you can post an idea or vote on existing ones.",
    "Head to {feedback} to submit an idea or upvote someone else's."],
   ["The product team reviews the board every month, and ideas are tagged Under review, Planned, In progress or Released.",
    "Our product team goes through it monthly and marks each idea as Under review, Planned, In progress or Released."],
   ["You'll be emailed when an idea you posted or voted for changes status.",
    "If you've voted or posted, we email you whenever the status changes."],
   ["We also publish a roadmap every quarter on the same site.",
    "A quarterly roadmap update is posted there too."]],
  ["Popular requests like dark mode, payroll and purchase orders already have their own threads, so adding your vote helps.",
   "Describing the problem you're trying to solve, not just the feature, helps us prioritise.",
   "Votes are one of the main inputs when we plan each quarter."],
  ["{feedback}"],
  opens=["Thanks for wanting to help shape Ledgerleaf!"])

# ============================================================================================
# Assembly
# ============================================================================================
def fill(text):
    return text.format_map(F)


def words(text):
    return len(text.split())


def pick_fresh(rng, pool, used):
    """Pick from pool, preferring lines not yet used in this topic."""
    fresh = [p for p in pool if p not in used] or pool
    choice = rng.choice(fresh)
    used.add(choice)
    return choice


def make_opening(rng, t, problem, used):
    if rng.random() < 0.18:
        return ""
    pool = (OPEN_PROBLEM if problem else OPEN_INFO) + OPEN_ANY + t["opens"] * 3
    line = pick_fresh(rng, pool, used)
    if rng.random() < 0.3:
        greeting = rng.choice(GREETINGS)
        if greeting.endswith(","):
            first = line.split()[0]
            if first not in ("I", "I'm", "Ledgerleaf"):
                line = line[0].lower() + line[1:]
        line = greeting + " " + line
    return fill(line)


def make_closing(rng, t, problem, used):
    roll = rng.random()
    if roll < 0.15:
        return ""
    helps = CLOSE_HELP + (CLOSE_PROBLEM if problem else CLOSE_INFO_ONLY) + t["closes"] * 3
    if roll < 0.62:
        return fill(pick_fresh(rng, helps, used))
    if roll < 0.77:
        return fill(pick_fresh(rng, SIGNOFFS, used))
    return fill(pick_fresh(rng, helps, used) + " " + pick_fresh(rng, SIGNOFFS, used))


STOP = set("""a an and are as at be but by can for from has have if in into is it its it's of on or our
so that the their them then there they this to up us we we'll with you you'll your you're yours
any all also just not no only out more one once each when what which will would than too via
""".split())


def content_words(text):
    out = set()
    for w in re.findall(r"[a-z0-9]+", fill(text).lower()):
        if len(w) > 3 and w.endswith("s"):
            w = w[:-1]
        if len(w) > 2 and w not in STOP:
            out.add(w)
    return out


def anchor_of(t, extra):
    """Index of the core point an extra detail belongs after (most shared content words, at
    least two), or None to put it after all core points. Extras marked "^" always go last."""
    if t["seq"] or extra.startswith("^"):
        return None
    mine = content_words(extra)
    best, best_n = None, 1
    for g, group in enumerate(t["core"]):
        n = max(len(mine & content_words(v)) for v in group)
        if n > best_n:
            best, best_n = g, n
    return best


def make_answer(rng, t, problem, variant_for, used_open, used_close):
    """One answer: opening, every core point (one wording each), a few extras, closing."""
    opening = make_opening(rng, t, problem, used_open)
    closing = make_closing(rng, t, problem, used_close)
    order = list(range(len(t["core"])))
    if t["shuffle"] and rng.random() < 0.6:
        rest = order[1:]
        rng.shuffle(rest)
        order = order[:1] + rest
    fixed = words(opening) + words(closing) + sum(words(fill(t["core"][g][variant_for[g]])) for g in order)
    extras = list(t["extra"])
    rng.shuffle(extras)
    wanted = min(rng.choice([1, 2, 2, 2, 3, 3]), len(extras) - 1)
    floor = rng.randint(MIN_WORDS + 5, 150)
    chosen = []
    for extra in extras:
        n = words(fill(extra.lstrip("^")))
        if fixed + n > MAX_WORDS:
            continue
        if len(chosen) >= wanted and fixed >= floor:
            break
        chosen.append(extra)
        fixed += n
    after = {}
    for extra in chosen:
        after.setdefault(anchor_of(t, extra), []).append(fill(extra.lstrip("^")))
    body = []
    for g in order:
        body.append(fill(t["core"][g][variant_for[g]]))
        body.extend(after.get(g, []))
    body.extend(after.get(None, []))
    return " ".join(p for p in [opening] + body + [closing] if p)


def similarity(a, b):
    return difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


def topic_answers(rng, t, count):
    """`count` answers for one topic, spreading the wordings of each point evenly and rejecting
    near-copies of an earlier answer."""
    cycles = []
    for group in t["core"]:
        idx = [i % len(group) for i in range(count)]
        rng.shuffle(idx)
        cycles.append(idx)
    used_open, used_close, answers = set(), set(), []
    for i in range(count):
        variant_for = [cyc[i] for cyc in cycles]
        for attempt in range(200):
            if attempt >= 20:  # this combination of wordings is too close to an earlier one
                variant_for = [rng.randrange(len(group)) for group in t["core"]]
            answer = make_answer(rng, t, t["tones"][i], variant_for, used_open, used_close)
            if (MIN_WORDS <= words(answer) <= MAX_WORDS
                    and all(similarity(answer, other) <= MAX_SIMILARITY for other in answers)):
                break
        else:
            raise SystemExit(f"{t['topic']}: could not build a distinct {MIN_WORDS}-{MAX_WORDS}-word answer")
        answers.append(answer)
    return answers


def build():
    rng = random.Random(SEED)
    faq, held = [], []
    for t in TOPICS:
        answers = topic_answers(rng, t, 9)  # 8 for the FAQ, 1 reference answer for held-out
        for q, a in zip(t["qs"], answers[:8]):
            faq.append({"q": q, "a": a, "topic": t["topic"]})
        keys = [fill(k) for k in t["keys"]]
        held.append({"q": t["held"], "a": answers[8], "topic": t["topic"], "key_facts": ";".join(keys)})
    rng.shuffle(faq)  # a real export is not grouped by topic
    return faq, held


def check(faq, held):
    """Fail loudly if the corpus breaks any of its stated properties; return stats."""
    problems = []
    if len(TOPICS) != 75 or len({t["topic"] for t in TOPICS}) != 75:
        problems.append("expected 75 distinct topics")
    if len(faq) != 600 or len(held) != 75:
        problems.append(f"row counts {len(faq)}/{len(held)}")
    faq_qs = [r["q"].strip().lower() for r in faq]
    if len(set(faq_qs)) != len(faq_qs):
        problems.append("duplicate FAQ question")
    if len({r["a"] for r in faq + held}) != len(faq) + len(held):
        problems.append("duplicate answer")
    keys_by_topic = {h["topic"]: h["key_facts"].split(";") for h in held}
    for r in faq + held:
        n = words(r["a"])
        if not MIN_WORDS <= n <= MAX_WORDS:
            problems.append(f"{r['topic']}: answer has {n} words")
        bare = r["a"].replace("{YYYY}", "")
        if "{" in bare or "}" in bare:
            problems.append(f"{r['topic']}: unfilled placeholder")
        for k in keys_by_topic[r["topic"]]:
            if k not in r["a"]:
                problems.append(f"{r['topic']}: key fact {k!r} missing from an answer")
    for h in held:
        if h["q"].strip().lower() in faq_qs:
            problems.append(f"{h['topic']}: held-out question also in faq.csv")
    sims = []
    for t in TOPICS:
        answers = [r["a"] for r in faq if r["topic"] == t["topic"]]
        for i in range(len(answers)):
            for j in range(i + 1, len(answers)):
                sims.append(similarity(answers[i], answers[j]))
    if problems:
        raise SystemExit("corpus check failed:\n  " + "\n  ".join(problems[:30]))
    return sims


def write_csv(path, rows, fields):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)  # default "excel" dialect: CRLF line endings, minimal quoting
        w.writerow(fields)
        for r in rows:
            w.writerow([r[k] for k in fields])


def length_stats(rows):
    n = [words(r["a"]) for r in rows]
    return min(n), statistics.median(n), max(n), statistics.mean(n)


README = """# Ledgerleaf support corpus (fictional)

Customer-support question/answer pairs for **Ledgerleaf**, a **fictional** invoicing and bookkeeping
service for freelancers and small businesses. The company, its plans, prices, policies, e-mail
addresses, URLs and phone numbers are all invented (the phone numbers come from ranges reserved for
fiction: UK 0117 496 0xxx and US 555-01xx). Nothing here describes a real business.

This corpus was written for Tandem's **training-speed benchmark**. It imitates what a user would
bring: their own support export of about 600 rows with 100-200-word answers, so that timing runs see
realistic row counts and sequence lengths. It is deliberately a different domain from the project's
sample data (Fernhollow, Brindlewave), with no shared plan names. `heldout.csv` is for measuring
recall of facts and answer similarity on phrasings that do not occur in `faq.csv`.

## Files

| File | Rows | Columns |
|---|---|---|
| `faq.csv` | {n_faq} (+ header) | `q,a,topic` |
| `heldout.csv` | {n_held} (+ header) | `q,a,topic,key_facts` |
| `make_corpus.py` | - | generator (standard library only) |

Both CSVs are UTF-8 without a byte-order mark, written with Python's `csv` module in its default
dialect: CRLF line endings, fields quoted only when needed, no line breaks inside fields.

- `faq.csv`: {n_topics} topics x 8 differently worded questions (short, long, formal, casual, with
  typos, with context such as "I'm a teacher and..."). The 8 answers of a topic state the same facts
  with the same numbers but differ in wording, order, extra details, openings and closings, like
  near-duplicates in a real FAQ export. Rows are shuffled, not grouped by topic.
- `heldout.csv`: one new phrasing per topic (never identical to a `faq.csv` question), a reference
  answer, and `key_facts`: 1-3 short strings separated by `;` that a correct answer must contain
  verbatim or nearly (for example `$14;$32;$79`). Every key fact appears in the reference answer
  and in all 8 `faq.csv` answers of that topic.

## Answer length (words, whitespace-separated)

| File | min | median | max | mean |
|---|---|---|---|---|
| `faq.csv` | {f_min} | {f_med} | {f_max} | {f_mean:.1f} |
| `heldout.csv` | {h_min} | {h_med} | {h_max} | {h_mean:.1f} |

Within a topic, the answers' pairwise word-level `difflib` similarity ratio has median {sim_med:.2f} and
maximum {sim_max:.2f} (1.0 would be a verbatim copy).

## How it was made

1. A hand-written **fact table** (`F` in `make_corpus.py`): plans and prices, refund windows,
   limits, retention periods, menu paths, addresses, reference formats.
2. Hand-written **topic entries**: eight customer questions plus one held-out question, four core
   points with two or three alternative wordings each, optional extra details, and the
   key facts. Numbers are written as placeholders and filled from the fact table, so a value
   (for example the {ref_annual} window for annual refunds) is identical everywhere it appears.
3. The generator assembles each answer from an optional opening, one wording of every core point,
   a few extra details at varying positions and an optional closing, keeping it within 100-200
   words. It uses a fixed seed, so the output is reproducible:

       python benchmarks/support-csv/make_corpus.py

Limitations: answers are assembled from a limited set of sentences, so answers in one topic share
sentences; do not split `faq.csv` into train/test by row (use `heldout.csv`). Facts are internally
consistent but not legal or tax advice for any real jurisdiction.

## The company in brief

- Plans: {quill} (free: {quill_clients}, {quill_inv}), {inkwell} {inkwell_m}/month, {folio} {folio_m}/month
  ({folio_users} included), {bureau} {bureau_m}/month ({bureau_users} included); annual billing
  {inkwell_y} / {folio_y} / {bureau_y} (two months free); a {folio} trial of {trial_days} without a card.
- Support: e-mail {support}; live chat on paid plans, {hours}; phone for {bureau}
  on {phone_uk} and {phone_us}. Ticket references look like {tk}.
- Topics ({n_topics}): {topic_list}.
"""


def main():
    faq, held = build()
    sims = check(faq, held)
    write_csv(OUT / "faq.csv", faq, ["q", "a", "topic"])
    write_csv(OUT / "heldout.csv", held, ["q", "a", "topic", "key_facts"])
    f_min, f_med, f_max, f_mean = length_stats(faq)
    h_min, h_med, h_max, h_mean = length_stats(held)
    readme = README.format(
        n_faq=len(faq), n_held=len(held), n_topics=len(TOPICS),
        f_min=f_min, f_med=f_med, f_max=f_max, f_mean=f_mean,
        h_min=h_min, h_med=h_med, h_max=h_max, h_mean=h_mean,
        sim_med=statistics.median(sims), sim_max=max(sims),
        topic_list=", ".join(t["topic"] for t in TOPICS), **F)
    (OUT / "README.md").write_text(readme, encoding="utf-8")
    print(f"faq.csv: {len(faq)} rows, words min/median/max {f_min}/{f_med}/{f_max}")
    print(f"heldout.csv: {len(held)} rows, words min/median/max {h_min}/{h_med}/{h_max}")
    print(f"within-topic similarity: median {statistics.median(sims):.2f}, max {max(sims):.2f}")


if __name__ == "__main__":
    main()
