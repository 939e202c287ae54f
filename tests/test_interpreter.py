"""``interpreter``: the collector is off (and the GIL switch interval short) inside, back to its
previous state after, even nested or from several threads."""

from __future__ import annotations

import gc
import sys
import threading

import pytest

from linkbase.interpreter import BULK_SWITCH_INTERVAL, gc_paused, quick_gil_handoffs


@pytest.fixture(autouse=True)
def _restore_gc() -> object:
    was = gc.isenabled()
    yield None
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_restored_after() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the inner exit must not re-enable it"
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_restored_when_the_last_of_several_threads_leaves() -> None:
    gc.enable()
    inside = threading.Barrier(3)
    leave = threading.Event()

    def worker() -> None:
        with gc_paused():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert not gc.isenabled()
    leave.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()


def test_restored_after_an_exception() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_the_switch_interval_is_short_inside_and_restored_by_the_last_to_leave() -> None:
    before = sys.getswitchinterval()
    assert before > BULK_SWITCH_INTERVAL
    inside = threading.Barrier(2)
    leave = threading.Event()

    def worker() -> None:
        with quick_gil_handoffs():
            inside.wait()
            leave.wait()

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait()
    with quick_gil_handoffs():
        assert sys.getswitchinterval() == BULK_SWITCH_INTERVAL
    assert sys.getswitchinterval() == BULK_SWITCH_INTERVAL, "the other thread is still inside"
    leave.set()
    thread.join()
    assert sys.getswitchinterval() == before


def test_a_shorter_interval_set_elsewhere_is_kept() -> None:
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(BULK_SWITCH_INTERVAL / 2)
        with quick_gil_handoffs():
            assert sys.getswitchinterval() == BULK_SWITCH_INTERVAL / 2
        assert sys.getswitchinterval() == BULK_SWITCH_INTERVAL / 2
    finally:
        sys.setswitchinterval(before)


def test_the_startup_heap_is_frozen_and_later_objects_are_still_collected() -> None:
    from linkbase.interpreter import freeze_startup_heap

    before = gc.get_freeze_count()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > before
        assert gc.isenabled()

        class Node:
            other: object = None

        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made after the freeze
        del a, b
        assert gc.collect() >= 2  # still found and freed
    finally:
        gc.unfreeze()
