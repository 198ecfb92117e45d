"""Text front end cost: normalization and segmentation, in milliseconds per 1,000 characters, English and Russian.

    .venv/bin/python -m benchmarks.text_frontend [--repeats 7] [--copies 4]

Each language's sample (a paragraph dense in numbers, dates, money and abbreviations, repeated `--copies`
times) is run once to warm up (the libraries load dictionaries and compile regexes lazily), then `--repeats`
times; the median is reported. Segmentation is reported twice: whole text, and fed to the IncrementalSegmenter
in 4-character pieces (an LLM stream). Single-threaded; the CPU model is printed with the numbers.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable

from server.text.normalize import normalize
from server.text.segment import IncrementalSegmenter, segment

SAMPLES = {
    "english": (
        "Dr. Smith paid $5.30 for coffee on March 3rd, 2025 at 2:30 pm. The meeting on 12/03/2025 moved to "
        "14:30, e.g. after lunch. Revenue grew 12.5% to €1,200,000, i.e. about £3m. Call +1 (555) 123-4567 "
        "or visit example.com. Louis XIV ruled in the XVII century; World War II ended in 1945. It is 25°C "
        "and the car drove 60 km/h for 15 km. In the 1990s, 1/2 of 2,500 people lived on Main St. etc. "
    ),
    "russian": (
        "Д-р Иванов заплатил 500 ₽ за кофе 3 марта 2025 г. в 14:30. Встреча 12.03.2025 перенесена на 9:05, "
        "т. е. после обеда. Выручка выросла на 12,5% до 1 200 000 руб., т. е. примерно 25 млн. рублей за год. "
        "Звоните +7 495 123-45-67 или пишите на info@example.com. Пётр I правил в XVIII веке; война "
        "закончилась в 1945 году. На улице 25 °C, машина ехала 60 км/ч на протяжении 15 км. В 1990-х годах "
        "1/2 из 2 500 человек жили на ул. Ленина, д. 5 и т. д. "
    ),
}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (lscpu unavailable)"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def stream(text: str, language: str, piece: int = 4) -> None:
    segmenter = IncrementalSegmenter(language, max_buffer=None)
    for i in range(0, len(text), piece):
        segmenter.feed(text[i : i + piece])
    segmenter.end()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()

    print(f"CPU: {cpu_model()}")
    print(
        f"{'language':<9} {'chars':>6} {'normalize':>11} {'segment':>9} {'stream':>8}   (ms per 1,000 characters)"
    )
    for language, sample in SAMPLES.items():
        text = sample * args.copies
        per_1000 = 1000.0 / len(text) * 1000.0  # seconds -> ms per 1,000 characters
        costs = [
            median_seconds(lambda: normalize(text, language), args.repeats) * per_1000,  # noqa: B023
            median_seconds(lambda: segment(text, language), args.repeats) * per_1000,  # noqa: B023
            median_seconds(lambda: stream(text, language), args.repeats) * per_1000,  # noqa: B023
        ]
        print(f"{language:<9} {len(text):>6} {costs[0]:>11.2f} {costs[1]:>9.2f} {costs[2]:>8.2f}")


if __name__ == "__main__":
    main()
