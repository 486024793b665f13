import pytest

from mlops_desk.core.errors import BadInput
from mlops_desk.core.parsing import parse_output, validate_parser_spec

LABELS = ["positive", "negative", "neutral"]


@pytest.mark.parametrize(
    ("spec", "normalised"),
    [
        ("label", "label"),
        (" Text ", "text"),
        (r"regex:answer: (\d+)", r"regex:answer: (\d+)"),
        ("json", "json"),
        ("json: a.b.0 ", "json:a.b.0"),
    ],
)
def test_valid_parser_specs_are_normalised(spec, normalised):
    assert validate_parser_spec(spec) == normalised


@pytest.mark.parametrize(
    "spec",
    ["", "   ", "csv", "label:x", "text:y", "regex:", "regex:(unclosed", "json:", "json:a..b"],
)
def test_bad_parser_specs_raise_one_line_bad_input(spec):
    with pytest.raises(BadInput) as err:
        validate_parser_spec(spec)
    assert "\n" not in str(err.value)


def test_parse_output_rejects_a_bad_spec():
    with pytest.raises(BadInput):
        parse_output("regex:[", "anything")


@pytest.mark.parametrize("text", [None, "", "  \n "])
def test_empty_reply_is_a_parse_error(text):
    assert parse_output("text", text) == (None, "empty reply")


def test_a_label_reply_of_only_punctuation_is_a_parse_error():
    assert parse_output("label", ' "..." ', LABELS) == (None, "reply holds no label")


def test_text_parser_strips():
    assert parse_output("text", "  Paris is the capital.\n") == ("Paris is the capital.", None)


@pytest.mark.parametrize(
    ("reply", "prediction"),
    [
        ("positive", "positive"),
        ("  Negative.\n", "negative"),
        ('"NEUTRAL"', "neutral"),
        ("**Positive**", "positive"),
        ("`negative`!", "negative"),
        ("The sentiment is Positive.", "positive"),
        ("Label: negative\nReason: the customer is angry.", "negative"),
    ],
)
def test_label_parser_maps_to_the_canonical_label(reply, prediction):
    assert parse_output("label", reply, LABELS) == (prediction, None)


def test_label_parser_keeps_the_text_when_no_single_label_is_mentioned():
    # Unmatched replies are wrong answers, not parse errors: the text survives for the UI.
    assert parse_output("label", "Positive or negative?", LABELS) == (
        "Positive or negative",
        None,
    )
    assert parse_output("label", "I can't tell.", LABELS) == ("I can't tell", None)
    assert parse_output("label", "positively glowing", LABELS) == ("positively glowing", None)


def test_label_parser_prefers_the_longest_overlapping_label():
    labels = ["positive", "not positive"]
    assert parse_output("label", "This is NOT positive.", labels) == ("not positive", None)


def test_label_parser_without_labels_only_cleans():
    assert parse_output("label", ' "Spam". ', None) == ("Spam", None)
    assert parse_output("label", "Spam", []) == ("Spam", None)


def test_regex_parser_uses_group_one_or_the_whole_match():
    assert parse_output(r"regex:answer:\s*(\w+)", "The answer: Yes!") == ("Yes", None)
    assert parse_output(r"regex:\d{4}-\d{2}-\d{2}", "Due 2024-03-01.") == ("2024-03-01", None)


def test_regex_parser_failures_are_reported_not_raised():
    assert parse_output(r"regex:(\d+)", "no digits") == (None, "regex did not match the reply")
    prediction, error = parse_output(r"regex:x|(y)", "x")
    assert prediction is None
    assert "group 1" in error


def test_json_parser_reads_a_fenced_block_and_dotted_fields():
    reply = 'Here you go:\n```json\n{"person": {"names": ["Ada", "Grace"], "age": 36}}\n```\n'
    assert parse_output("json:person.names.1", reply) == ("Grace", None)
    assert parse_output("json:person.age", reply) == ("36", None)


def test_json_parser_finds_json_embedded_in_prose():
    assert parse_output("json:ok", 'Result: {"ok": true} -- done') == ("true", None)
    assert parse_output("json:v", '{"v": null}') == ("null", None)
    assert parse_output("json:v", '{"v": {"b": 1, "a": [1, 2]}}') == ('{"b":1,"a":[1,2]}', None)


def test_json_parser_whole_value():
    assert parse_output("json", '```\n{"a": 1}\n```') == ('{"a":1}', None)


@pytest.mark.parametrize(
    ("spec", "reply", "error_part"),
    [
        ("json:a", "no json here", "no JSON"),
        ("json:a", '{"a": 1', "no JSON"),
        ("json:a.b", '{"a": 1}', "not found"),
        ("json:items.5", '{"items": [1, 2]}', "not found"),
        ("json:items.x", '{"items": [1, 2]}', "not found"),
    ],
)
def test_json_parser_failures_are_reported_not_raised(spec, reply, error_part):
    prediction, error = parse_output(spec, reply)
    assert prediction is None
    assert error_part in error
    assert "\n" not in error
