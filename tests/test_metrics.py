"""Answer scores: normalisation, whole-token key facts, recall, reading ease, embedding similarity."""

import pytest

from finetune.metrics import contains_fact, cosine_pairs, key_fact_recall, mean, normalise, reading_ease


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
    assert normalise(left) == normalise(right)


@pytest.mark.parametrize("left, right", [
    ("$89.60", "$89.06"),
    ("1,000", "100"),
    ("149.95", "1149.95"),
    ("30 days", "30 hours"),
])
def test_different_values_stay_different(left, right):
    assert normalise(left) != normalise(right)


def test_compound_number_words_become_one_number():
    # "twenty-five" is one number; read as "20" and "5" it would also "state" the fact "5 days".
    assert normalise("twenty-five days") == normalise("25 days")
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
