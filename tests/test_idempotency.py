"""store.idempotency: a message key is processed exactly once -- duplicates
skip the work, a failure records nothing, and racing threads or processes
with the same key run the work once -- on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time

import pytest

import store
from store.idempotency import Outcome, claim, once, process_once

UTC = dt.timezone.utc


class Processed(store.Model):
    message_id = store.CharField(max_length=100, primary_key=True)
    processed_at = store.DateTimeTZField(default=store.utcnow)


class Effect(store.Model):
    """What the work writes: one row per run."""
    message_id = store.CharField(max_length=100)
    worker = store.TextField()


class Pair(store.Model):
    a = store.IntegerField()
    b = store.IntegerField()

    class Meta:
        primary_key = store.CompositeKey("a", "b")


@pytest.fixture
def models(db, tables):
    tables(Processed, Effect)


def work(message_id, worker="main", fail=False, pause=0.0):
    Effect.create(message_id=message_id, worker=worker)
    if pause:
        time.sleep(pause)              # widen the race window
    if fail:
        raise RuntimeError("handler failed")
    return f"done {message_id}"


def recorded():
    return sorted(p.message_id for p in Processed.select())


def effects():
    return sorted((e.message_id, e.worker) for e in Effect.select())


def test_sequential_duplicate_runs_once(db, models):
    first = process_once(db, Processed, "m1", work, "m1")
    again = process_once(db, Processed, "m1", work, "m1", worker="second")
    other = process_once(db, Processed, "m2", work, "m2")
    assert first == Outcome(True, "done m1") and first
    assert again == Outcome(False, None) and not again
    assert other.ran and other.result == "done m2"
    assert recorded() == ["m1", "m2"]
    assert effects() == [("m1", "main"), ("m2", "main")]


def test_once_context_manager(db, models):
    seen = []
    for _ in range(2):
        with once(db, Processed, "m1") as first:
            seen.append(first)
            if first:
                work("m1")
    assert seen == [True, False]
    assert effects() == [("m1", "main")]


def test_failure_records_nothing_and_retry_runs(db, models):
    with pytest.raises(RuntimeError, match="handler failed"):
        process_once(db, Processed, "m1", work, "m1", fail=True)
    assert recorded() == [] and effects() == []       # work and record rolled back together
    retry = process_once(db, Processed, "m1", work, "m1", worker="retry")
    assert retry.ran and recorded() == ["m1"] and effects() == [("m1", "retry")]


def test_failure_in_once_block_rolls_back(db, models):
    with pytest.raises(KeyError):
        with once(db, Processed, "m1") as first:
            assert first
            work("m1")
            raise KeyError("boom")
    assert recorded() == [] and effects() == []


def test_values_fill_other_columns(db, models):
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert process_once(db, Processed, "m1", work, "m1", values={"processed_at": when}).ran
    assert Processed.get_by_id("m1").processed_at == when


def test_nested_in_outer_transaction_commits_with_it(db, models):
    with pytest.raises(ZeroDivisionError):
        with db.atomic():
            assert process_once(db, Processed, "m1", work, "m1").ran
            1 / 0
    assert recorded() == [] and effects() == []
    with db.atomic():
        assert process_once(db, Processed, "m1", work, "m1").ran
        assert not process_once(db, Processed, "m1", work, "m1").ran
    assert recorded() == ["m1"] and effects() == [("m1", "main")]


def test_bad_keys_refused_before_the_database(db, models):
    with pytest.raises(store.ValidationError) as info:
        process_once(db, Processed, "x" * 101, work, "long")
    assert info.value.field == "processed.message_id"
    with pytest.raises(store.ValidationError) as info:
        process_once(db, Processed, None, work, "none")
    assert info.value.field == "processed.message_id"
    assert recorded() == [] and effects() == []
    assert process_once(db, Processed, "x" * 100, work, "x" * 100).ran


def test_composite_key_model_refused():
    with pytest.raises(store.ConfigError, match="Pair: idempotency needs a single-column"):
        claim(None, Pair, (1, 2))


def test_threads_racing_run_once(db, models):
    n = 8
    barrier = threading.Barrier(n)
    outcomes, errors = [], []

    def racer(i):
        try:
            barrier.wait(timeout=10)
            outcomes.append(process_once(db, Processed, "race", work, "race",
                                         worker=f"t{i}", pause=0.02))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            db.close()                  # this thread's own connection

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(outcomes) == n
    assert sum(o.ran for o in outcomes) == 1
    assert recorded() == ["race"]
    assert len(effects()) == 1


def _process_racer(url, barrier, results, index):
    """Runs in a spawned process: its own interpreter and connection."""
    db = store.connect(url, models=[Processed, Effect])
    try:
        barrier.wait(timeout=30)
        outcome = process_once(db, Processed, "race", work, "race",
                               worker=f"p{index}", pause=0.05)
        results.put((index, outcome.ran))
    except Exception as exc:  # noqa: BLE001 - sent to the parent
        results.put((index, repr(exc)))
    finally:
        db.close()


def test_processes_racing_run_once(db, models, backend_url):
    n = 3
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    procs = [ctx.Process(target=_process_racer, args=(backend_url, barrier, results, i))
             for i in range(n)]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in range(n)]
    for p in procs:
        p.join(timeout=30)
        if p.is_alive():
            p.terminate()
    assert sorted(ran for _, ran in got) == [False] * (n - 1) + [True], got
    assert recorded() == ["race"]
    assert len(effects()) == 1
    winner = next(i for i, ran in got if ran is True)
    assert effects() == [("race", f"p{winner}")]
