"""Generate ``reviews.csv``, the sample workspace's labelled sentiment dataset.

Deterministic (fixed seed): re-running it rewrites the same file byte for byte, so the
dataset's snapshot hash never changes between releases. Run it from anywhere:

    python resources/sample/make_reviews.py

Most rows are plain reviews that a word list gets right; about a third are deliberately
hard: negations ("not bad at all"), contrasts where the clause after "but" decides,
sarcasm, mixed-but-neutral and long rambling reviews. That spread is what makes the sample
model's versions differ in accuracy.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 20240501
OUT = Path(__file__).with_name("reviews.csv")

ITEMS = [
    "headphones", "coffee maker", "backpack", "phone case", "blender", "bike light",
    "desk lamp", "keyboard", "water bottle", "office chair", "toaster", "rain jacket",
    "charger", "tent", "vacuum", "kettle", "monitor", "mouse", "suitcase", "air fryer",
]
PARTS = {
    "headphones": ["sound", "fit", "battery"], "coffee maker": ["carafe", "brew", "timer"],
    "backpack": ["zipper", "straps", "pockets"], "phone case": ["grip", "buttons", "edges"],
    "blender": ["motor", "jar", "blades"], "bike light": ["mount", "battery", "beam"],
    "desk lamp": ["switch", "arm", "light"], "keyboard": ["keys", "cable", "backlight"],
    "water bottle": ["lid", "seal", "finish"], "office chair": ["armrests", "wheels", "seat"],
    "toaster": ["lever", "timer", "slots"], "rain jacket": ["hood", "zipper", "seams"],
    "charger": ["cable", "plug", "port"], "tent": ["poles", "zipper", "floor"],
    "vacuum": ["suction", "filter", "battery"], "kettle": ["lid", "handle", "switch"],
    "monitor": ["stand", "screen", "colours"], "mouse": ["scroll wheel", "buttons", "sensor"],
    "suitcase": ["wheels", "handle", "zipper"], "air fryer": ["basket", "timer", "coating"],
}
WHEN = ["after two weeks", "within a month", "on day three", "after one use",
        "after a few days", "the second time I used it"]

POSITIVE = [
    "Love this {item}. The {part} {is} excellent and it feels sturdy.",
    "Great {item}, works perfectly and arrived fast.",
    "Best {item} I have owned. Highly recommend.",
    "Really happy with the {item}; the {part} {is} solid and reliable.",
    "Excellent value. The {part} {works} great and it looks beautiful.",
    "Five stars. Comfortable, well made and worth every penny.",
    "Bought a second {item} for my sister because the first one is so good.",
    "Fantastic {item}. Setup took two minutes and it just works.",
    "Very pleased: the {part} {is} much better than on my old {item}.",
    "Perfect for travel. Light, sturdy and the {part} {is} great.",
    "Does everything I wanted and more. Amazing {part}.",
    "Solid {item}, nice {part}, would buy again.",
]
NEGATIVE = [
    "The {item} broke {when}. Total waste of money.",
    "Terrible {item}. The {part} stopped working {when}.",
    "Cheap and flimsy; the {part} snapped {when}. Returned it.",
    "Awful. The {part} {is} poor and it is very noisy.",
    "Worst {item} I have bought. Asked for a refund.",
    "Disappointed. The {part} {leaks} and support was useless.",
    "The {part} died {when}. Horrible quality.",
    "One star. Slow, loud and the {part} {is} badly made.",
    "Arrived broken and the replacement had the same problem.",
    "Poor fit and the {part} {feels} cheap. Sending it back.",
    "Useless {item}: the {part} failed {when} and it smells of plastic.",
    "Really bad {part}. Save your money.",
]
NEUTRAL = [
    "Arrived on time. It is a {item}; it does what the listing says.",
    "Bought it as a gift, so I have not tried the {item} myself yet.",
    "The {item} is average. Nothing special either way.",
    "It's fine. The {part} {is} okay for the price.",
    "Medium size, dark grey. The {part} {is} as described.",
    "Haven't used the {item} enough to have an opinion yet.",
    "Standard {item}. Comes with a manual and spare parts.",
    "Does the job. Not the cheapest, not the most expensive.",
    "It replaced my old {item}. About the same, really.",
    "Colour matches the photos. The {part} {is} a bit stiff at first, which is normal.",
]
# The hard cases: a word list without negation or contrast handling gets them wrong.
HARD_POSITIVE = [
    "Not bad at all for the price.",
    "I was not disappointed: the {part} {is} better than expected.",
    "Never had a problem with this {item} in a year of daily use.",
    "The box was damaged in the post but the {item} itself is perfect.",
    "I doubted the reviews, but honestly it works great.",
    "No complaints. The {part} {hasnt} failed once.",
    "Can't fault it. I wouldn't hesitate to buy this {item} again.",
    "The manual is useless but the {item} is excellent once set up.",
    "Cheap looking at first, but it has proven sturdy and reliable.",
]
HARD_NEGATIVE = [
    "Not great. Not worth the money either.",
    "I would not recommend this {item}.",
    "Doesn't work as advertised and the {part} {isnt} good.",
    "Looks nice, but it stopped charging {when}.",
    "Great, another {item} that died {when}.",
    "The {part} {is} good but the rest fell apart {when}.",
    "Wasn't happy with it; the {part} never worked properly.",
    "Lovely design, but honestly it is a waste of money.",
    "Five stars for the packaging, zero for the {item} itself: it broke {when}.",
    "I wanted to love this {item}, but the {part} {is} terrible.",
]
HARD_NEUTRAL = [
    "Some good, some bad: the {part} {is} good, the rest is poor.",
    "Not good, not bad. Just a {item}.",
    "Great {part}, terrible {part2}. It evens out.",
    "My partner loves it, I don't. We'll see.",
]
# Long reviews (over 160 characters) that the baseline version refuses as too long.
LONG = [
    ("positive", "I spent weeks comparing options before buying this {item}, read every review "
                 "and watched far too many videos; in the end it was the right choice, the "
                 "{part} {is} excellent and I use it every day."),
    ("negative", "I really wanted this {item} to work out, because the design looked great in "
                 "the photos and the price was fair, but the {part} failed {when} and the "
                 "seller simply stopped answering my emails."),
    ("neutral", "Ordered the {item} on a Monday, it came on the Thursday in a plain box with "
                "a manual in four languages and spare parts; I have only used it twice so "
                "far, so I cannot say much yet."),
]

PLAN = [  # (templates, label, how many rows)
    (POSITIVE, "positive", 80), (NEGATIVE, "negative", 80), (NEUTRAL, "neutral", 40),
    (HARD_POSITIVE, "positive", 36), (HARD_NEGATIVE, "negative", 40),
    (HARD_NEUTRAL, "neutral", 12),
]


def fill(template: str, rng: random.Random) -> str:
    item = rng.choice(ITEMS)
    part, part2 = rng.sample(PARTS[item], 2)
    # Plural parts ("wheels") take plural verbs.
    plural = part.endswith("s")
    verbs = {"is": "are", "isnt": "aren't", "hasnt": "haven't", "works": "work",
             "leaks": "leak", "feels": "feel"}
    forms = {key: plural_form if plural else key.replace("nt", "n't")
             for key, plural_form in verbs.items()}
    text = template.format(item=item, part=part, part2=part2, when=rng.choice(WHEN), **forms)
    return text[0].upper() + text[1:]


def make_rows(rng: random.Random) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for templates, label, count in PLAN:
        made = attempts = 0
        while made < count and attempts < count * 50:
            attempts += 1
            text = fill(rng.choice(templates), rng)
            if text not in seen:
                seen.add(text)
                rows.append((text, label))
                made += 1
    for label, template in LONG:
        for _ in range(4):
            text = fill(template, rng)
            if text not in seen:
                seen.add(text)
                rows.append((text, label))
    rng.shuffle(rows)
    return rows


def main() -> None:
    rows = make_rows(random.Random(SEED))
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
