"""Write orchard.csv: 300 made-up fruits from three orchards, to try ``task=csv`` on.

    python examples/data/make_orchard.py          # rewrites examples/data/orchard.csv (seeded: same file)

Each row is one fruit: ``fruit`` (the label: apple, pear or plum), its ``weight_g``, ``diameter_mm`` and
``sugar_brix`` (numbers), the ``orchard`` it came from and its ``color`` (a few categories each), and the
``tree_id`` it was picked from (almost every row a different id, so dlwp drops the column with a warning).
About 5 % of the weight, sugar and color cells are missing (written empty or as NA). The classes overlap
a little: a person (or a small network) tells them apart from size, sugar and color, not from one column.
Standard library only.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 7
ROWS = 300
HERE = Path(__file__).resolve().parent

ORCHARDS = ["Hillside", "Riverbend", "Old Mill", "South Field"]
# fruit: (weight g mean, sd), (diameter mm mean, sd), (sugar Brix mean, sd), {color: weight}
FRUITS = {
    "apple": ((170, 30), (74, 6), (13.0, 1.5), {"red": 5, "green": 3, "yellow": 2}),
    "pear": ((200, 40), (64, 6), (11.0, 1.5), {"green": 5, "yellow": 3, "brown": 2}),
    "plum": ((55, 15), (45, 5), (15.5, 2.0), {"purple": 6, "red": 3, "yellow": 1}),
}
MISSING_SHARE = 0.05   # per cell of the columns with gaps
GAPS = ("weight_g", "sugar_brix", "color")


def rows(rng: random.Random) -> list[dict[str, str]]:
    out = []
    for _ in range(ROWS):
        fruit = rng.choices(list(FRUITS), weights=[4, 3, 3])[0]
        (w, w_sd), (d, d_sd), (s, s_sd), colors = FRUITS[fruit]
        row = {
            "tree_id": f"{rng.choice('ABCDEFGH')}{rng.randrange(1000):03d}",
            "orchard": rng.choice(ORCHARDS),
            "weight_g": f"{max(15.0, rng.gauss(w, w_sd)):.0f}",
            "diameter_mm": f"{max(20.0, rng.gauss(d, d_sd)):.1f}",
            "sugar_brix": f"{rng.gauss(s, s_sd):.1f}",
            "color": rng.choices(list(colors), weights=list(colors.values()))[0],
            "fruit": fruit,
        }
        for column in GAPS:
            if rng.random() < MISSING_SHARE:
                row[column] = rng.choice(["", "NA"])
        out.append(row)
    return out


def main() -> None:
    rng = random.Random(SEED)
    data = rows(rng)
    with open(HERE / "orchard.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(data[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)


if __name__ == "__main__":
    main()
