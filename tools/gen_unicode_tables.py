#!/usr/bin/env python3
"""Generates src/tokenizer/unicode_tables.cpp: the code point classes the pre-tokenizers need.

Usage:
    python3 tools/gen_unicode_tables.py [--ucd /usr/share/unicode] > src/tokenizer/unicode_tables.cpp

Input: the Unicode Character Database as Debian's `unicode-data` package installs it (UnicodeData.txt for the
general categories, PropList.txt for White_Space, DerivedAge.txt for the version line).

Output: one sorted table of ranges `{first code point, flags}`; a range runs up to the next entry's first code
point. Flags are one general-category class (letter, number, mark, punctuation, symbol, separator, control,
undefined) plus a whitespace bit, the same partition llama.cpp's tokenizer uses (its unicode-data.cpp):
  L* -> LETTER, N* -> NUMBER, M* -> MARK, P* -> PUNCTUATION, S* -> SYMBOL, Z* -> SEPARATOR,
  Cc Cf Co Cs -> CONTROL, Cn and unlisted code points -> UNDEFINED; WHITESPACE = the White_Space property.

Why a patch for Unicode 15.1: the reference tokenizer (llama.cpp) was generated from Unicode 15.1, while
Debian bookworm ships 15.0. 15.1 assigned exactly three new ranges (no category of an existing code point
changed): U+2FFC..U+2FFF (So, ideographic description characters), U+31EF (So, CJK stroke) and
U+2EBF0..U+2EE5D (Lo, CJK Unified Ideographs Extension I). They are added here when the input is 15.0 so that the
tables equal the reference's; with 15.1 input they are already present.

The script also checks a fact the C++ matchers rely on: the only code points whose simple lowercase mapping is
one of the ASCII contraction letters (s t m d r e v l) are the ASCII capitals, so the case-insensitive
contractions ('S 'RE ...) only need ASCII case folding.
"""

import argparse
import os
import sys

LETTER, NUMBER, MARK, PUNCT, SYMBOL, SEPARATOR, CONTROL, UNDEFINED = range(8)
WHITESPACE = 0x08  # bit above the 3-bit class

CLASS_NAMES = ["LETTER", "NUMBER", "MARK", "PUNCTUATION", "SYMBOL", "SEPARATOR", "CONTROL", "UNDEFINED"]

CATEGORY_TO_CLASS = {
    "Lu": LETTER, "Ll": LETTER, "Lt": LETTER, "Lm": LETTER, "Lo": LETTER,
    "Nd": NUMBER, "Nl": NUMBER, "No": NUMBER,
    "Mn": MARK, "Mc": MARK, "Me": MARK,
    "Pc": PUNCT, "Pd": PUNCT, "Ps": PUNCT, "Pe": PUNCT, "Pi": PUNCT, "Pf": PUNCT, "Po": PUNCT,
    "Sm": SYMBOL, "Sc": SYMBOL, "Sk": SYMBOL, "So": SYMBOL,
    "Zs": SEPARATOR, "Zl": SEPARATOR, "Zp": SEPARATOR,
    "Cc": CONTROL, "Cf": CONTROL, "Co": CONTROL, "Cs": CONTROL,
    "Cn": UNDEFINED,
}

MAX_CODEPOINTS = 0x110000

# Unicode 15.1 additions (see the module docstring).
UNICODE_15_1_ADDITIONS = [
    (0x2FFC, 0x2FFF, "So"),
    (0x31EF, 0x31EF, "So"),
    (0x2EBF0, 0x2EE5D, "Lo"),
]


def read_version(ucd):
    path = os.path.join(ucd, "DerivedAge.txt")
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()  # "# DerivedAge-15.0.0.txt"
    prefix = "# DerivedAge-"
    if not first.startswith(prefix) or not first.endswith(".txt"):
        sys.exit(f"cannot read the Unicode version from {path}: {first!r}")
    return tuple(int(x) for x in first[len(prefix):-len(".txt")].split("."))


def read_unicode_data(ucd):
    """Yields (code point, general category, simple lowercase or None) for every assigned code point."""
    path = os.path.join(ucd, "UnicodeData.txt")
    range_first = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) != 15:
                sys.exit(f"{path}: unexpected line {line!r}")
            cpt = int(fields[0], 16)
            name, category = fields[1], fields[2]
            lower = int(fields[13], 16) if fields[13] else None
            if name.endswith(", First>"):
                range_first = cpt
                continue
            if name.endswith(", Last>"):
                for c in range(range_first, cpt + 1):
                    yield c, category, None
                range_first = None
                continue
            yield cpt, category, lower


def read_white_space(ucd):
    path = os.path.join(ucd, "PropList.txt")
    result = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            cpts, prop = (x.strip() for x in line.split(";"))
            if prop != "White_Space":
                continue
            if ".." in cpts:
                a, b = (int(x, 16) for x in cpts.split(".."))
            else:
                a = b = int(cpts, 16)
            result.update(range(a, b + 1))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ucd", default="/usr/share/unicode", help="folder with UnicodeData.txt and PropList.txt")
    args = parser.parse_args()

    version = read_version(args.ucd)
    classes = bytearray([UNDEFINED]) * MAX_CODEPOINTS
    contraction_letters = set(map(ord, "stmdrevl"))
    lowercase_into_contractions = []
    for cpt, category, lower in read_unicode_data(args.ucd):
        classes[cpt] = CATEGORY_TO_CLASS[category]
        if lower is not None and lower in contraction_letters:
            lowercase_into_contractions.append(cpt)

    patched = []
    if version < (15, 1, 0):
        for first, last, category in UNICODE_15_1_ADDITIONS:
            for c in range(first, last + 1):
                if classes[c] != UNDEFINED:
                    sys.exit(f"U+{c:04X} is already assigned in Unicode {version}: the 15.1 patch does not apply")
                classes[c] = CATEGORY_TO_CLASS[category]
            patched.append(f"U+{first:04X}..U+{last:04X} {category}")

    expected_capitals = [ord(c.upper()) for c in "stmdrevl"]
    if sorted(lowercase_into_contractions) != sorted(expected_capitals):
        extra = sorted(set(lowercase_into_contractions) - set(expected_capitals))
        sys.exit("non-ASCII code points lowercase into contraction letters: " + ", ".join(f"U+{c:04X}" for c in extra))

    white_space = read_white_space(args.ucd)
    flags = bytearray(classes)
    for c in white_space:
        flags[c] |= WHITESPACE

    ranges = [(0, flags[0])]
    for cpt in range(1, MAX_CODEPOINTS):
        if flags[cpt] != ranges[-1][1]:
            ranges.append((cpt, flags[cpt]))

    version_text = ".".join(map(str, version))
    out = sys.stdout.write
    out("// GENERATED by tools/gen_unicode_tables.py -- do not edit by hand.\n")
    out(f"// Source: Unicode Character Database {version_text} from Debian's unicode-data package\n")
    out("// (UnicodeData.txt general categories, PropList.txt White_Space).\n")
    if patched:
        out("// Patched to Unicode 15.1, the version of the reference tokenizer's tables, by adding the ranges 15.1\n")
        out("// assigned: " + "; ".join(patched) + ".\n")
    else:
        out("// No patch applied (input is Unicode 15.1 or later).\n")
    out("//\n")
    out("// kUnicodeRanges: sorted {first code point, flags}; each range runs to the next entry's first code point,\n")
    out("// the last one to U+10FFFF. flags = class (low 3 bits) | 0x08 for White_Space.\n")
    out("// Classes: " + ", ".join(f"{i} {n}" for i, n in enumerate(CLASS_NAMES)) + ".\n\n")
    out('#include "unicode.h"\n\n')
    out("namespace r1::tok {\n\n")
    out(f"const UnicodeRange kUnicodeRanges[] = {{\n")
    line = "   "
    for first, fl in ranges:
        item = f" {{0x{first:05X}, 0x{fl:02X}}},"
        if len(line) + len(item) > 118:
            out(line + "\n")
            line = "   "
        line += item
    out(line + "\n};\n\n")
    out(f"const size_t kUnicodeRangeCount = {len(ranges)};\n\n")
    out(f'const char kUnicodeVersion[] = "{version_text}{"+15.1 patch" if patched else ""}";\n\n')
    out("}  // namespace r1::tok\n")


if __name__ == "__main__":
    main()
