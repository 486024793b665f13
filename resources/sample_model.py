"""The sample workspace's model: a small lexicon sentiment classifier, served as a
``python`` endpoint (``mlops_desk.resources.sample_model:classify``).

It is deliberately simple and deliberately tunable: each registered version passes
different ``params``, so versions really differ in accuracy, latency and cost:

- ``negation`` (bool): flip a word's polarity within three words after "not", "never",
  "no" or a "-n't" word ("not bad" reads as positive).
- ``contrast`` (bool): words after "but"/"however" count double ("nice, but it broke").
- ``threshold`` (float): how far the score must lean to call it positive or negative;
  anything closer to zero is neutral.
- ``max_chars`` (int): longer inputs are refused with an error (the baseline's limit).
- ``latency_ms`` (float): simulated inference time, proportional to the input's length.

Signature: ``classify(messages, params) -> {"text": label, "usage": {...}}``.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

_POSITIVE = """
love loved lovely great excellent perfect perfectly amazing good happy recommend works
comfortable sturdy fast beautiful nice fantastic worth solid reliable best pleased better
"""
_NEGATIVE = """
broke broken terrible awful bad poor disappointed disappointing waste returned refund cheap
flimsy worst stopped useless slow leaks leak died horrible problem noisy failed
"""
POSITIVE = frozenset(_POSITIVE.split())
NEGATIVE = frozenset(_NEGATIVE.split())
NEGATORS = frozenset({"not", "never", "no", "hardly", "without", "zero"})
CONTRAST = frozenset({"but", "however", "although", "though"})
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_rng = random.Random()  # latency jitter only; predictions are deterministic


def score(text: str, *, negation: bool, contrast: bool) -> float:
    """Positive minus negative word weight, with optional negation and contrast rules."""
    total, flip_left, weight = 0.0, 0, 1.0
    for word in _WORD.findall(text.lower()):
        if contrast and word in CONTRAST:
            total *= 0.5  # what came before the "but" matters less...
            weight = 2.0  # ...than what comes after it
            continue
        if negation and (word in NEGATORS or word.endswith("n't")):
            flip_left = 3
            continue
        polarity = (word in POSITIVE) - (word in NEGATIVE)
        if polarity and flip_left:
            polarity = -polarity
        total += polarity * weight
        flip_left = max(0, flip_left - 1)
    return total


def label_for(value: float, threshold: float) -> str:
    if value > threshold:
        return "positive"
    if value < -threshold:
        return "negative"
    return "neutral"


def classify(messages: list[dict[str, str]], params: dict[str, Any]) -> dict[str, Any]:
    text = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    max_chars = int(params.get("max_chars", 0) or 0)
    if max_chars and len(text) > max_chars:
        raise ValueError(f"input of {len(text)} characters exceeds this model's {max_chars}")
    latency_ms = float(params.get("latency_ms", 0) or 0)
    if latency_ms:
        time.sleep(latency_ms / 1000 * (0.5 + len(text) / 120) * _rng.uniform(0.7, 1.4))
    value = score(text, negation=bool(params.get("negation")),
                  contrast=bool(params.get("contrast")))
    label = label_for(value, float(params.get("threshold", 0) or 0))
    prompt_words = sum(len(m.get("content", "").split()) for m in messages)
    return {"text": label,
            "usage": {"prompt_tokens": round(prompt_words * 4 / 3), "completion_tokens": 1}}
