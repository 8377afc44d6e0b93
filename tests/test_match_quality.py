"""Matching quality on real text (issue #14): the labelled passages of bench/quality, read
in place from the shared corpus (third-party text, never copied here), must all be found,
and title+surname and bill-number spellings may only add right answers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import corpus_dir

BENCH = Path(__file__).resolve().parent.parent / "bench" / "match_quality.py"
Runs = tuple[ModuleType, list[Any], dict[str, dict[str, frozenset[str]]]]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("match_quality", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("match_quality", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs() -> Runs:
    mq = _bench()
    root = corpus_dir("pages").parent
    passages = mq.load_passages(root)  # raises if a label no longer finds its passage
    return mq, passages, mq.evaluate(passages, mq.load_roster())


def test_every_label_finds_its_passage(runs: Runs) -> None:
    _mq, passages, _found = runs
    assert len(passages) >= 60
    assert len({p.id for p in passages}) == len(passages)
    for p in passages:
        assert p.item.summary or p.item.title, p.id


def test_issue_14_adds_only_right_answers(runs: Runs) -> None:
    mq, passages, found = runs
    before, now = found["before"], found["now"]
    for p in passages:
        assert before[p.id] <= now[p.id], f"{p.id}: lost {sorted(before[p.id] - now[p.id])}"
        assert now[p.id] - before[p.id] <= p.expected, f"{p.id}: new false positive {sorted(now[p.id] - p.expected)}"
    old = mq.score((p.expected, before[p.id]) for p in passages)
    new = mq.score((p.expected, now[p.id]) for p in passages)
    assert new.recall > old.recall
    assert new.fp == old.fp == 0
