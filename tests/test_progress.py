"""store.progress: drawn on a terminal, rate-limited, silent elsewhere.

No database: the bar is rendered into a fake terminal (``isatty()`` true)
and a plain stream, with a fake clock so rates and redraws are exact.
"""
from __future__ import annotations

import io

import pytest

from store.progress import Progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TTY(io.StringIO):
    def isatty(self):
        return True


def frames(stream):
    """The successive states drawn (each redraw starts with a carriage return)."""
    return [f.rstrip() for f in stream.getvalue().split("\r") if f]


def test_draws_label_counts_bar_and_rate_on_a_terminal():
    clock, tty = Clock(), TTY()
    bar = Progress(tty, clock=clock, width=200)
    bar.start("backlog.features", total=200)
    clock.now += 2.0
    bar.advance(50)
    assert frames(tty)[-1] == ("backlog.features  [#####---------------]   25%  "
                               "50/200 rows  25 rows/s")
    clock.now += 2.0
    bar.advance(150)
    bar.finish()
    assert frames(tty)[-1] == ("backlog.features  [####################]  100%  "
                               "200/200 rows  50 rows/s")
    assert tty.getvalue().endswith("\n")                     # the final line stays


def test_redraws_are_rate_limited():
    clock, tty = Clock(), TTY()
    bar = Progress(tty, clock=clock, interval=0.5, width=200)
    bar.start("t", total=1000)
    for _ in range(100):                     # a tight loop: no time passes
        bar.advance(1)
    assert len(frames(tty)) == 1             # only the first draw (at start)
    clock.now += 0.6
    bar.advance(1)
    assert len(frames(tty)) == 2 and "101/1,000 rows" in frames(tty)[-1]
    clock.now += 0.1
    bar.advance(1)
    assert len(frames(tty)) == 2             # within the interval again
    bar.finish()                             # the final state is always drawn
    assert "102/1,000 rows" in frames(tty)[-1]


@pytest.mark.parametrize("stream, quiet", [(io.StringIO(), False), (TTY(), True)],
                         ids=["not-a-terminal", "quiet"])
def test_silent_when_not_a_terminal_or_quiet(stream, quiet):
    clock = Clock()
    bar = Progress(stream, quiet=quiet, clock=clock)
    assert not bar.enabled
    with bar.task("inventory.detections", total=10) as task:
        clock.now += 1
        task.advance(10)
    assert list(bar.track(range(3), "x")) == [0, 1, 2]
    assert stream.getvalue() == ""


def test_without_total_shows_count_and_rate_and_fits_the_width():
    clock, tty = Clock(), TTY()
    bar = Progress(tty, clock=clock, width=30, unit="items")
    items = list(bar.track(iter(range(1234)), "a-rather-long-label-for-a-table"))
    assert items == list(range(1234))
    last = frames(tty)[-1]
    assert len(last) <= 29                    # one column short of the width
    assert last.startswith("a-rather-long-label-for-a-tab")
    wide = Progress(TTY(), clock=clock, width=200, unit="items")
    wide.start("t")
    clock.now += 2
    wide.advance(1234)
    assert wide.line() == "t  1,234 items  617 items/s"


def test_a_shorter_line_wipes_the_longer_one_before_it():
    clock, tty = Clock(), TTY()
    bar = Progress(tty, clock=clock, width=200)
    bar.start("t")
    clock.now += 1
    bar.advance(10_000)                       # "t  10,000 rows  10,000 rows/s"
    clock.now += 999
    bar.advance(1)                            # "t  10,001 rows  10 rows/s": shorter
    long, short = tty.getvalue().split("\r")[-2:]
    assert short.rstrip() == "t  10,001 rows  10 rows/s"
    assert len(short) == len(long)            # padded with spaces over the old text


def test_a_dump_shows_each_table_on_a_terminal_only(db, tmp_path):
    """The bar as long operations use it, on both backends."""
    from pathlib import Path

    from store import migrate as runner
    from store.migrate import load_app
    from store.namespaces import bind_app
    from store.transfer import dump_database

    app = load_app("backlog", root=Path(__file__).resolve().parents[1] / "migrations")
    runner.migrate(db, [app])
    bind_app(db, app)
    from store.apps.backlog import Project
    for name in ("a", "b", "c"):
        Project.create(name=name)
    tty, pipe = TTY(), io.StringIO()
    dump_database(db, [app], tmp_path / "tty", batch_size=2, progress=Progress(tty))
    dump_database(db, [app], tmp_path / "pipe", progress=Progress(pipe))
    shown = frames(tty)
    assert any(f.startswith("backlog.projects  [####################]  100%  3/3 rows")
               for f in shown)
    assert any(f.startswith("backlog.event_log  0 rows") for f in shown)   # empty: no total
    assert pipe.getvalue() == ""


def test_migrate_draws_progress_on_a_terminal_only(db, tmp_path):
    """One task per app, advanced per migration; silent off a terminal."""
    import io
    from store.migrate import App, migrate as migrate_apps
    from store.progress import Progress

    folder = tmp_path / "migrations" / "bar"
    folder.mkdir(parents=True)
    for i in (1, 2, 3):
        (folder / f"00{i}_step.py").write_text(
            f"def migrate(migrator, database, fake=False):\n"
            f"    migrator.sql('CREATE TABLE bar_{i} (id INTEGER PRIMARY KEY)')\n\n"
            f"def rollback(migrator, database, fake=False):\n"
            f"    migrator.sql('DROP TABLE bar_{i}')\n")

    class Tty(io.StringIO):
        def isatty(self):
            return True

    screen, pipe = Tty(), io.StringIO()
    app = App("bar", [], folder)
    migrate_apps(db, [app], to="002_step", progress=Progress(screen, unit="migrations"))
    assert "bar migrations" in screen.getvalue() and "2/2 migrations" in screen.getvalue()
    migrate_apps(db, [app], progress=Progress(pipe, unit="migrations"))
    assert pipe.getvalue() == ""
    assert db.table_exists("bar_3")
