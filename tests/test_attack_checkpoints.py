"""A deterministic sample of scripts/attack_checkpoints.py under pytest: mutated files, kills
during save_checkpoint and malicious payloads. The full counts:
python scripts/attack_checkpoints.py --full"""

from __future__ import annotations

import os

import pytest

import attack_checkpoints as attack


def labels(counts, word):
    return sum(n for label, n in counts.items() if word in label)


def test_mutated_files_never_escape_hang_crash_or_load_wrong():
    n = attack.SAMPLE["corruption"]
    counts = attack.corruption_campaign(n, seed=2024)
    assert attack.failures(counts) == 0, counts
    assert sum(counts.values()) == n
    for size in ("small", "large"):
        for kind in attack.MUTATIONS:  # every kind ran at both sizes and most were caught
            assert labels(counts, f"{size:5} {kind}") == n // 2 // len(attack.MUTATIONS)
    assert labels(counts, "refused: CheckpointCorruptError") > n // 2


def test_a_sample_of_the_metadata_scan():
    counts = attack.metadata_scan(step=attack.SAMPLE["scan step"])
    assert attack.failures(counts) == 0, counts
    assert sum(counts.values()) > 500
    assert labels(counts, "refused:") > sum(counts.values()) // 4  # many header bytes are inert


def test_mutations_are_deterministic_and_really_damage_the_file():
    data = bytes(range(256)) * 64
    for case in range(20):
        kind, mutated = attack.mutate(data, case, seed=1)
        assert (kind, mutated) == attack.mutate(data, case, seed=1)
        assert mutated != data or kind == "overwritten run", kind


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_killed_saves_never_lose_the_checkpoint():
    counts = attack.kill_campaign(attack.SAMPLE["kills"], seed=2024)
    assert attack.failures(counts) == 0, counts
    n = attack.SAMPLE["kills"]
    assert counts["path held the previous or the new checkpoint, verified"] == n
    assert counts["no orphan temp folder after the next save"] == n
    assert counts["killed mid-write (a temp folder was left)"] >= 1  # the kills hit real writes


def test_malicious_files_are_refused_and_never_run():
    counts = attack.malicious_campaign()
    assert attack.failures(counts) == 0, counts
    n = counts["payloads"]
    assert n >= 10
    assert counts["payload never ran"] == n
    assert counts["control: the unsafe loader ran the payload"] == n - len(attack.NO_CONTROL)
    assert labels(counts, "refused by load_checkpoint") == n
    assert labels(counts, "described by inspect_checkpoint: ") == n == len(attack.EXPECTED)
