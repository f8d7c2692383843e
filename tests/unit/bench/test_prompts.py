"""The checked-in prompts file is exactly what the generator writes, and the mix is sane."""

from collections import Counter
from pathlib import Path

from loadtests.bench.prompts import MIX, generate_prompts, load_prompts, write_prompts

REPO = Path(__file__).resolve().parents[3]
CHECKED_IN = REPO / "loadtests/data/prompts.jsonl"


def test_checked_in_file_equals_a_fresh_generation(tmp_path: Path) -> None:
    fresh = tmp_path / "prompts.jsonl"
    write_prompts(fresh, 200, seed=0)

    assert CHECKED_IN.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        "stale, regenerate with `python -m loadtests.bench.prompts`"
    )


def test_round_trip_and_determinism(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    written = write_prompts(path, 20, seed=7)

    assert load_prompts(path) == written == generate_prompts(20, seed=7)
    assert generate_prompts(20, seed=8) != written


def test_lengths_stay_in_their_class_bounds_and_mix_is_roughly_right() -> None:
    prompts = generate_prompts(1000, seed=1)
    bounds = {kind: (low, high) for kind, _, low, high in MIX}

    for p in prompts:
        low, high = bounds[p.kind]
        assert low <= len(p.prompt.split()) <= high, p
    counts = Counter(p.kind for p in prompts)
    for kind, share, _, _ in MIX:
        assert abs(counts[kind] / 1000 - share) < 0.06
