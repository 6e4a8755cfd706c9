"""The Gradio app: the chat (persona and instruction dropdowns, streamed answers, history per browser
session, optional retrieval grounding), a compare view (one question, up to four model × persona ×
instruction combinations side by side), the rated answers, and how each persona version has done (Prompts)."""

import io
import time
import types
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.retrievers import BaseRetriever

from bot.answering import Answerer, Turn, new_session_id
from bot.chain import MAX_MESSAGE_CHARS
from bot.citations import Source, citation_label, source_of, sources_line
from bot.errors import TandemError
from bot.flags import chat_model_from_flags, check_knowledge, retriever_from_flags, store_from_flags
from bot.persona_stats import HEADERS, plot_stats, stats_rows, version_stats
from bot.personas import Catalog, catalog_from_flags
from bot.store import ConversationStore
from bot.userinput import printable

QUEUE_SIZE = 16
"""Requests waiting beyond this get "queue is full" at once instead of an endless spinner."""
COMPARE_SLOTS = 4
TUNED, BASE = "tuned (base + adapter)", "base (adapter off)"
ALL, UP, DOWN = "all", "thumbs up", "thumbs down"


@dataclass(frozen=True)
class AppContext:
    """What every handler of one app shares; per-browser state lives in the session dict instead."""

    answerer: Answerer
    """Answers every chat and compare request, and logs it (`bot.answering`)."""
    has_adapter: bool
    """Offer base and tuned in the compare view."""
    reports: tuple[Path, ...] = (Path("reports"),)
    """Reports (or folders of them) whose figures the Prompts tab shows per persona version."""

    @property
    def catalog(self) -> Catalog:
        return self.answerer.catalog

    @property
    def max_chars(self) -> int:
        return self.answerer.max_chars

    @property
    def retriever(self) -> BaseRetriever | None:
        """None: no knowledge is loaded and the grounding toggles are off."""
        return self.answerer.retriever

    @property
    def store(self) -> ConversationStore | None:
        """None: nothing is logged and answers cannot be rated."""
        return self.answerer.store


def new_session() -> dict:
    """One browser session's state: what the chat shows, the persona of the last answer, its id in the
    conversation log and in the model's history, which logged turn each answer is (by message index), and the turn
    awaiting a correction."""
    return {"messages": [], "persona": None, "id": uuid.uuid4().hex, "turns": {}, "pending": None}


def notice(title: str, text: str) -> dict:
    return {"role": "assistant", "content": text, "metadata": {"title": title}}


def show_passages(passages: list[Document], cited: list[Source] = ()) -> str:
    """Passages as Markdown, numbered as the model saw them, each headed by its document, section and page and
    marked when the answer cites it; their own Markdown is shown as plain text."""
    cited_texts = {source.text for source in cited}
    shown = []
    for number, passage in enumerate(passages, start=1):
        record = source_of(passage, number)
        where = citation_label(record.source, record.section, record.page)  # "" when it says nothing of that
        heading = f"**[{number}] {_plain(where)}**" if where else f"**[{number}]**"
        mark = " · cited" if passage.page_content in cited_texts else ""
        shown.append(f"{heading}{mark}  \n{_plain(passage.page_content)}")
    return "\n\n".join(shown)


def passages_notice(turn: Turn) -> dict:
    """The passages a grounded answer was given, folded under it; the fold's title names the sources the answer
    cites when its persona shows them (`Persona.citations`)."""
    line = sources_line(turn.sources, turn.citations)
    count = len(turn.passages)
    title = f"{line} · {count} passage{'s' if count != 1 else ''} given" if line else \
        f"Passages this answer was given ({count})"
    return notice(title, show_passages(turn.passages, turn.sources))


def _plain(text: str) -> str:
    """Text shown as it is in Markdown: its line breaks kept, its emphasis and headings not rendered."""
    return text.replace("\n", "  \n").replace("*", "\\*").replace("#", "\\#")


# Handlers: each takes the app's context first; `bound` hands Gradio the rest of the signature. -------------

def respond(context: AppContext, message: str, persona_id: str, instruction_id: str, session: dict,
            grounded: bool = False):
    """Stream one answer; yields (chat, session, textbox, status) after every token. The model's history is the
    session's, kept by the answerer under the session's id."""
    session = {**session, "messages": list(session["messages"]), "turns": dict(session["turns"])}
    messages = session["messages"]
    turn = Turn(message, session["id"], persona_id, instruction_id, retrieval=bool(grounded))
    stream = context.answerer.stream(turn)
    try:
        first = next(stream, "")  # refusals surface here, before anything is shown
    except TandemError as error:
        yield messages, session, message, f"⚠️ {error}"
        return
    if session["persona"] not in (None, persona_id):
        persona = context.catalog.persona(persona_id)
        messages.append(notice("Persona switched", f"Now answering as **{persona.title}** ({persona.audience})."))
    session["persona"] = persona_id
    messages += [{"role": "user", "content": message}, {"role": "assistant", "content": first}]
    yield messages, session, "", ""
    try:
        for token in stream:
            messages[-1] = {"role": "assistant", "content": messages[-1]["content"] + token}
            yield messages, session, "", ""
    finally:
        stream.close()  # on Stop, Gradio closes this generator: end generation now, not at max tokens
        # A stopped answer is logged as it stood (it cannot be rated: the last yield below never happens).
        if turn.logged_as is not None:
            session["turns"][str(len(messages) - 1)] = turn.logged_as
    if turn.passages:  # under the answer, folded, so a person can check it against its sources
        messages.append(passages_notice(turn))
    yield messages, session, "", ""  # the session now knows the answer's logged turn, for thumbs


def rate(context: AppContext, session: dict, liked: gr.LikeData):
    """Thumbs on an answer: stored at once; a thumbs-down opens the correction box for that turn."""
    turn = session["turns"].get(str(liked.index if isinstance(liked.index, int) else liked.index[0]))
    if context.store is None or turn is None:
        return session, gr.update(visible=False), "⚠️ This answer is not in the conversation log, so it cannot be rated."
    if liked.liked is True:
        context.store.rate(turn, +1)
        return {**session, "pending": None}, gr.update(visible=False), "👍 Thanks: rating saved."
    if liked.liked is False:
        context.store.rate(turn, -1)
        return ({**session, "pending": turn}, gr.update(visible=True),
                "👎 Rating saved. What should it have said? (optional)")
    return session, gr.update(), ""


def correct(context: AppContext, text: str, session: dict):
    """Save the correction for the answer last given a thumbs-down."""
    turn = session.get("pending")
    if context.store is None or turn is None:
        return session, gr.update(visible=False), "", "⚠️ Give an answer a thumbs-down first."
    if not text.strip():
        return session, gr.update(visible=True), text, "⚠️ The correction is empty."
    context.store.rate(turn, -1, text)
    return {**session, "pending": None}, gr.update(visible=False), "", "✅ Correction saved."


def clear():
    return [], new_session(), ""


def rated(context: AppContext, persona_filter: str, rating_filter: str) -> list[list[str]]:
    """The recently rated turns as table rows, newest first."""
    if context.store is None:
        return []
    rows = context.store.recent_rated(persona=None if persona_filter == ALL else persona_filter,
                                      rating={ALL: None, UP: 1, DOWN: -1}[rating_filter])
    return [[r["rated_at"][:19].replace("T", " "), r["persona_id"], UP if r["rating"] > 0 else DOWN,
             r["question"], r["answer"], r["correction"] or ""] for r in rows]


def prompt_stats(context: AppContext, persona_filter: str):
    """The Prompts tab's table (one row per persona version) and its chart, from the log and the reports."""
    from PIL import Image

    stats = version_stats(context.catalog, context.store, list(context.reports),
                          None if persona_filter == ALL else persona_filter)
    chart = io.BytesIO()
    if not plot_stats(stats, chart):
        return stats_rows(stats), None
    chart.seek(0)
    return stats_rows(stats), Image.open(chart)


def compare(context: AppContext, question: str, *slots):
    """Answer one question with each enabled combination in turn; yields every answer box and latency.
    Each answer goes into the conversation log, the answers of one comparison under one `compare:` session."""
    answers, latencies = [""] * COMPARE_SLOTS, [""] * COMPARE_SLOTS
    settings = [slots[i:i + 5] for i in range(0, 5 * COMPARE_SLOTS, 5)]
    chosen = [i for i, (enabled, *_) in enumerate(settings) if enabled]
    if not chosen:
        yield *answers, *latencies, "⚠️ Choose at least one combination."
        return
    session_id = new_session_id("compare")
    for i in chosen:
        enabled, model, persona_id, instruction_id, grounded = settings[i]
        turn = Turn(question, session_id, persona_id, instruction_id, history=[], retrieval=bool(grounded),
                    adapter=model != BASE)
        started = time.monotonic()
        first = None
        try:
            # An answer cut short is logged as it stood, like a chat answer stopped with Stop.
            for token in context.answerer.stream(turn):
                first = first or time.monotonic() - started
                answers[i] += token
                latencies[i] = f"first token {first:.1f} s · {time.monotonic() - started:.1f} s so far"
                yield *answers, *latencies, ""
        except TandemError as error:
            yield *answers, *latencies, f"⚠️ {error}"
            return
        total = time.monotonic() - started
        latencies[i] = f"first token {first or total:.1f} s · total {total:.1f} s"
        yield *answers, *latencies, ""


def bound(handler, context: AppContext):
    """`handler` with `context` as its first argument. Bound like a method rather than with
    functools.partial: Gradio reads a handler's annotations (gr.LikeData) and does not see through a partial."""
    return types.MethodType(handler, context)


# The page ------------------------------------------------------------------------------------------------

def build_app(chat_model: BaseChatModel, catalog: Catalog, model_description: str,
              max_chars: int = MAX_MESSAGE_CHARS, queue_size: int = QUEUE_SIZE,
              retriever: BaseRetriever | None = None, has_adapter: bool = False,
              store: ConversationStore | None = None, reports: list[Path] | None = None) -> gr.Blocks:
    """The app around one loaded model; `has_adapter` offers base and tuned in the compare view,
    `store` (None: nothing is logged) records every chat turn and its thumbs and corrections, and the Prompts
    tab reads figures from `reports` (default: reports/)."""
    context = AppContext(answerer=Answerer(chat_model, catalog, retriever, store, max_chars), has_adapter=has_adapter,
                         reports=tuple(reports) if reports is not None else (Path("reports"),))
    # Gradio's version check and telemetry would call out to the internet; Tandem runs offline.
    with gr.Blocks(title="Tandem chat", analytics_enabled=False) as app:
        gr.Markdown(f"## Tandem chat\n**Model:** {model_description}")
        if catalog.errors:
            gr.Markdown("⚠️ Skipped files that did not load:\n" + "\n".join(f"- `{e}`" for e in catalog.errors))
        with gr.Tab("Chat"):
            chat_tab(context)
        with gr.Tab("Compare"):
            compare_tab(context)
        with gr.Tab("Rated answers") as tab:
            rated_answers_tab(context, tab)
        with gr.Tab("Prompts") as tab:
            prompts_tab(context, tab)
    app.queue(max_size=queue_size, default_concurrency_limit=1)
    return app


def launch(app: gr.Blocks, host: str, port: int, auth: tuple[str, str] | None = None, block: bool = True) -> None:
    """Serve the app on host:port, and only there. `share=False` is said outright: left out, Gradio reads
    GRADIO_SHARE from the environment and would open a public tunnel past the --host/--auth check."""
    app.launch(server_name=host, server_port=port, auth=auth, share=False, quiet=True, show_error=True,
               prevent_thread_lock=not block)


def persona_choices(catalog: Catalog) -> list[tuple[str, str]]:
    return [(p.label(), p.id) for p in catalog.personas.values()]


def instruction_choices(catalog: Catalog) -> list[tuple[str, str]]:
    return [(i.title, i.id) for i in catalog.instructions.values()]


def chat_tab(context: AppContext) -> None:
    catalog, knowledge = context.catalog, context.retriever is not None
    with gr.Row():
        persona = gr.Dropdown(persona_choices(catalog), value=catalog.default_persona, label="Persona (audience)")
        instruction = gr.Dropdown(instruction_choices(catalog), value=catalog.default_instruction,
                                  label="Instruction")
        grounded = gr.Checkbox(value=knowledge, interactive=knowledge,
                               label="Ground answers in the knowledge base" if knowledge
                               else "Knowledge base (none loaded)", scale=0, min_width=200)
    session = gr.State(new_session)  # called per browser session: each gets its own log id
    # Ungrouped, so a "Persona switched" notice stands alone instead of inside the previous answer.
    chat = gr.Chatbot(label="Conversation", height=480, group_consecutive_messages=False,
                      feedback_options=("Like", "Dislike") if context.store is not None else None)
    with gr.Row():
        text = gr.Textbox(placeholder=f"Ask a question (up to {context.max_chars:,} characters)", show_label=False,
                          scale=1, max_lines=8, autofocus=True)
        send = gr.Button("Send", variant="primary", scale=0, min_width=90)
        stop = gr.Button("Stop", variant="stop", scale=0, min_width=90)
        reset = gr.Button("Clear", scale=0, min_width=90)
    with gr.Row(visible=False) as correction_row:
        correction = gr.Textbox(label="What should it have said?", lines=2, scale=1)
        save = gr.Button("Save correction", scale=0, min_width=150)
    status = gr.Markdown()
    chat.like(bound(rate, context), inputs=[session], outputs=[session, correction_row, status], api_name=False)
    save.click(bound(correct, context), inputs=[correction, session],
               outputs=[session, correction_row, correction, status], api_name="correct")
    io = dict(fn=bound(respond, context), inputs=[text, persona, instruction, session, grounded],
              outputs=[chat, session, text, status])
    sent = send.click(**io, api_name="respond")
    submitted = text.submit(**io, api_name=False)
    stop.click(None, cancels=[sent, submitted])
    reset.click(clear, outputs=[chat, session, status], api_name="clear")
    chat.clear(clear, outputs=[chat, session, status], api_name=False)  # the chat's own trash icon


def rated_answers_tab(context: AppContext, tab: gr.Tab) -> None:
    store = context.store
    if store is None:
        gr.Markdown("The conversation log is off (`--no-log`), so there are no ratings to show.")
        return
    gr.Markdown(f"Recently rated answers from the conversation log (`{store.location}`); "
                "`tandem data export` turns them into training data.")
    with gr.Row():
        persona = gr.Dropdown([ALL, *context.catalog.personas], value=ALL, label="Persona")
        rating = gr.Dropdown([ALL, UP, DOWN], value=ALL, label="Rating")
        refresh = gr.Button("Refresh", scale=0, min_width=120)
    table = gr.Dataframe(headers=["rated (UTC)", "persona", "rating", "question", "answer", "correction"],
                         datatype=["str"] * 6, interactive=False, wrap=True)
    for trigger in (refresh.click, persona.change, rating.change, tab.select):
        trigger(bound(rated, context), inputs=[persona, rating], outputs=table, api_name=False)


def prompts_tab(context: AppContext, tab: gr.Tab) -> None:
    log = "the conversation log is off (--no-log)" if context.store is None else f"`{context.store.location}`"
    gr.Markdown(f"Each persona version (content hash): turns, thumbs and latency from {log}, and the figures of "
                f"every report under {', '.join(f'`{r}`' for r in context.reports)} that measured it. "
                "`tandem personas diff ID` shows what changed between versions.")
    with gr.Row():
        persona = gr.Dropdown([ALL, *context.catalog.personas], value=ALL, label="Persona")
        refresh = gr.Button("Refresh", scale=0, min_width=120)
    table = gr.Dataframe(headers=HEADERS, datatype=["str"] * len(HEADERS), interactive=False, wrap=True)
    chart = gr.Image(label="Figures per version over time", type="pil", format="png", interactive=False)
    handler = bound(prompt_stats, context)
    refresh.click(handler, inputs=[persona], outputs=[table, chart], api_name="prompt_stats")
    for trigger in (persona.change, tab.select):
        trigger(handler, inputs=[persona], outputs=[table, chart], api_name=False)


def compare_tab(context: AppContext) -> None:
    catalog = context.catalog
    gr.Markdown("One question, answered by each chosen combination in turn (one model on this machine "
                "generates one answer at a time). Latency is measured from the moment each answer starts.")
    question = gr.Textbox(label="Question", placeholder=f"Ask a question (up to {context.max_chars:,} characters)",
                          max_lines=4)
    models = [TUNED, BASE] if context.has_adapter else [BASE]
    defaults = [(BASE, True), (TUNED, True), (BASE, False), (TUNED, False)]
    inputs, answers, latencies = [question], [], []
    with gr.Row():
        for i in range(COMPARE_SLOTS):
            model, enabled = defaults[i] if context.has_adapter else (BASE, i == 0)
            with gr.Column(min_width=220):
                inputs += [
                    gr.Checkbox(value=enabled, label=f"Combination {i + 1}"),
                    gr.Dropdown(models, value=model, label="Model"),
                    gr.Dropdown(persona_choices(catalog), value=catalog.default_persona, label="Persona"),
                    gr.Dropdown(instruction_choices(catalog), value=catalog.default_instruction, label="Instruction"),
                    gr.Checkbox(value=False, interactive=context.retriever is not None, label="Knowledge base"),
                ]
                answers.append(gr.Textbox(label="Answer", lines=8, interactive=False))
                latencies.append(gr.Markdown())
    run = gr.Button("Compare", variant="primary")
    status = gr.Markdown()
    handler = bound(compare, context)
    run.click(handler, inputs=inputs, outputs=[*answers, *latencies, status], api_name="compare")
    question.submit(handler, inputs=inputs, outputs=[*answers, *latencies, status], api_name=False)


# The command line --------------------------------------------------------------------------------------

def serve_from_flags(args) -> int:
    """`tandem serve`: check --host and --auth, load the model, and serve the app until interrupted."""
    auth = _auth_from_flags(args)
    catalog = catalog_from_flags(args, strict=False)
    check_knowledge(args)
    store = store_from_flags(args)
    chat_model = chat_model_from_flags(args)
    app = build_app(chat_model, catalog, chat_model.describe(), args.max_chars,
                    retriever=retriever_from_flags(args, chat_model), has_adapter=chat_model.adapter is not None,
                    store=store, reports=args.reports)
    print(f"Tandem chat on http://{args.host}:{args.port} ({printable(chat_model.describe())}); "
          + ("conversation log off" if store is None else f"conversation log: {printable(store.location)}"), flush=True)
    launch(app, args.host, args.port, auth)
    return 0


def _auth_from_flags(args) -> tuple[str, str] | None:
    """--auth USER:PASSWORD as a pair; a non-local --host without it is refused."""
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not (sep and user and password):
            raise TandemError("--auth takes USER:PASSWORD")
        auth = (user, password)
    if args.host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        raise TandemError(f"binding to {args.host} exposes the chat beyond this machine; add --auth USER:PASSWORD")
    return auth
