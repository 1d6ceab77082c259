"""The process-wide lazily made objects (clients, pools): made once, by one thread, and remade after a drop."""

import threading

from memos.kernel.lazy import Lazy


def test_nothing_is_made_before_first_use_and_then_once() -> None:
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    lazy = Lazy(make)
    assert made == []
    first = lazy.get()
    assert lazy.get() is first
    assert made == [first]


def test_threads_racing_on_first_use_share_one_object() -> None:
    calls = 0
    release = threading.Event()

    def slow_make() -> object:
        nonlocal calls
        calls += 1
        release.wait(5)
        return object()

    lazy = Lazy(slow_make)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(lazy.get())) for _ in range(8)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert calls == 1
    assert len(got) == 8 and all(g is got[0] for g in got)


def test_drop_returns_the_object_for_closing_and_the_next_use_makes_a_new_one() -> None:
    lazy = Lazy(object)
    assert lazy.drop() is None  # nothing made yet: nothing to close
    first = lazy.get()
    assert lazy.drop() is first
    second = lazy.get()
    assert second is not first
    assert lazy.get() is second
