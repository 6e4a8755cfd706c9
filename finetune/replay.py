"""Keeping general ability: the base model's own answers to general questions, replayed in training.

A LoRA trained only on one domain drifts: asked "what is the capital of France?" it starts talking
about refunds (the drift check in `tandem eval` measures this). Mixing in the base model's own greedy
answers to a set of general questions, rendered like every other example, anchors the adapter to the
base model outside the domain. The questions here are not the drift check's questions.
"""

import hashlib
import json
import sys
from pathlib import Path

from bot.chain import build_chain
from bot.files import write_atomically
from bot.backends import default_backend
from bot.chat_model import load_chat_model
from bot.models import LoadedModel
from bot.paths import tandem_home
from bot.personas import Catalog
from finetune.data import Example

REPLAY_QUESTIONS = Path(__file__).resolve().parent / "replay_questions.jsonl"
MAX_NEW_TOKENS = 128


def replay_examples(loaded: LoadedModel, catalog: Catalog, count: int, path: Path = REPLAY_QUESTIONS) -> list[Example]:
    """Up to `count` general questions, each with the base model's greedy answer (no persona, no passages)."""
    if count <= 0:
        return []
    questions = [json.loads(line)["question"] for line in Path(path).read_text(encoding="utf-8").splitlines()
                 if line.strip()][:count]
    cache = _cache_file(loaded, catalog, questions)
    if cache.is_file():  # the same model asked the same way answers the same: greedy decoding
        return [Example(**record, category="general") for record in map(json.loads, cache.read_text().splitlines())]
    examples = _answer(loaded, catalog, questions, path)
    with write_atomically(cache) as staged:
        staged.write_text("".join(json.dumps({"question": e.question, "answer": e.answer, "source": e.source}) + "\n"
                                  for e in examples))
    return examples


def _cache_file(loaded: LoadedModel, catalog: Catalog, questions: list[str]) -> Path:
    """Keyed by everything the answers depend on: the weights, the prompts as rendered, the decoding."""
    import torch

    digest = hashlib.sha256()
    with torch.no_grad():
        for tensor in loaded.model.state_dict().values():
            digest.update(tensor.float().sum().item().hex().encode())  # cheap and sensitive to any change of weights
    instruction = catalog.instruction(catalog.default_instruction)
    digest.update(json.dumps([questions, instruction.content_hash, loaded.tokenizer.chat_template, MAX_NEW_TOKENS,
                              "greedy", default_backend()]).encode())
    return tandem_home() / "replay" / f"{digest.hexdigest()[:16]}.jsonl"


def _answer(loaded: LoadedModel, catalog: Catalog, questions: list[str], path: Path) -> list[Example]:
    print(f"tandem: answering {len(questions)} general questions with the base model (replayed to keep its "
          "general ability)", file=sys.stderr, flush=True)
    # On the default backend, which decodes several times faster than this torch model in batches (on the 0.5B
    # default: minutes of a training run); the answers are the base model's own, in int8 arithmetic there.
    chat_model = load_chat_model(loaded.name, None, temperature=0, max_new_tokens=MAX_NEW_TOKENS)
    chain = build_chain(chat_model, catalog, as_message=True)
    answers = chain.batch([{"question": q, "persona": None, "retrieval": False} for q in questions],
                          config={"max_concurrency": chat_model.max_batch})
    # An answer cut off by the token cap would teach the model to stop mid-sentence: only whole ones are kept.
    return [Example(q, a.content.strip(), category="general", source=f"{path.name}:{n}")
            for n, (q, a) in enumerate(zip(questions, answers), start=1)
            if a.content.strip() and a.response_metadata.get("finish_reason") == "stop"]
