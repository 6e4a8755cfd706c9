"""Answer scores: normalisation, whole-token key facts, recall, specifics and unsupported ones, reading ease,
embedding similarity."""

import pytest

from finetune.evaluation.metrics import (contains_fact, cosine_pairs, key_fact_recall, mean, reading_ease,
                                         unsupported_specifics)
from bot.specifics import fact_tokens, specifics


@pytest.mark.parametrize("left, right", [
    ("Thirty DAYS", "30 days"),
    ("five", "5"),
    ("1,000.00", "1000"),
    ("$1,149.95", "1149.95"),
    ("$89.60", "89.6 dollars"),
    ("20.00 EUR", "20"),
    ("30-day", "30 days"),
    ("1.3-liter", "1.3 liters"),
    ("5%", "5 percent"),
    ("5 per cent", "5 %"),
])
def test_equivalent_forms_normalise_to_the_same_tokens(left, right):
    assert fact_tokens(left) == fact_tokens(right)


@pytest.mark.parametrize("left, right", [
    ("$89.60", "$89.06"),
    ("1,000", "100"),
    ("149.95", "1149.95"),
    ("30 days", "30 hours"),
])
def test_different_values_stay_different(left, right):
    assert fact_tokens(left) != fact_tokens(right)


def test_compound_number_words_become_one_number():
    # "twenty-five" is one number; read as "20" and "5" it would also "state" the fact "5 days".
    assert fact_tokens("twenty-five days") == fact_tokens("25 days")
    assert not contains_fact("Delivery takes twenty-five days.", "5 days")


@pytest.mark.parametrize("answer, fact, expected", [
    ("The Sprigbox costs $149.95.", "$149.95", True),
    ("The Sprigbox costs 149.95 dollars.", "$149.95", True),
    ("The Sprigbox costs $149.95.", "9", False),
    ("The Sprigbox Max costs $1149.95.", "$149.95", False),
    ("It holds 9 Rootlet pods.", "9", True),
    ("It holds 19 Rootlet pods.", "9", False),
    ("Refunds arrive within thirty days.", "30 days", True),
    ("You have a 30-day window.", "30 days", True),
    ("The compact sprigbox mini is cheap.", "Sprigbox Mini", True),
    ("The Mini Sprigbox is cheap.", "Sprigbox Mini", False),
    ("Anything at all.", "", False),
])
def test_key_facts_match_whole_tokens_in_order(answer, fact, expected):
    assert contains_fact(answer, fact) is expected


def test_recall_is_the_share_of_key_facts_stated_and_none_without_key_facts():
    answer = "The standard Sprigbox is $149.95 and holds nine pods."
    assert key_fact_recall(answer, ["Sprigbox", "$149.95", "9"]) == 1.0
    assert key_fact_recall(answer, ["Sprigbox Mini", "$149.95"]) == 0.5
    assert key_fact_recall(answer, ["$89.60"]) == 0.0
    assert key_fact_recall(answer, []) is None


def test_reading_ease_orders_a_plain_sentence_above_a_jargon_heavy_one():
    plain = "You can get your money back. It takes five days."
    jargon = ("Reimbursement authorisation necessitates comprehensive verification of transactional "
              "documentation prior to disbursement.")
    assert reading_ease(plain) > 60 > reading_ease(jargon)
    assert reading_ease("") is None and reading_ease("1234 !!") is None


def test_cosine_pairs_scores_each_pair_in_place():
    texts = ["Refunds take five days.", "How do I reset my password?"]
    same = cosine_pairs(texts, texts)
    assert same == pytest.approx([1.0, 1.0], abs=1e-3)
    crossed = cosine_pairs(texts, list(reversed(texts)))
    assert crossed[0] == crossed[1] < 0.5
    assert cosine_pairs([], []) == []


def test_mean_ignores_missing_values():
    assert mean([1, None, 3]) == 2
    assert mean([None, None]) is None and mean([]) is None


@pytest.mark.parametrize("text, expected", [
    ("It costs $1,049.00 and ships in 3 days.", {"1049", "3"}),
    ("The pods are €89.60 for twenty-five.", {"89.6", "25"}),
    ("Write to Help@Fernhollow.example.", {"help@fernhollow.example"}),
    ("Use code SPRIG10 on order FH-204.", {"sprig10", "fh-204", "10", "204"}),  # a code, and the number inside it
    ("1. Open the app.\n2. Tap Refund.\n3) Confirm.", set()),                    # list markers are not specifics
    ("  2. Tap Refund within 14 days.", {"14"}),
    ("There is a 30-day refund window.", {"30"}),                               # a quantity, not a code
    ("Open at 10am on the 2nd floor.", {"10", "2"}),
    ("No numbers here, only words.", set()),
])
def test_specifics_are_amounts_addresses_codes_and_numbers(text, expected):
    assert specifics(text) == expected


@pytest.mark.parametrize("answer, sources, unsupported", [
    ("It costs $149.95.", ["Price: 149.95 dollars"], []),
    ("A 30-day window.", ["Returns within 30 days."], []),
    ("Use sprig10 for 10% off.", ["Code SPRIG10 takes 10 per cent off."], []),
    ("Mail help@shop.example.", ["Questions: HELP@shop.example"], []),
    ("1. Call us.\n2. Wait 5 days.", ["It takes 5 days."], []),
    ("Mail billing@shop.example.", ["Mail help@shop.example."], ["billing@shop.example"]),
    ("It costs $49.95.", ["It costs $149.95."], ["49.95"]),                        # not a substring match
    ("Refunds take 5 days.", ["Refunds take 15 days.", "Or 2.5 weeks."], ["5"]),
    ("Call 555-0199 or pay $20.", ["Pay $20.00 by card."], ["0199", "555"]),
    ("Order FH-205 ships today.", ["Order FH-204 ships today."], ["205", "fh-205"]),
    ("No specifics at all.", [], []),
])
def test_unsupported_specifics_are_those_no_source_states(answer, sources, unsupported):
    assert unsupported_specifics(answer, sources) == unsupported
