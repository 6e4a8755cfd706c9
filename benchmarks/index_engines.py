"""The prototype that chose the knowledge index's embedded engine: four engines at N passages, each measured for
build, start-up with an existing index, query latency and resident memory (benchmarks/README.md, "The knowledge
index"). The engines are not Tandem's dependencies; the prototype runs with them beside the virtualenv:

    .venv/bin/pip install --target /tmp/engines -c constraints.txt sqlite-vec==0.1.9 pysqlite3-binary==0.5.4.post2 \
        faiss-cpu==1.15.1 lancedb==0.40.0 pylance==14.0.2 "lance-namespace>=0.13,<0.14" deprecation overrides
    .venv/bin/python benchmarks/knowledge_index.py --sizes 10000 --stores sqlite   # the passages and their vectors
    PYTHONPATH=/tmp/engines .venv/bin/python benchmarks/index_engines.py build ENGINE 10000
    PYTHONPATH=/tmp/engines .venv/bin/python benchmarks/index_engines.py open ENGINE 10000   # a fresh process

ENGINE: sqlite-numpy (FTS5 for the words, vectors as BLOBs read into numpy: what Tandem ships), sqlite-vec (FTS5
and a vec0 table; Python's own sqlite3 here cannot load extensions, so through pysqlite3), faiss (a flat inner-product
index file, FTS5 beside it for the words) and lancedb (its own full-text index and vector search). The query
vectors come from the cache, so latency is the engine's: BM25 top 20 and vector top 20 for 50 questions.
"""

import json
import os
import shutil
import sqlite3
import statistics
import sys
import time

import numpy as np

from bot.index import FTS_TOKENIZER as TOKENIZER
from bot.retrieval import words
from contract_corpus import questions, write_corpus
from knowledge_index import WORK, CachedEmbedder


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fts_query(text: str) -> str:
    return " OR ".join(f'"{w}"' for w in words(text))


def build_sqlite(path, passages, vectors, vec0=False):
    con = connect(path, vec0)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE passages (id INTEGER PRIMARY KEY, text TEXT, metadata TEXT, vector BLOB)")
    con.execute(f"CREATE VIRTUAL TABLE lexical USING fts5(words, tokenize=\"{TOKENIZER}\")")
    if vec0:
        con.execute(f"CREATE VIRTUAL TABLE dense USING vec0(embedding float[{vectors.shape[1]}] distance_metric=cosine)")
    with con:
        for i, (p, v) in enumerate(zip(passages, vectors), start=1):
            con.execute("INSERT INTO passages VALUES (?, ?, ?, ?)", (i, p["text"], json.dumps(p), v.tobytes()))
            con.execute("INSERT INTO lexical (rowid, words) VALUES (?, ?)", (i, " ".join(words(p["text"]))))
            if vec0:
                con.execute("INSERT INTO dense (rowid, embedding) VALUES (?, ?)", (i, v.tobytes()))
    con.close()


def connect(path, vec0=False):
    if not vec0:
        return sqlite3.connect(path)
    import pysqlite3
    import sqlite_vec
    con = pysqlite3.connect(path)
    con.enable_load_extension(True)
    sqlite_vec.load(con)
    return con


class SqliteNumpy:
    def __init__(self, path):
        self.con = sqlite3.connect(path, check_same_thread=False)
        rows = self.con.execute("SELECT id, vector FROM passages ORDER BY id").fetchall()
        self.ids = np.array([r[0] for r in rows])
        self.vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)

    def lexical(self, text, depth=20):
        return [r[0] for r in self.con.execute("SELECT rowid FROM lexical WHERE lexical MATCH ? ORDER BY bm25(lexical), rowid "
                                               "LIMIT ?", (fts_query(text), depth))]

    def dense(self, vector, depth=20):
        return self.ids[np.argsort(-(self.vectors @ vector), kind="stable")[:depth]].tolist()


class SqliteVec(SqliteNumpy):
    def __init__(self, path):
        self.con = connect(path, vec0=True)

    def dense(self, vector, depth=20):
        return [r[0] for r in self.con.execute("SELECT rowid FROM dense WHERE embedding MATCH ? AND k = ? ORDER BY distance",
                                               (vector.tobytes(), depth))]


def build_faiss(path, passages, vectors):
    import faiss
    os.makedirs(path, exist_ok=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    faiss.write_index(index, f"{path}/vectors.faiss")
    con = sqlite3.connect(f"{path}/lexical.sqlite3")
    con.execute(f"CREATE VIRTUAL TABLE lexical USING fts5(words, tokenize=\"{TOKENIZER}\")")
    con.execute("CREATE TABLE passages (id INTEGER PRIMARY KEY, text TEXT, metadata TEXT)")
    with con:
        for i, p in enumerate(passages):
            con.execute("INSERT INTO passages VALUES (?, ?, ?)", (i, p["text"], json.dumps(p)))
            con.execute("INSERT INTO lexical (rowid, words) VALUES (?, ?)", (i, " ".join(words(p["text"]))))
    con.close()


class Faiss(SqliteNumpy):
    def __init__(self, path):
        import faiss
        self.index = faiss.read_index(f"{path}/vectors.faiss")
        self.con = sqlite3.connect(f"{path}/lexical.sqlite3")

    def dense(self, vector, depth=20):
        return self.index.search(vector[None, :], depth)[1][0].tolist()


def build_lance(path, passages, vectors):
    import lancedb
    import pyarrow as pa
    db = lancedb.connect(path)
    table = pa.table({"id": list(range(len(passages))), "text": [p["text"] for p in passages],
                      "words": [" ".join(words(p["text"])) for p in passages],
                      "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])})
    t = db.create_table("passages", table)
    t.create_fts_index("words", base_tokenizer="whitespace", lower_case=False, stem=False, remove_stop_words=False,
                       ascii_folding=False)


class Lance:
    def __init__(self, path):
        import lancedb
        self.table = lancedb.connect(path).open_table("passages")

    def lexical(self, text, depth=20):
        return self.table.search(" ".join(words(text)), query_type="fts").select(["id"]).limit(depth).to_list()

    def dense(self, vector, depth=20):
        return self.table.search(vector).metric("cosine").select(["id"]).limit(depth).to_list()


ENGINES = {"sqlite-numpy": (lambda p, ps, v: build_sqlite(p, ps, v), SqliteNumpy),
           "sqlite-vec": (lambda p, ps, v: build_sqlite(p, ps, v, vec0=True), SqliteVec),
           "faiss": (build_faiss, Faiss), "lancedb": (build_lance, Lance)}


def main():
    action, engine, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    path = str(WORK / f"engine-{engine}-{n}")
    if action == "build":
        from bot.documents import file_passages, knowledge_files

        corpus = write_corpus(WORK / f"corpus-{n}", n)
        passages = [{"text": p.page_content, **p.metadata} for file in knowledge_files(corpus)
                    for p in file_passages(file, str(file.relative_to(corpus)))]
        vectors = CachedEmbedder()([p["text"] for p in passages])
        shutil.rmtree(path, ignore_errors=True)
        if os.path.exists(path):
            os.remove(path)
        start = time.perf_counter()
        ENGINES[engine][0](path, passages, vectors)
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) if os.path.isdir(path) \
            else os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
        print(json.dumps({"engine": engine, "n": n, "build_s": round(time.perf_counter() - start, 2),
                          "disk_mb": round(size / 2**20, 1)}))
        return
    asked = questions(50, n)
    query_vectors = np.load(WORK / f"questions-{n}.npy")
    before = rss_mb()
    start = time.perf_counter()
    store = ENGINES[engine][1](path)
    store.lexical(asked[0]), store.dense(query_vectors[0])  # first query: lazy loading counts as start-up
    startup = time.perf_counter() - start
    times = []
    for text, vector in zip(asked, query_vectors):
        t = time.perf_counter()
        store.lexical(text)
        store.dense(vector)
        times.append(1000 * (time.perf_counter() - t))
    times.sort()
    print(json.dumps({"engine": engine, "n": n, "startup_s": round(startup, 3), "median_ms": round(statistics.median(times), 2),
                      "p95_ms": round(times[int(0.95 * len(times)) - 1], 2), "rss_added_mb": round(rss_mb() - before, 1),
                      "rss_mb": round(rss_mb(), 1)}))


if __name__ == "__main__":
    main()
