"""Static sparse attention patterns: which keys each query may attend.

A pattern is a bool matrix [seq_len, seq_len], True where query i attends
key j, written as a spec string:

- ``window:W``: a band, |i - j| <= W (a local window of 2W + 1 keys);
- ``bigbird:window=W,global=G,random=R[,block=B]``: BigBird's three parts
  (any subset, missing ones are 0): the band of ``window``; ``global``
  global tokens, the first G, which attend every key and which every query
  attends; and ``random`` keys per query drawn from those not allowed
  otherwise. With ``block`` B > 1 the pattern is made over blocks of B
  tokens (seq_len / B of them, as BigBird's block-sparse attention does:
  ``window=1`` is the block and its two neighbours) and each allowed block
  is a B x B square.

The random keys come from ``numpy.random.default_rng([seed, 0x5A77])``, a
stream of their own: the same (spec, seq_len, seed) always gives the same
pattern, and adding a pattern to a model does not change the weights the
builder draws from ``seed``.
"""

from __future__ import annotations

import numpy as np

_BIGBIRD_KEYS = ("window", "global", "random", "block")


def parse_attention_pattern(spec: str) -> tuple[str, dict[str, int]]:
    """(kind, parameters) of a spec; ValueError naming what is wrong."""
    kind, colon, rest = spec.partition(":")
    if not colon or not rest:
        raise ValueError(f"attention pattern {spec!r}: expected 'window:W' "
                         f"or 'bigbird:window=W,global=G,random=R[,block=B]'")
    if kind == "window":
        return kind, {"window": _count(spec, "window", rest)}
    if kind != "bigbird":
        raise ValueError(f"attention pattern {spec!r}: unknown kind {kind!r} "
                         f"(window, bigbird)")
    parameters = dict.fromkeys(_BIGBIRD_KEYS, 0)
    parameters["block"] = 1
    for item in rest.split(","):
        key, equals, value = item.partition("=")
        if not equals or key not in _BIGBIRD_KEYS:
            raise ValueError(f"attention pattern {spec!r}: expected KEY=N "
                             f"with KEY one of {', '.join(_BIGBIRD_KEYS)}, "
                             f"got {item!r}")
        parameters[key] = _count(spec, key, value)
    if parameters["block"] < 1:
        raise ValueError(f"attention pattern {spec!r}: block must be >= 1")
    return kind, parameters


def _count(spec: str, key: str, text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"attention pattern {spec!r}: {key} must be a "
                         f"non-negative integer, got {text!r}")
    return int(text)


def attention_pattern(spec: str, seq_len: int, seed: int = 0) -> np.ndarray:
    """The bool [seq_len, seq_len] matrix of ``spec`` (see the module)."""
    kind, p = parse_attention_pattern(spec)
    block = p.get("block", 1)
    if seq_len % block:
        raise ValueError(f"attention pattern {spec!r}: seq_len {seq_len} is "
                         f"not a multiple of block {block}")
    n = seq_len // block
    if p.get("global", 0) > n:
        raise ValueError(f"attention pattern {spec!r}: {p['global']} global "
                         f"blocks of {n}")
    i, j = np.indices((n, n))
    allowed = np.abs(i - j) <= p["window"]
    glob = p.get("global", 0)
    allowed[:glob, :] = True
    allowed[:, :glob] = True
    random = p.get("random", 0)
    if random:
        rng = np.random.default_rng([seed, 0x5A77])
        for row in range(glob, n):
            free = np.flatnonzero(~allowed[row])
            if free.size:
                picked = rng.choice(free, size=min(random, free.size),
                                    replace=False)
                allowed[row, picked] = True
    if block > 1:
        allowed = np.kron(allowed, np.ones((block, block), dtype=bool))
    return allowed
