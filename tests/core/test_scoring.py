import pytest

from mlops_desk.core.errors import BadInput
from mlops_desk.core.scoring import (
    SCORERS,
    build_judge_messages,
    default_scorer,
    parse_judge_reply,
    parse_scorer_spec,
    score,
    validate_scorer_spec,
)

RIGHT, WRONG, UNLABELLED = (True, 1.0), (False, 0.0), (None, None)


def test_scorer_names():
    assert SCORERS == ("label", "contains", "regex", "json", "number", "judge")


def test_default_scorers():
    assert default_scorer("classification") == "label"
    assert default_scorer("extraction") == "label"
    assert default_scorer("generation") == "contains"
    with pytest.raises(BadInput):
        default_scorer("vision")


@pytest.mark.parametrize(
    ("spec", "normalised"),
    [
        ("label", "label"),
        ("LABEL", "label"),
        (
            "label:synonyms= pos = positive | neg=negative",
            "label:synonyms=pos=positive|neg=negative",
        ),
        ("contains", "contains"),
        ("regex", "regex"),
        ("json", "json"),
        ("json: a.b.0", "json:a.b.0"),
        ("number", "number"),
        ("number:tol=0.01", "number:tol=0.01"),
        ("judge:grader:3", "judge:grader:3"),
        ("judge:org:grader:12", "judge:org:grader:12"),
    ],
)
def test_valid_scorer_specs_are_normalised(spec, normalised):
    assert validate_scorer_spec(spec) == normalised


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "exact",
        "label:",
        "label:synonyms=",
        "label:synonyms=pos",
        "label:synonyms=pos=positive|pos=negative",
        "label:aliases=a=b",
        "contains:x",
        "regex:abc",
        "json:",
        "json:a..b",
        "number:tol=",
        "number:tol=-1",
        "number:tol=abc",
        "number:eps=0.1",
        "judge",
        "judge:grader",
        "judge::2",
        "judge:grader:0",
        "judge:grader:v2",
    ],
)
def test_bad_scorer_specs_raise_one_line_bad_input(spec):
    with pytest.raises(BadInput) as err:
        validate_scorer_spec(spec)
    assert "\n" not in str(err.value)


def test_judge_spec_parts():
    parsed = parse_scorer_spec("judge:team:grader:2")
    assert (parsed.kind, parsed.judge_model, parsed.judge_version) == ("judge", "team:grader", 2)


def test_score_refuses_judge_specs():
    with pytest.raises(ValueError, match="runner"):
        score("judge:grader:1", "x", "y")


@pytest.mark.parametrize("spec", ["label", "contains", "regex", "json:a", "number"])
def test_unlabelled_rows_and_missing_predictions(spec):
    assert score(spec, "x", None) == UNLABELLED
    assert score(spec, "x", "  ") == UNLABELLED  # a blank imported cell is not a label
    assert score(spec, None, "x") == WRONG


@pytest.mark.parametrize(
    ("prediction", "expected", "result"),
    [
        ("Positive", "positive", RIGHT),
        ("  positive. ", '"Positive"', RIGHT),
        ("very  positive", "Very positive", RIGHT),
        ("positive", "negative", WRONG),
        ("pos", "positive", WRONG),
    ],
)
def test_label_scorer_normalises(prediction, expected, result):
    assert score("label", prediction, expected) == result


def test_label_scorer_applies_synonyms_to_both_sides():
    spec = "label:synonyms=pos=positive|neg=negative"
    assert score(spec, "POS", "positive") == RIGHT
    assert score(spec, "positive", "pos") == RIGHT
    assert score(spec, "neg", "pos") == WRONG


def test_contains_scorer_looks_in_the_raw_output():
    assert score("contains", "Paris", "paris.", output_text="It is  PARIS, France") == RIGHT
    assert score("contains", "The capital is Paris", "Paris") == RIGHT  # no output: prediction
    assert score("contains", "Lyon", "Paris", output_text="Lyon") == WRONG


def test_regex_scorer_treats_expected_as_a_pattern():
    assert score("regex", "order 12345", r"\d{5}") == RIGHT
    assert score("regex", "order 1234", r"^\d{4}$") == WRONG
    assert score("regex", "anything", "(unclosed") == WRONG


def test_json_scorer_without_field_checks_validity():
    assert score("json", '{"a": 1}', "-") == RIGHT
    assert score("json", "```json\n[1, 2]\n```", "-") == RIGHT
    assert score("json", "not json", "-") == WRONG


@pytest.mark.parametrize(
    ("prediction", "expected", "result"),
    [
        ('{"a": {"b": [3.0]}}', "3", RIGHT),
        ('{"a": {"b": ["Ada"]}}', "Ada", RIGHT),
        ('{"a": {"b": ["3"]}}', "3", RIGHT),  # same text form
        ('{"a": {"b": [{"x": 1}]}}', '{"x": 1.0}', RIGHT),
        ('{"a": {"b": [true]}}', "1", WRONG),  # JSON true is not 1
        ('{"a": {"b": [true]}}', "true", RIGHT),
        ('{"a": {"b": ["ada"]}}', "Ada", WRONG),
        ('{"a": {"b": []}}', "3", WRONG),
        ("no json", "3", WRONG),
    ],
)
def test_json_field_scorer(prediction, expected, result):
    assert score("json:a.b.0", prediction, expected) == result


@pytest.mark.parametrize(
    ("spec", "prediction", "expected", "result"),
    [
        ("number", "0.30000000000000004", "0.3", RIGHT),
        ("number", "1000000.5", "1000000", RIGHT),  # relative 1e-6
        ("number", "1.001", "1", WRONG),
        ("number", "1,234.5", "1234.5", RIGHT),
        ("number", "42.", "42", RIGHT),
        ("number", "forty-two", "42", WRONG),
        ("number", "nan", "nan", WRONG),
        ("number", "42", "n/a", WRONG),
        ("number:tol=0.01", "1.005", "1", RIGHT),
        ("number:tol=0.01", "0.99", "1", RIGHT),
        ("number:tol=0.01", "1.02", "1", WRONG),
        ("number:tol=0", "2", "2.0", RIGHT),
    ],
)
def test_number_scorer(spec, prediction, expected, result):
    assert score(spec, prediction, expected) == result


def test_judge_messages_carry_rubric_inputs_reference_and_response():
    messages = build_judge_messages(
        "Must name the city.", {"question": "Capital of France?", "n": 2}, "Paris", "Paris"
    )
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    for part in ("Must name the city.", "question: Capital of France?", "n: 2", "Paris"):
        assert part in user
    assert "Reference answer" in user
    assert '"pass"' in messages[0]["content"]


def test_judge_messages_default_rubric_and_no_reference():
    user = build_judge_messages(None, {}, "text", None)[1]["content"]
    assert "Reference answer" not in user
    assert "correctly and completely" in user
    assert "(none)" in user


@pytest.mark.parametrize(
    ("reply", "verdict", "value"),
    [
        ("PASS", True, 1.0),
        ("fail.", False, 0.0),
        ("Verdict: FAIL - the answer names the wrong city.", False, 0.0),
        ('{"pass": true, "score": 0.8, "reason": "ok"}', True, 0.8),
        ('```json\n{"pass": false}\n```', False, 0.0),
        ('{"score": 0.3}', False, 0.3),
        ('{"score": 7}', True, 0.7),
        ('{"passed": "yes", "score": "0.9"}', True, 0.9),
        ('{"correct": "no", "score": 0.6}', False, 0.6),  # an explicit verdict wins
        ("score: 7/10", True, 0.7),
        ("Score: 3 out of 10. FAIL", False, 0.3),
        ("The score is 85", True, 0.85),
    ],
)
def test_parse_judge_reply(reply, verdict, value):
    correct, got, error = parse_judge_reply(reply)
    assert (correct, error) == (verdict, None)
    assert got == pytest.approx(value)


@pytest.mark.parametrize(
    "reply", [None, "", "I think it is fine", "PASS? no, FAIL", "score: 12/10", '{"score": -1}']
)
def test_parse_judge_reply_errors(reply):
    correct, value, error = parse_judge_reply(reply)
    assert (correct, value) == (None, None)
    assert error
    assert "\n" not in error
