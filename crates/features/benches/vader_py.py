#!/usr/bin/env python3
"""Throughput of vaderSentiment's polarity_scores, for comparison with the Rust port.

Input: a file with one JSON string per line (the text to score), e.g. made with
    python3 -c 'import json,sys; [print(json.dumps(json.loads(l)["text"])) for l in sys.stdin]' \
        < yelp_academic_dataset_review.json > texts.jsonl

Only the scoring loop is timed (not reading the file nor building the analyzer).
Prints one line:  vaderSentiment <version>: <N> texts in <S> s = <R> texts/s

Usage: python3 vader_py.py TEXTS.jsonl [--repeat K] [--min-texts N]
  --repeat K     score the whole list K times (default 1)
  --min-texts N  repeat the list until at least N texts are scored (default 0)
"""

import argparse
import json
import sys
import time

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

try:
    from importlib.metadata import version as _version

    VADER_VERSION = _version("vaderSentiment")
except Exception:  # pragma: no cover - metadata missing
    VADER_VERSION = "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("texts", help="file with one JSON string per line")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--min-texts", type=int, default=0)
    args = ap.parse_args()

    with open(args.texts, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    if not texts:
        sys.exit("no texts in input")
    repeat = max(args.repeat, -(-args.min_texts // len(texts)))
    work = texts * repeat

    analyzer = SentimentIntensityAnalyzer()
    checksum = 0.0
    start = time.perf_counter()
    for text in work:
        checksum += analyzer.polarity_scores(text)["compound"]
    elapsed = time.perf_counter() - start

    print(f"vaderSentiment {VADER_VERSION}: {len(work)} texts in {elapsed:.3f} s = "
          f"{len(work) / elapsed:.1f} texts/s (checksum {checksum:.4f})")


if __name__ == "__main__":
    main()
