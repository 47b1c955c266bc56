"""What store's query rendering costs: CPU time to render three forecast
queries (a primary-key lookup selecting every column, a text filter with
ORDER BY, an UPDATE by key) to SQL, on SQLite and PostgreSQL, for this
checkout and for another one (``--store-path``, e.g. a ``git archive`` of an
older commit), in alternating processes; prints the best of the rounds and
the ratio this / other.

    python bench/bench_render.py --store-path /tmp/old    # /tmp/old/store is the baseline
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
import store
from store.apps.forecast import models as fm
url_pg, repeat = sys.argv[2], int(sys.argv[3])
res = {}
for url in (f"sqlite:///{tempfile.mkdtemp()}/r.db", url_pg):
    db = store.connect(url)
    db.bind_models(fm.MODELS)
    F = fm.Forecast
    pk = F._meta.primary_key
    text = [f for f in F._meta.sorted_fields if f.field_type in ("VARCHAR", "TEXT")][-1]
    queries = {"pk lookup": F.select().where(pk == "x").limit(1),
               "text order": F.select(pk).where(text > "a").order_by(text).limit(20),
               "update by pk": F.update({text: "y"}).where(pk == "x")}
    for name, q in queries.items():
        best = 1e9
        for _ in range(repeat):
            t = time.process_time()
            for _ in range(300):
                db.get_sql_context().sql(q).query()
            best = min(best, (time.process_time() - t) / 300 * 1e6)
        res[f"{db.features.name} {name}"] = best
    db.close()
print(json.dumps(res))
'''


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store-path", required=True,
                   help="a folder holding the baseline's store/ package")
    p.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    if not (Path(args.store_path) / "store" / "__init__.py").is_file():
        p.error(f"--store-path {args.store_path}: no store/__init__.py there")
    best = {"this": {}, "other": {}}
    for _ in range(args.rounds):
        for who, path in (("other", args.store_path), ("this", str(ROOT))):
            out = subprocess.run([sys.executable, "-c", CHILD, path, args.postgres_url,
                                  str(args.repeat)], capture_output=True, text=True, check=True)
            for key, value in json.loads(out.stdout).items():
                best[who][key] = min(best[who].get(key, 1e9), value)
    print(f"{'query':28s} {'other us':>9s} {'this us':>9s} {'this/other':>10s}")
    for key in best["this"]:
        a, b = best["other"][key], best["this"][key]
        print(f"{key:28s} {a:9.1f} {b:9.1f} {b / a:10.2f}")


if __name__ == "__main__":
    main()
