"""Table-driven tests of the recorder's ``Batcher``: full batches, linger and flush, with the
time passed in."""

from collections.abc import Callable

import pytest

from wallboard.recorder.batching import Batcher

Step = Callable[[Batcher[str]], list[str] | None]


def add(item: str, now: float) -> Step:
    return lambda batcher: batcher.add(item, now)


def due(now: float) -> Step:
    return lambda batcher: batcher.due(now)


def flush() -> Step:
    return lambda batcher: batcher.flush()


SCENARIOS = [
    # (id, max_items, linger_s, [(step, what it returns, items waiting after, deadline after)])
    ("full-at-max-items", 3, 1.0, [
        (add("a", 0.0), None, 1, 1.0),
        (add("b", 0.1), None, 2, 1.0),
        (add("c", 0.2), ["a", "b", "c"], 0, None),
        (flush(), None, 0, None),
    ]),
    ("one-item-batches", 1, 1.0, [
        (add("a", 0.0), ["a"], 0, None),
        (add("b", 0.0), ["b"], 0, None),
    ]),
    ("linger-counts-from-the-first-item", 10, 1.0, [
        (add("a", 5.0), None, 1, 6.0),
        (add("b", 5.9), None, 2, 6.0),
        (due(5.99), None, 2, 6.0),
        (due(6.0), ["a", "b"], 0, None),
        (due(60.0), None, 0, None),
    ]),
    ("linger-restarts-with-the-next-item", 10, 1.0, [
        (add("a", 0.0), None, 1, 1.0),
        (due(1.5), ["a"], 0, None),
        (add("b", 3.0), None, 1, 4.0),
        (due(3.5), None, 1, 4.0),
        (due(4.0), ["b"], 0, None),
    ]),
    ("full-batch-resets-the-deadline", 2, 1.0, [
        (add("a", 0.0), None, 1, 1.0),
        (add("b", 0.5), ["a", "b"], 0, None),
        (add("c", 0.8), None, 1, 1.8),
        (due(1.0), None, 1, 1.8),
        (due(1.8), ["c"], 0, None),
    ]),
    ("zero-linger-is-due-at-once", 10, 0.0, [
        (due(0.0), None, 0, None),
        (add("a", 5.0), None, 1, 5.0),
        (due(5.0), ["a"], 0, None),
    ]),
    ("flush-takes-a-partial-batch", 10, 1.0, [
        (add("a", 0.0), None, 1, 1.0),
        (add("b", 0.1), None, 2, 1.0),
        (flush(), ["a", "b"], 0, None),
        (due(9.0), None, 0, None),
    ]),
    ("empty-flush-is-none", 10, 1.0, [
        (flush(), None, 0, None),
    ]),
    ("empty-is-never-due", 10, 1.0, [
        (due(0.0), None, 0, None),
        (due(1e12), None, 0, None),
    ]),
]


@pytest.mark.parametrize(("max_items", "linger_s", "steps"),
                         [pytest.param(*row[1:], id=row[0]) for row in SCENARIOS])
def test_batcher(max_items, linger_s, steps):
    batcher: Batcher[str] = Batcher(max_items, linger_s)
    for number, (step, returned, waiting, deadline) in enumerate(steps):
        assert step(batcher) == returned, f"step {number}"
        assert (len(batcher), batcher.deadline) == (waiting, deadline), f"step {number}"


def test_many_items_come_out_in_full_batches_in_order():
    batcher: Batcher[int] = Batcher(5_000, 1.0)
    batches = [b for i in range(12_000) if (b := batcher.add(i, 0.0)) is not None]
    assert [len(b) for b in batches] == [5_000, 5_000]
    rest = batcher.flush()
    assert rest is not None and len(rest) == 2_000
    assert [*batches[0], *batches[1], *rest] == list(range(12_000))


def test_a_taken_batch_is_the_callers():
    # The sender may hold a batch while the batcher fills the next one.
    batcher: Batcher[str] = Batcher(2, 1.0)
    batcher.add("a", 0.0)
    batch = batcher.add("b", 0.0)
    assert batch == ["a", "b"]
    batcher.add("c", 0.0)
    assert batch == ["a", "b"]
    assert batcher.flush() == ["c"]


@pytest.mark.parametrize(("max_items", "linger_s"), [
    (0, 1.0),
    (-1, 1.0),
    (1, -0.001),
    (1, float("-inf")),
])
def test_invalid_construction(max_items, linger_s):
    with pytest.raises(ValueError, match="max_items must be at least 1"):
        Batcher(max_items, linger_s)


@pytest.mark.parametrize(("max_items", "linger_s"), [(1, 0.0), (5_000, 1.0), (1, 3600.0)])
def test_edge_construction(max_items, linger_s):
    batcher: Batcher[str] = Batcher(max_items, linger_s)
    assert (len(batcher), batcher.deadline, batcher.flush()) == (0, None, None)
