"""write_atomically: a reader finds the old file or directory or the new one, never half of one."""

import pytest

from bot.files import write_atomically


def test_a_file_is_replaced_and_nothing_else_is_left_beside_it(tmp_path):
    out = tmp_path / "sub" / "feedback.jsonl"
    for text in ("first\n", "second\n"):
        with write_atomically(out) as staging:
            assert staging.parent == out.parent and not out.with_name(staging.name).exists()
            staging.write_text(text)
    assert out.read_text() == "second\n"
    assert [p.name for p in out.parent.iterdir()] == ["feedback.jsonl"]


def test_a_directory_replaces_the_one_there_whole(tmp_path):
    out = tmp_path / "adapter"
    for name in ("old.bin", "new.bin"):
        with write_atomically(out) as staging:
            staging.mkdir()
            (staging / name).write_text(name)
    assert [p.name for p in out.iterdir()] == ["new.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]


@pytest.mark.parametrize("as_directory", [False, True])
def test_an_error_while_writing_leaves_the_old_one_and_no_staging(tmp_path, as_directory):
    out = tmp_path / "model"
    out.write_text("complete")
    with pytest.raises(RuntimeError), write_atomically(out) as staging:
        if as_directory:
            staging.mkdir()
            (staging / "half.safetensors").write_text("half")
        else:
            staging.write_text("half")
        raise RuntimeError("interrupted")
    assert out.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
