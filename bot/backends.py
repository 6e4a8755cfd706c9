"""Decode backends: transformers (the reference) or CTranslate2 (int8), converted once into the model store.

`--backend ctranslate2` converts the base model, and the base model with its adapter merged, into
`$TANDEM_HOME/models/ctranslate2/` the first time they are asked for, and serves both from there: the
base model for `"adapter": False` and the Compare tab, the merged one otherwise. `CT2Model` stands where
the transformers model stands in `bot.models.LoadedModel`: it answers the part of transformers'
`generate()` and of peft's `disable_adapter()` that `bot.chat_model.LocalChatModel` calls, so the chat
model (streaming, Stop, batching) and everything above it run on either backend unchanged.

Why CTranslate2 among the engines that install from a wheel: it converts a transformers Llama model from
a local directory with no network, its wheel needs nothing the project lacks, and it streams through a
per-token callback that also stops decoding. OpenVINO GenAI could not convert here (optimum-intel needs
transformers < 5.6); ONNX Runtime GenAI converts, but applies an adapter only baked into a second model,
like a merge, or as runtime LoRA through Olive. One difference stays: CTranslate2's repetition penalty
counts the answer's tokens, transformers' the prompt's too (`benchmarks/decode_backends.py` measures how
often the answers still agree).
"""

import hashlib
import json
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, get_args

from bot.files import write_atomically

Backend = Literal["transformers", "ctranslate2"]
BACKENDS: tuple[str, ...] = get_args(Backend)
DEFAULT_BACKEND: Backend = "transformers"
"""The reference; the default changes only on figures from benchmarks/decode_backends.py on a quiet machine."""
QUANTIZATION = "int8"
"""How CTranslate2 stores the weights: the matrices in int8, the rest in float32."""
MANIFEST = "tandem-ct2.json"
SAMPLING_TOP_K = 50
"""Sampling draws from the 50 likeliest tokens, as transformers' generate() does when a model sets no top_k."""


def ct2_store() -> Path:
    from bot.models import models_dir

    return models_dir() / "ctranslate2"


def ct2_model_dir(name: str, source: str, adapter: Path | None, quantization: str = QUANTIZATION) -> Path:
    """Where the conversion of this base model (+ merged adapter) lives: a new directory whenever a weights
    file changes. Files are fingerprinted by size and modification time, not content: hashing a 540 MB
    model on every start would cost seconds, and rewriting a file changes its time."""
    import ctranslate2

    digest = hashlib.sha256(f"{source}|{quantization}|ctranslate2 {ctranslate2.__version__}".encode())
    for directory in [Path(source), adapter]:
        if directory is not None and directory.is_dir():
            for path in sorted(directory.iterdir()):
                if path.suffix in (".safetensors", ".json"):
                    stat = path.stat()
                    digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    label = Path(name).name + (f"+{adapter.name}" if adapter is not None else "")
    return ct2_store() / f"{label}-{quantization}-{digest.hexdigest()[:12]}"


def is_converted(directory: Path) -> bool:
    # The manifest is written last, so its presence means the conversion completed.
    return (directory / MANIFEST).is_file()


def convert_model(name: str, source: str, adapter: Path | None, quantization: str = QUANTIZATION,
                  quiet: bool = False) -> Path:
    """The CTranslate2 conversion of base model `name` (+ `adapter`, merged into the weights), made once.

    The model loads through the one loader (`bot.models.load_model`) and is written as safetensors to a
    temporary directory that CTranslate2's converter reads; the result is renamed into the store whole.
    """
    from ctranslate2.converters import TransformersConverter
    from tqdm.auto import tqdm

    from bot.models import load_model

    target = ct2_model_dir(name, source, adapter, quantization)
    if is_converted(target):
        return target
    what = f"{name} + {adapter}" if adapter is not None else name
    started = time.monotonic()
    with tqdm(total=3, desc=f"CTranslate2: {what}", unit="step", disable=quiet) as bar, \
            tempfile.TemporaryDirectory(prefix=".convert-", dir=_made(ct2_store())) as tmp:
        bar.set_postfix_str("loading" + (" and merging the adapter" if adapter is not None else ""))
        loaded = load_model(name, adapter)
        model = loaded.model.merge_and_unload() if adapter is not None else loaded.model
        bar.update()
        bar.set_postfix_str("writing safetensors")
        model.save_pretrained(tmp, safe_serialization=True)
        loaded.tokenizer.save_pretrained(tmp)
        bar.update()
        bar.set_postfix_str(f"converting to {quantization}")
        with write_atomically(target) as staged:
            TransformersConverter(tmp).convert(str(staged), quantization=quantization)
            manifest = {"model": name, "source": source, "adapter": None if adapter is None else str(adapter),
                        "quantization": quantization, "end_ids": _end_ids(model.generation_config),
                        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        bar.update()
    if not quiet:
        print(f"converted {what} for CTranslate2 into {target} in {time.monotonic() - started:.0f} s", file=sys.stderr,
              flush=True)
    return target


def _made(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _end_ids(generation_config) -> list[int]:
    """The tokens transformers' generate() stops at, so CTranslate2 stops at the same ones."""
    eos = generation_config.eos_token_id
    return sorted({eos} if isinstance(eos, int) else set(eos or []))


def load_ct2_model(name: str, source: str, adapter: Path | None, quantization: str = QUANTIZATION) -> "CT2Model":
    """The base model and, with an adapter, the merged model as CTranslate2 generators (converted first when
    they are not in the store yet)."""
    base = convert_model(name, source, None, quantization)
    tuned = convert_model(name, source, adapter, quantization) if adapter is not None else None
    return CT2Model(base, tuned)


class CT2Model:
    """CTranslate2 generators behind transformers' `generate()` (the arguments LocalChatModel passes) and
    peft's `disable_adapter()`. Not re-entrant: LocalChatModel's lock guards every call, as for torch.

    Sampling draws from CTranslate2's own random generators, one per worker thread and seeded once, so a
    chat model's `seed` does not make sampled answers repeat here (greedy answers always do).

    A batch reads its prompts in one pass only up to the shortest prompt's length; the rest of each longer
    prompt goes in a token per step, while the shorter rows already answer, and those tokens count for the
    repetition penalty. So prompts of very different lengths make a batch slower, and its answers may differ
    from the same prompts' answers one at a time when the penalty is on.
    """

    def __init__(self, base_dir: Path, tuned_dir: Path | None):
        import ctranslate2
        import torch

        # As many threads as torch uses, so OMP_NUM_THREADS and torch.set_num_threads govern both backends.
        threads = torch.get_num_threads()
        self.base = ctranslate2.Generator(str(base_dir), device="cpu", intra_threads=threads)
        self.tuned = ctranslate2.Generator(str(tuned_dir), device="cpu", intra_threads=threads) if tuned_dir else None
        # The tokens transformers' generate() stops at; with none, the end token CTranslate2's converter recorded.
        self.end_ids = json.loads((base_dir / MANIFEST).read_text())["end_ids"]
        self._adapter_disabled = False

    @contextmanager
    def disable_adapter(self):
        """The base model answers until the block ends (peft's name for it)."""
        self._adapter_disabled = True
        try:
            yield
        finally:
            self._adapter_disabled = False

    def merge_adapter(self) -> None:
        """Nothing to do: the adapter was merged into the weights at conversion."""

    def generate(self, input_ids, attention_mask, tokenizer, max_new_tokens: int, repetition_penalty: float,
                 pad_token_id: int, do_sample: bool, temperature: float = 1.0, top_p: float = 1.0,
                 stop_strings: list[str] | None = None, streamer=None, stopping_criteria=()):
        """Prompt + answer token ids, one row per prompt padded on the right with `pad_token_id`, as
        transformers returns them; the answer streams into `streamer` token by token when one is given."""
        import torch

        prompts = [row[mask.bool()].tolist() for row, mask in zip(input_ids, attention_mask)]
        answers: list[list[int]] = [[] for _ in prompts]
        if streamer is not None:
            streamer.put(torch.tensor(prompts[0]))  # as generate() does: the streamer skips the prompt

        def on_token(step) -> bool:
            """Called by CTranslate2 after each token; True stops that row."""
            answers[step.batch_id].append(step.token_id)
            if streamer is not None:
                streamer.put(torch.tensor([step.token_id]))
            if stopping_criteria:
                row = torch.tensor([prompts[step.batch_id] + answers[step.batch_id]])
                if any(bool(criterion(row, None)) for criterion in stopping_criteria):
                    return True
            return bool(stop_strings) and any(s in tokenizer.decode(answers[step.batch_id]) for s in stop_strings)

        generator = self.base if self._adapter_disabled or self.tuned is None else self.tuned
        generator.generate_batch(
            [tokenizer.convert_ids_to_tokens(prompt) for prompt in prompts], max_length=max_new_tokens,
            include_prompt_in_result=False, end_token=self.end_ids or None, repetition_penalty=repetition_penalty,
            sampling_topk=SAMPLING_TOP_K if do_sample else 1, sampling_topp=top_p if do_sample else 1.0,
            sampling_temperature=temperature if do_sample else 1.0, callback=on_token)
        width = max(len(answer) for answer in answers)
        padded = [answer + [pad_token_id] * (width - len(answer)) for answer in answers]
        return torch.cat([input_ids, torch.tensor(padded, dtype=input_ids.dtype).reshape(len(prompts), width)], dim=1)
