#!/usr/bin/python3
"""Writes the seed corpus for fuzz_safetensors (valid and broken headers).
Run from anywhere: /usr/bin/python3 tests/fuzz/make_corpus.py"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def image(header, data=b"", hlen=None):
    h = header if isinstance(header, bytes) else header.encode()
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def valid(tensors, meta=None):
    hdr, data = {}, b""
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dtype, shape, payload in tensors:
        hdr[name] = {"dtype": dtype, "shape": shape,
                     "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(hdr, separators=(",", ":"))
    text += " " * (-(8 + len(text)) % 8)
    return image(text, data)


SEEDS = {
    "valid_all_dtypes": valid([
        ("f64", "F64", [2], struct.pack("<2d", 0.5, -1e300)),
        ("i64", "I64", [1, 2], struct.pack("<2q", -1, 7)),
        ("w", "F32", [2, 1, 1, 2], struct.pack("<4f", 1, 2, 3, 4)),
        ("i32", "I32", [], struct.pack("<i", -3)),
        ("h", "F16", [3], struct.pack("<3H", 0x3C00, 0x0001, 0x7E00)),
        ("b", "BF16", [1], struct.pack("<H", 0x3F80)),
        ("u", "U8", [3], b"\x00\x80\xff"),
        ("empty", "F32", [0, 4], b""),
    ], {"format": "pt", "prompt": "a cat \u00e9"}),
    "valid_empty": valid([]),
    "valid_escapes": image(
        '{"a\\u00e9\\ud83d\\ude00\\n":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
        '"__metadata__":{"k":"v\\"\\\\"}}', b"xy"),
    "bad_overlap": image(
        '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
        '"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}', b"12345678"),
    "bad_size": image('{"t":{"dtype":"F32","shape":[4,8],"data_offsets":[0,100]}}',
                      bytes(100)),
    "bad_hlen": image('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"x",
                      hlen=1000),
    "bad_nesting": image('{"a":[[[[[[[[[1]]]]]]]]]}'),
    "bad_numbers": image('{"t":{"dtype":"U8","shape":[18446744073709551616,-1,1.5e3],'
                         '"data_offsets":[0,1]}}', b"x"),
    "bad_dup": image('{"__metadata__":{"k":"1","k":"2"},"t":{"dtype":"F8","dtype":"U8",'
                     '"shape":[],"data_offsets":[0,1]}}', b"x"),
    "bad_short": b"\x10\x00\x00",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, blob in SEEDS.items():
        assert len(blob) < 4096, name
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
