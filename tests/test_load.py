"""Under load: 20 browser sessions × 10 turns at once, through gradio_client, with the conversation log on."""

import threading
import uuid

from gradio_client import Client

from bot.app import build_app
from bot.personas import load_catalog
from bot.store import ConversationStore
from tests.conftest import serving, text_of

SESSIONS, TURNS = 20, 10


def test_concurrent_sessions_log_every_turn_once_and_never_mix_histories(echo_model, tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    # The queue must hold every session's pending request; the default (16) would turn some away,
    # which is tested in test_app.py. Here the point is isolation and logging.
    app = build_app(echo_model, load_catalog(), echo_model.describe(), store=store, queue_size=SESSIONS * 2)
    personas = ["support", "plain", "executive", "engineer"]
    sent: dict[int, list[str]] = {}
    last: dict[int, tuple] = {}
    failures: list[BaseException] = []

    def converse(url: str, session: int) -> None:
        try:
            client = Client(url, verbose=False)
            sent[session] = []
            for turn in range(TURNS):
                nonce = f"nonce-{session}-{turn}-{uuid.uuid4().hex[:8]}"
                sent[session].append(nonce)
                last[session] = client.predict(nonce, personas[session % len(personas)], "direct",
                                               api_name="/respond")
        except BaseException as error:  # reported below, in the test's own thread
            failures.append(error)

    with serving(app) as url:
        threads = [threading.Thread(target=converse, args=(url, i)) for i in range(SESSIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert not failures, failures[:3]

    all_nonces = {nonce: session for session, nonces in sent.items() for nonce in nonces}
    for session, nonces in sent.items():
        chat, _, status = last[session]
        assert status == ""
        shown = " ".join(text_of(m) for m in chat)
        assert [text_of(m) for m in chat if m["role"] == "user"] == nonces
        strangers = [n for n, owner in all_nonces.items() if owner != session and n in shown]
        assert strangers == [], f"session {session} shows another session's messages: {strangers[:3]}"

    turns = store.turns()
    assert sorted(t["question"] for t in turns) == sorted(all_nonces), "every turn logged exactly once"
    by_session: dict[str, list[dict]] = {}
    for turn in turns:
        by_session.setdefault(turn["session_id"], []).append(turn)
    assert len(by_session) == SESSIONS
    for logged in by_session.values():
        owner = all_nonces[logged[0]["question"]]
        assert all(all_nonces[t["question"]] == owner for t in logged), "one log session per browser session"
        for turn in logged:
            strangers = [n for n, o in all_nonces.items() if o != owner and n in turn["answer"]]
            assert strangers == [], f"an answer carries another session's nonce: {strangers[:3]}"
            assert turn["persona_id"] == personas[owner % len(personas)]
