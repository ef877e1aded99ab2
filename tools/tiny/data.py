"""Arithmetic problems in the DeepSeek-R1 chat format, for r1-tiny.

A problem is (a, op, b, phrasing): a and b are integers 0..9999, op is '+' or '-'. The model reads the prompt the
R1 template renders for one user turn and writes a thought that works column by column, then the answer:

    What is 1234 + 78?          What is 503 - 78?          What is 78 - 503?
    <think>                     <think>                    <think>
    1234+0078                   0503-0078                  0078-0503
    4+8+0=12                    13-8-0=5                   18-3-0=5
    3+7+1=11                    10-7-1=2                   07-0-0=7
    2+0+1=03                    05-0-1=4                   10-5-0=5
    1+0+0=01                    00-0-0=0                   10-0-1=9
    =01312                      =0425                      negative, swap
    </think>                    </think>                   0503-0078
                                                           13-8-0=5 ... (the columns again)
    1312                        425                        =-0425
                                                           </think>

                                                           -425

Why this shape: every line has a fixed number of tokens (digits are single tokens under the qwen2 pre-tokenizer;
operands are padded to four digits), so each digit the model needs sits at a fixed distance behind the token it
writes. An addition column is "top+bottom+carry=" and a two-digit sum whose first digit is the next carry; a
subtraction column is "top-bottom-borrow=" with the top digit written as 1x when it borrows (schoolbook style).
The last line gathers the digits; the answer drops the leading zeros. A subtraction that ends with a borrow is
negative: the thought says so, swaps the operands and does it again.

The held-out rule: fnv1a32("a op b") % 50 == 0 are test problems, == 1 validation problems; training never sees
either (the same pair of numbers in any phrasing).
"""

import random

ADD_PHRASES = [
    "What is {a} + {b}?",
    "What is {a} plus {b}?",
    "What's {a} + {b}?",
    "How much is {a} + {b}?",
    "Calculate {a} + {b}.",
    "Compute {a} + {b}.",
    "Add {a} and {b}.",
    "What is the sum of {a} and {b}?",
    "{a} + {b} = ?",
]
SUB_PHRASES = [
    "What is {a} - {b}?",
    "What is {a} minus {b}?",
    "What's {a} - {b}?",
    "How much is {a} - {b}?",
    "Calculate {a} - {b}.",
    "Compute {a} - {b}.",
    "Subtract {b} from {a}.",
    "What is {a} take away {b}?",
    "{a} - {b} = ?",
]

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
USER = "<｜User｜>"
ASSISTANT = "<｜Assistant｜>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
# What r1 inserts to close a thought at a thinking budget (r1_generate_params.budget_close_text default).
BUDGET_CLOSE = "\n" + THINK_CLOSE + "\n\n"


def fnv1a32(text):
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def split_of(a, op, b):
    """'test', 'valid' or 'train' by the hash of the problem's numbers."""
    r = fnv1a32("%d%s%d" % (a, op, b)) % 50
    return "test" if r == 0 else "valid" if r == 1 else "train"


def random_operand(rng):
    digits = rng.randint(1, 4)
    return rng.randint(0, 9) if digits == 1 else rng.randint(10 ** (digits - 1), 10 ** digits - 1)


def random_problem(rng):
    """(a, op, b, phrase index) drawn from the task's distribution."""
    op = "+" if rng.random() < 0.5 else "-"
    a, b = random_operand(rng), random_operand(rng)
    if op == "-":
        # Three subtractions in four have a non-negative result.
        want_negative = rng.random() < 0.25
        if (a < b) != want_negative:
            a, b = b, a
    phrases = ADD_PHRASES if op == "+" else SUB_PHRASES
    return a, op, b, rng.randrange(len(phrases))


def question(a, op, b, phrase):
    return (ADD_PHRASES if op == "+" else SUB_PHRASES)[phrase].format(a=a, b=b)


def prompt_text(user_text):
    """What the R1 template renders for one user turn with the generation prompt."""
    return BOS + USER + user_text + ASSISTANT + THINK_OPEN + "\n"


def _columns(a, op, b):
    """Column lines (ones first) and the four result digits, most significant first, plus the final borrow."""
    x, y = "%04d" % a, "%04d" % b
    lines, digits, carry = [], [], 0
    for i in range(3, -1, -1):
        top, bottom = int(x[i]), int(y[i])
        if op == "+":
            s = top + bottom + carry
            lines.append("%d+%d+%d=%02d" % (top, bottom, carry, s))
            digits.append(s % 10)
            carry = s // 10
        else:
            borrow = 1 if top - bottom - carry < 0 else 0
            lines.append("%d%d-%d-%d=%d" % (borrow, top, bottom, carry, top + 10 * borrow - bottom - carry))
            digits.append(top + 10 * borrow - bottom - carry)
            carry = borrow
    return lines, digits[::-1], carry


def thought(a, op, b):
    """The reasoning (without the think tags), ending with a newline."""
    out = ["%04d%s%04d" % (a, op, b)]
    lines, digits, carry = _columns(a, op, b)
    out += lines
    if op == "+":
        out.append("=%d%s" % (carry, "".join(map(str, digits))))
    elif carry == 0:
        out.append("=" + "".join(map(str, digits)))
    else:
        out.append("negative, swap")
        out.append("%04d-%04d" % (b, a))
        lines, digits, carry = _columns(b, op, a)
        assert carry == 0
        out += lines
        out.append("=-" + "".join(map(str, digits)))
    return "\n".join(out) + "\n"


def answer(a, op, b):
    return str(a + b if op == "+" else a - b)


def completion_text(a, op, b):
    """The assistant's part after the prompt: thought, closing tag, answer, end of sentence."""
    return thought(a, op, b) + THINK_CLOSE + "\n\n" + answer(a, op, b) + EOS


def problems(seed, count, split):
    """`count` problems of a split, deterministic for a seed."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < count:
        a, op, b, p = random_problem(rng)
        if split_of(a, op, b) != split or (split != "train" and (a, op, b) in seen):
            continue
        seen.add((a, op, b))
        out.append((a, op, b, p))
    return out


if __name__ == "__main__":
    for a, op, b in [(1234, "+", 78), (503, "-", 78), (78, "-", 503), (9999, "+", 9999), (5, "-", 5)]:
        print(prompt_text(question(a, op, b, 0)) + completion_text(a, op, b))
        print("-" * 40)
