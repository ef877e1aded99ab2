"""A byte-level BPE tokenizer trained from scratch, in the Hugging Face tokenizer.json format of the R1 distills.

- Pre-tokenization: the qwen2 / deepseek-r1-qwen regex (below, verbatim, as tokenizer.json stores it). Python's `re`
  has no \\p{L}/\\p{N}, so training uses an ASCII transcription of it and refuses non-ASCII text (the corpus is
  ASCII). Digits are single pre-tokens, so they stay single tokens.
- Bytes map to printable code points with GPT-2's bytes_to_unicode; every one of the 256 is a base token.
- Training: the most frequent adjacent pair is merged, ties broken by the pair's text, until the vocabulary has
  the requested size or no pair occurs at least `min_count` times.
- Encoding applies merges by rank (lowest first, leftmost on ties), which is what Hugging Face and llama.cpp do,
  so r1's tokenizer reproduces these ids exactly.
- Special tokens are cut out of the text before pre-tokenization, as the added tokens of tokenizer.json are.
"""

import collections
import re

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")
# The same regex with \p{L} = [A-Za-z] and \p{N} = [0-9]: equal to it on ASCII text.
_ASCII_PATTERN = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*|"
                            r"\s*[\r\n]+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()


def pre_tokenize(text):
    if not text.isascii():
        raise ValueError("the tiny tokenizer's training regex handles ASCII only: %r" % text)
    return [m.group(0) for m in _ASCII_PATTERN.finditer(text)]


def to_symbols(piece):
    return "".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))


def train(texts, vocab_size, min_count=2):
    """Returns (vocab: list of token strings, merges: list of (left, right)). Base tokens are the 256 byte
    characters in byte order."""
    words = collections.Counter()
    for t in texts:
        for piece in pre_tokenize(t):
            words[to_symbols(piece)] += 1
    vocab = [BYTE_TO_CHAR[b] for b in range(256)]
    merges = []
    seqs = {w: list(w) for w in words}
    while len(vocab) < vocab_size:
        pairs = collections.Counter()
        for w, count in words.items():
            s = seqs[w]
            for i in range(len(s) - 1):
                pairs[(s[i], s[i + 1])] += count
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] < min_count:
            break
        (left, right), _ = best
        merges.append((left, right))
        vocab.append(left + right)
        for w in words:
            s = seqs[w]
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == left and s[i + 1] == right:
                    out.append(left + right)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return vocab, merges


class Tokenizer:
    def __init__(self, vocab, merges, specials):
        """vocab: regular tokens (id = index); specials: list of special token texts, ids after the vocab."""
        self.vocab = list(vocab)
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        self.ranks = {pair: r for r, pair in enumerate(merges)}
        self.merges = list(merges)
        self.specials = {t: len(self.vocab) + i for i, t in enumerate(specials)}
        self.special_list = list(specials)
        self.cache = {}
        self.id_to_text = {i: t for t, i in self.specials.items()}

    def _bpe(self, piece):
        if piece in self.cache:
            return self.cache[piece]
        s = list(to_symbols(piece))
        while len(s) > 1:
            best, at = None, -1
            for i in range(len(s) - 1):
                r = self.ranks.get((s[i], s[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            s[at:at + 2] = [s[at] + s[at + 1]]
        out = [self.ids[x] for x in s]
        self.cache[piece] = out
        return out

    def encode(self, text):
        """Token ids of `text`, special tokens parsed (longest first)."""
        out = []
        specials = sorted(self.specials, key=len, reverse=True)
        i, start = 0, 0
        while i < len(text):
            hit = next((s for s in specials if text.startswith(s, i)), None)
            if hit is None:
                i += 1
                continue
            for piece in pre_tokenize(text[start:i]):
                out += self._bpe(piece)
            out.append(self.specials[hit])
            i += len(hit)
            start = i
        for piece in pre_tokenize(text[start:]):
            out += self._bpe(piece)
        return out

    def decode(self, ids):
        char_to_byte = {c: b for b, c in BYTE_TO_CHAR.items()}
        out = bytearray()
        for i in ids:
            if i in self.id_to_text:
                out += self.id_to_text[i].encode("utf-8")
            else:
                out += bytes(char_to_byte[c] for c in self.vocab[i])
        return out.decode("utf-8", errors="replace")

    def n_tokens(self):
        return len(self.vocab) + len(self.specials)


def tokenizer_json(tok, special_flags):
    """The tokenizer.json of a Qwen2-style fast tokenizer. special_flags: {text: is_special} for added tokens."""
    added = [{"id": tok.specials[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": special_flags[t]} for t in tok.special_list]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        },
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {t: i for i, t in enumerate(tok.vocab)},
            "merges": ["%s %s" % m for m in tok.merges],
        },
    }
