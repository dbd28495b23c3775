"""Tokenizer and recursive-descent parser of the tag rule language (see `segmint.tags.dsl`)."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn, cast

from segmint.tags.dsl_ast import (
    COMPARE_OPS,
    DURATION_UNITS,
    FUNCTIONS,
    INT64_MAX,
    KEYWORDS,
    MAX_DEPTH,
    MAX_DURATION_DAYS,
    MAX_RULE_LENGTH,
    Between,
    BinOp,
    Bool,
    BoolOp,
    Call,
    Column,
    Compare,
    DateLit,
    Duration,
    InList,
    IsNull,
    Neg,
    Node,
    Not,
    Null,
    Number,
    String,
    StrMatch,
    Within,
    children,
    rule_error,
)

UNIT_DAYS = {"h": 1 / 24, "d": 1, "w": 7}

_OPERATORS = ("==", "!=", "<>", "<=", ">=", "<", ">", "=", "+", "-", "*", "/", "(", ")", "[", "]")
_OP_ALIASES = {"=": "==", "<>": "!="}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- tokenizer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # num, dur, str, ident, kw, op, eof
    value: object
    pos: int
    raw: str

    def describe(self) -> str:
        if self.kind == "eof":
            return "the end of the rule"
        return self.raw if self.kind == "str" else f"'{self.raw}'"


def tokenize(text: str, name: str) -> list[Token]:
    """Split a rule into tokens; raise TagRuleError on the first character that does not fit."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            tokens.append(_string(text, i, name))
            i += len(tokens[-1].raw)
        elif "0" <= ch <= "9":
            m = _NUMBER.match(text, i)
            assert m is not None
            end = m.end()
            if text[end : end + 1] == ".":
                raise rule_error(name, text, end, "expected digits after the decimal point")
            unit_m = _WORD.match(text, end)
            if unit_m:
                tokens.append(_duration(text, i, m, unit_m, name))
                end = unit_m.end()
            else:
                raw = m.group()
                value: int | float = float(raw) if m.group(1) else int(raw)
                if isinstance(value, int) and value > INT64_MAX:
                    raise rule_error(name, text, i, f"the number {raw} is too large")
                tokens.append(Token("num", value, i, raw))
            i = end
        elif m := _WORD.match(text, i):
            word = m.group()
            if word.lower() in KEYWORDS:
                tokens.append(Token("kw", word.lower(), i, word))
            else:
                tokens.append(Token("ident", word, i, word))
            i = m.end()
        elif ch == ",":
            tokens.append(Token("op", ",", i, ","))
            i += 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                hint = " (use '!=' or 'not')" if ch == "!" else ""
                if ch.isalpha():
                    hint = " (column names use A-Z, 0-9 and _; put text in quotes)"
                raise rule_error(name, text, i, f"unexpected character {ch!r}{hint}")
            tokens.append(Token("op", _OP_ALIASES.get(op, op), i, op))
            i += len(op)
    tokens.append(Token("eof", None, n, ""))
    return tokens


def _string(text: str, start: int, name: str) -> Token:
    quote, i = text[start], start + 1
    out: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return Token("str", "".join(out), start, text[start : i + 1])
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt not in _ESCAPES:
                raise rule_error(
                    name, text, i, "unknown escape; use \\' \\\" \\\\ \\n or \\t inside strings"
                )
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    raise rule_error(name, text, start, f"unterminated string (no closing {quote})")


def _duration(text: str, start: int, num: re.Match[str], unit: re.Match[str], name: str) -> Token:
    raw = text[start : unit.end()]
    u = unit.group().lower()
    if u not in DURATION_UNITS:
        allowed = ", ".join(f"{k} ({v})" for k, v in DURATION_UNITS.items())
        raise rule_error(name, text, start, f"unknown duration '{raw}'; units are {allowed}")
    if num.group(1):
        raise rule_error(name, text, start, f"a duration must be a whole number, not '{raw}'")
    amount = int(num.group())
    if amount * UNIT_DAYS[u] > MAX_DURATION_DAYS:
        raise rule_error(name, text, start, f"the duration '{raw}' is too long")
    return Token("dur", (amount, u), start, raw)


# --- parser --------------------------------------------------------------------------------


def parse_rule(text: str, *, name: str = "<rule>") -> Node:
    """Parse a rule into its syntax tree; raise TagRuleError naming the tag and position."""
    if len(text) > MAX_RULE_LENGTH:
        raise rule_error(
            name,
            text,
            MAX_RULE_LENGTH,
            f"the rule is {len(text)} characters long; the limit is {MAX_RULE_LENGTH}",
        )
    return _Parser(text, name).parse()


class _Parser:
    def __init__(self, text: str, name: str) -> None:
        self.text, self.name = text, name
        self.tokens = tokenize(text, name)
        self.i = 0
        self.nesting = 0
        self.depths: dict[int, int] = {}

    # helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, pos: int, message: str) -> NoReturn:
        raise rule_error(self.name, self.text, pos, message)

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, *values: object) -> bool:
        return self.tok.kind == kind and (not values or self.tok.value in values)

    def expect(self, kind: str, value: object, what: str) -> Token:
        if not self.at(kind, value):
            self.fail(self.tok.pos, f"expected {what} but found {self.tok.describe()}")
        return self.advance()

    def node(self, node: Node) -> Node:
        depth = 1 + max((self.depths.get(id(c), 1) for c in children(node)), default=0)
        if depth > MAX_DEPTH:
            self.fail(node.op_pos, f"the rule is nested too deeply (more than {MAX_DEPTH} levels)")
        self.depths[id(node)] = depth
        return node

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            self.fail(self.tok.pos, f"the rule is nested too deeply (more than {MAX_DEPTH} levels)")

    # grammar
    def parse(self) -> Node:
        if self.at("eof"):
            self.fail(0, "the rule is empty")
        node = self.or_expr()
        if not self.at("eof"):
            tok = self.tok
            if tok.kind == "op" and tok.value in COMPARE_OPS:
                self.fail(tok.pos, "comparisons cannot be chained; write 'a < b and b < c'")
            hint = _did_you_mean(str(tok.value), KEYWORDS) if tok.kind == "ident" else ""
            self.fail(
                tok.pos,
                f"expected 'and', 'or' or the end of the rule but found {tok.describe()}{hint}",
            )
        return node

    # One method per precedence level (and no helper frames in between) keeps the Python
    # stack at about eight frames per nesting level, well inside the recursion limit.
    def or_expr(self) -> Node:
        first = self.and_expr()
        if not self.at("kw", "or"):
            return first
        items, op_pos = [first], self.tok.pos
        while self.at("kw", "or"):
            self.advance()
            items.append(self.and_expr())
        return self.node(BoolOp("or", tuple(items), pos=first.pos, op_pos=op_pos))

    def and_expr(self) -> Node:
        first = self.not_expr()
        if not self.at("kw", "and"):
            return first
        items, op_pos = [first], self.tok.pos
        while self.at("kw", "and"):
            self.advance()
            items.append(self.not_expr())
        return self.node(BoolOp("and", tuple(items), pos=first.pos, op_pos=op_pos))

    def not_expr(self) -> Node:
        if self.at("kw", "not"):
            tok = self.advance()
            self.enter()
            operand = self.not_expr()
            self.nesting -= 1
            return self.node(Not(operand, pos=tok.pos, op_pos=tok.pos))
        return self.predicate()

    def predicate(self) -> Node:
        left = self.sum_expr()
        tok = self.tok
        if tok.kind == "op" and tok.value in COMPARE_OPS:
            self.advance()
            right = self.sum_expr()
            return self.node(Compare(str(tok.value), left, right, pos=left.pos, op_pos=tok.pos))
        if tok.kind != "kw":
            return left
        kw = tok.value
        self.advance()
        negated = False
        if kw == "not":
            if not self.at("kw", "in", "between"):
                self.fail(
                    self.tok.pos,
                    f"expected 'in' or 'between' after 'not' but found {self.tok.describe()}",
                )
            negated, kw = True, self.advance().value
        p, o = left.pos, tok.pos
        if kw == "in":
            return self.node(InList(left, self.in_list(), negated, pos=p, op_pos=o))
        if kw == "between":
            low = self.sum_expr()
            self.expect("kw", "and", "'and' between the two bounds of 'between'")
            high = self.sum_expr()
            return self.node(Between(left, low, high, negated, pos=p, op_pos=o))
        if kw == "is":
            is_not = self.at("kw", "not")
            if is_not:
                self.advance()
            self.expect("kw", "null", "'null' after 'is'" + (" not" if is_not else ""))
            return self.node(IsNull(left, is_not, pos=p, op_pos=o))
        if kw in ("contains", "starts_with"):
            pattern = self.sum_expr()
            return self.node(StrMatch(str(kw), left, pattern, pos=p, op_pos=o))
        if kw in ("within", "before"):
            if not self.at("dur"):
                self.fail(
                    self.tok.pos,
                    f"expected a duration such as 30d, 12h or 4w after "
                    f"'{kw}' but found {self.tok.describe()}",
                )
            dur = self.duration(self.advance())
            return self.node(Within(str(kw), left, dur, pos=p, op_pos=o))
        self.i -= 1  # 'and', 'or' or a misplaced keyword: leave it to the caller
        return left

    def in_list(self) -> tuple[Node, ...]:
        if not self.at("op", "[", "("):
            self.fail(
                self.tok.pos,
                f"expected a list such as [1, 2] after 'in' but found {self.tok.describe()}",
            )
        open_tok = self.advance()
        close = "]" if open_tok.value == "[" else ")"
        self.enter()
        items: list[Node] = []
        while not self.at("op", close):
            items.append(self.or_expr())
            if not self.at("op", ","):
                break
            self.advance()
        self.expect("op", close, f"',' or '{close}' in the list")
        self.nesting -= 1
        if not items:
            self.fail(open_tok.pos, "the list after 'in' is empty")
        return tuple(items)

    def sum_expr(self) -> Node:
        left = self.term()
        while self.at("op", "+", "-"):
            tok = self.advance()
            left = self.node(BinOp(str(tok.value), left, self.term(), pos=left.pos, op_pos=tok.pos))
        return left

    def term(self) -> Node:
        left = self.unary()
        while self.at("op", "*", "/"):
            tok = self.advance()
            left = self.node(
                BinOp(str(tok.value), left, self.unary(), pos=left.pos, op_pos=tok.pos)
            )
        return left

    def unary(self) -> Node:
        if not self.at("op", "-"):
            return self.primary()
        tok = self.advance()
        self.enter()
        operand = self.unary()
        self.nesting -= 1
        if isinstance(operand, Number):
            return Number(-operand.value, pos=tok.pos, op_pos=tok.pos)
        return self.node(Neg(operand, pos=tok.pos, op_pos=tok.pos))

    def primary(self) -> Node:
        tok = self.tok
        p = tok.pos
        if tok.kind == "num":
            self.advance()
            assert isinstance(tok.value, int | float)
            return Number(tok.value, pos=p, op_pos=p)
        if tok.kind == "str":
            self.advance()
            return String(str(tok.value), pos=p, op_pos=p)
        if tok.kind == "dur":
            return self.duration(self.advance())
        if tok.kind == "kw" and tok.value in ("true", "false", "null"):
            self.advance()
            return (
                Null(pos=p, op_pos=p)
                if tok.value == "null"
                else Bool(tok.value == "true", pos=p, op_pos=p)
            )
        if self.at("op", "("):
            self.advance()
            self.enter()
            inner = self.or_expr()
            self.expect("op", ")", "')'")
            self.nesting -= 1
            return inner
        if tok.kind == "ident":
            self.advance()
            if self.at("op", "("):
                return self.call(tok)
            return Column(str(tok.value), pos=p, op_pos=p)
        prev = self.tokens[self.i - 1] if self.i else None
        after = f" after {prev.describe()}" if prev else ""
        self.fail(tok.pos, f"expected a value{after} but found {tok.describe()}")

    def call(self, name_tok: Token) -> Node:
        func = str(name_tok.value).lower()
        p = name_tok.pos
        if func not in FUNCTIONS:
            self.fail(
                name_tok.pos,
                f"unknown function '{name_tok.value}'{_did_you_mean(func, FUNCTIONS)}; "
                f"allowed: {', '.join(sorted(FUNCTIONS))}",
            )
        open_tok = self.advance()
        self.enter()
        if func == "date":
            arg = self.tok
            if arg.kind != "str" or not _ISO_DATE.fullmatch(str(arg.value)):
                self.fail(arg.pos, "date() takes one 'YYYY-MM-DD' string")
            try:
                value = dt.date.fromisoformat(str(arg.value))
            except ValueError:
                self.fail(arg.pos, f"{arg.raw} is not a valid date")
            self.advance()
            self.expect("op", ")", "')' after the date")
            self.nesting -= 1
            return DateLit(value, pos=p, op_pos=p)
        args: list[Node] = []
        while not self.at("op", ")"):
            args.append(self.or_expr())
            if not self.at("op", ","):
                break
            self.advance()
        self.expect("op", ")", f"',' or ')' in the arguments of {func}()")
        self.nesting -= 1
        fewest, most = FUNCTIONS[func]
        if len(args) < fewest or (most is not None and len(args) > most):
            wanted = str(fewest) if fewest == most else f"at least {fewest}"
            self.fail(open_tok.pos, f"{func}() takes {wanted} argument(s) but got {len(args)}")
        return self.node(Call(func, tuple(args), pos=p, op_pos=p))

    def duration(self, tok: Token) -> Duration:
        amount, unit = cast(tuple[int, str], tok.value)
        return Duration(amount, unit, pos=tok.pos, op_pos=tok.pos)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""
