"""The Gradio chat: persona and instruction dropdowns, streamed answers, history per browser session."""

import gradio as gr
from langchain_core.language_models import BaseChatModel

from bot.chain import MAX_MESSAGE_CHARS, build_chain
from bot.errors import TandemError
from bot.personas import Catalog

QUEUE_SIZE = 16
"""Requests waiting beyond this get "queue is full" at once instead of an endless spinner."""


def new_session() -> dict:
    """One browser session's state: what the chat shows, and the persona of the last answer."""
    return {"messages": [], "persona": None}


def model_history(messages: list[dict]) -> list[dict]:
    """The turns the model should see: user and assistant messages, not the app's own notices."""
    return [{"role": m["role"], "content": m["content"]} for m in messages if not m.get("metadata")]


def notice(title: str, text: str) -> dict:
    return {"role": "assistant", "content": text, "metadata": {"title": title}}


def build_app(chat_model: BaseChatModel, catalog: Catalog, model_description: str,
              max_chars: int = MAX_MESSAGE_CHARS, queue_size: int = QUEUE_SIZE) -> gr.Blocks:
    chain = build_chain(chat_model, catalog, max_chars)

    def respond(message: str, persona_id: str, instruction_id: str, session: dict):
        """Stream one answer; yields (chat, session, textbox, status) after every token."""
        session = {"messages": list(session["messages"]), "persona": session["persona"]}
        messages = session["messages"]
        try:
            persona = catalog.persona(persona_id)
            inputs = {"question": message, "persona": persona_id, "instruction": instruction_id,
                      "history": model_history(messages)}
            stream = chain.stream(inputs)
            first = next(stream, "")  # validation errors surface here, before anything is shown
        except TandemError as error:
            yield messages, session, message, f"⚠️ {error}"
            return
        if session["persona"] not in (None, persona_id):
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

    def clear():
        return [], new_session(), ""

    persona_choices = [(p.label(), p.id) for p in catalog.personas.values()]
    instruction_choices = [(i.title, i.id) for i in catalog.instructions.values()]
    with gr.Blocks(title="Tandem chat") as app:
        gr.Markdown(f"## Tandem chat\n**Model:** {model_description}")
        if catalog.errors:
            gr.Markdown("⚠️ Skipped files that did not load:\n" + "\n".join(f"- `{e}`" for e in catalog.errors))
        with gr.Row():
            persona = gr.Dropdown(persona_choices, value=catalog.default_persona, label="Persona (audience)")
            instruction = gr.Dropdown(instruction_choices, value=catalog.default_instruction, label="Instruction")
        session = gr.State(new_session())
        # Ungrouped, so a "Persona switched" notice stands alone instead of inside the previous answer.
        chat = gr.Chatbot(label="Conversation", height=480, group_consecutive_messages=False)
        with gr.Row():
            text = gr.Textbox(placeholder=f"Ask a question (up to {max_chars:,} characters)", show_label=False,
                              scale=1, max_lines=8, autofocus=True)
            send = gr.Button("Send", variant="primary", scale=0, min_width=90)
            stop = gr.Button("Stop", variant="stop", scale=0, min_width=90)
            reset = gr.Button("Clear", scale=0, min_width=90)
        status = gr.Markdown()
        io = dict(fn=respond, inputs=[text, persona, instruction, session], outputs=[chat, session, text, status])
        sent = send.click(**io, api_name="respond")
        submitted = text.submit(**io, api_name=False)
        stop.click(None, cancels=[sent, submitted])
        reset.click(clear, outputs=[chat, session, status], api_name="clear")
        chat.clear(clear, outputs=[chat, session, status], api_name=False)  # the chat's own trash icon
    app.queue(max_size=queue_size, default_concurrency_limit=1)
    return app
