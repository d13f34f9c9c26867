"""The segment rule language: tokenizer, AST and recursive-descent parser (pure, no SQL here).

Grammar (keywords case-insensitive):

    rule       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | predicate
    predicate  := operand ( compare_op operand
                          | ["not"] "in" "(" literal ("," literal)* ")"
                          | "is" ["not"] "null" )?
    operand    := literal | identifier | function "(" [operand ("," operand)*] ")" | "(" or_expr ")"
    literal    := number | -number | 'string' ('' escapes a quote) | true | false
    compare_op := = | == | != | <> | < | <= | > | >=

Anything else (`;`, `|`, `--`, `/*`, arithmetic, unknown keywords) is refused by the tokenizer or the
parser with the position of the offending character, so the text of a rule never reaches SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal


class RuleSyntaxError(ValueError):
    def __init__(self, message: str, position: int):
        super().__init__(f"{message} (at character {position})")
        self.problem = message
        self.position = position


KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})
COMPARE_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_OPERATOR = re.compile(r"==|!=|<>|<=|>=|=|<|>")
MAX_RULE_LENGTH = 2000
MAX_DEPTH = 50


@dataclass(frozen=True)
class Token:
    kind: str  # ident, keyword, number, string, op, lparen, rparen, comma, minus, end
    text: str
    position: int
    value: object = None


def tokenize(text: str) -> list[Token]:
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a rule must be a string, got {type(text).__name__}", 0)
    if len(text) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(f"rule is longer than {MAX_RULE_LENGTH} characters", MAX_RULE_LENGTH)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch == "'":
            j, chars = i + 1, []
            while True:
                if j >= n:
                    raise RuleSyntaxError("unterminated string literal", i)
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        chars.append("'")
                        j += 2
                        continue
                    break
                if text[j] == "\x00":
                    raise RuleSyntaxError("NUL character in string literal", j)
                chars.append(text[j])
                j += 1
            tokens.append(Token("string", text[i:j + 1], i, "".join(chars)))
            i = j + 1
            continue
        if m := _NUMBER.match(text, i):
            if m.end() < n and (text[m.end()].isalpha() or text[m.end()] in "_."):
                raise RuleSyntaxError(f"malformed number {text[i:m.end() + 1]!r}", i)
            tokens.append(Token("number", m.group(), i, Decimal(m.group())))
            i = m.end()
            continue
        if m := _IDENT.match(text, i):
            word = m.group()
            kind = "keyword" if word.lower() in KEYWORDS else "ident"
            tokens.append(Token(kind, word.lower() if kind == "keyword" else word, i))
            i = m.end()
            continue
        if m := _OPERATOR.match(text, i):
            tokens.append(Token("op", COMPARE_OPS[m.group()], i))
            i = m.end()
            continue
        simple = {"(": "lparen", ")": "rparen", ",": "comma"}
        if ch in simple:
            tokens.append(Token(simple[ch], ch, i))
            i += 1
            continue
        if ch == "-" and i + 1 < n and text[i + 1].isdigit():
            tokens.append(Token("minus", ch, i))
            i += 1
            continue
        raise RuleSyntaxError(f"unexpected character {ch!r}", i)
    tokens.append(Token("end", "", n))
    return tokens


# --- AST -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    value: object  # Decimal | str | bool
    position: int


@dataclass(frozen=True)
class Column:
    name: str
    position: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple
    position: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: object
    right: object
    position: int


@dataclass(frozen=True)
class InList:
    operand: object
    values: tuple  # of Literal
    negated: bool
    position: int


@dataclass(frozen=True)
class IsNull:
    operand: object
    negated: bool
    position: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple
    position: int


@dataclass(frozen=True)
class Not:
    operand: object
    position: int


Node = Literal | Column | Call | Compare | InList | IsNull | BoolOp | Not


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_keyword(self, word: str) -> bool:
        return self.current.kind == "keyword" and self.current.text == word

    def expect(self, kind: str, what: str) -> Token:
        if self.current.kind != kind:
            raise RuleSyntaxError(f"expected {what}, found {_describe(self.current)}", self.current.position)
        return self.advance()

    def nested(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(f"rule nests deeper than {MAX_DEPTH} levels", self.current.position)

    def parse(self) -> Node:
        node = self.or_expr()
        if self.current.kind != "end":
            raise RuleSyntaxError(f"unexpected {_describe(self.current)}", self.current.position)
        return node

    def or_expr(self) -> Node:
        return self._chain("or", self.and_expr)

    def and_expr(self) -> Node:
        return self._chain("and", self.not_expr)

    def _chain(self, word: str, operand) -> Node:
        first = operand()
        operands = [first]
        while self.at_keyword(word):
            self.advance()
            operands.append(operand())
        return first if len(operands) == 1 else BoolOp(word, tuple(operands), _position(first))

    def not_expr(self) -> Node:
        if self.at_keyword("not"):
            token = self.advance()
            self.nested()
            operand = self.not_expr()
            self.depth -= 1
            return Not(operand, token.position)
        return self.predicate()

    def predicate(self) -> Node:
        left = self.operand()
        token = self.current
        if token.kind == "op":
            self.advance()
            return Compare(token.text, left, self.operand(), token.position)
        if self.at_keyword("not") or self.at_keyword("in"):
            negated = False
            if self.at_keyword("not"):
                self.advance()
                if not self.at_keyword("in"):
                    raise RuleSyntaxError(f"expected 'in' after 'not', found {_describe(self.current)}", self.current.position)
                negated = True
            self.advance()
            self.expect("lparen", "'(' after 'in'")
            values = [self.literal()]
            while self.current.kind == "comma":
                self.advance()
                values.append(self.literal())
            self.expect("rparen", "')' closing the 'in' list")
            return InList(left, tuple(values), negated, token.position)
        if self.at_keyword("is"):
            self.advance()
            negated = False
            if self.at_keyword("not"):
                self.advance()
                negated = True
            if not self.at_keyword("null"):
                raise RuleSyntaxError(f"expected 'null' after 'is', found {_describe(self.current)}", self.current.position)
            self.advance()
            return IsNull(left, negated, token.position)
        return left

    def literal(self) -> Literal:
        token = self.current
        if token.kind == "minus":
            self.advance()
            number = self.expect("number", "a number after '-'")
            return Literal(-number.value, token.position)
        if token.kind == "number":
            self.advance()
            return Literal(token.value, token.position)
        if token.kind == "string":
            self.advance()
            return Literal(token.value, token.position)
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.advance()
            return Literal(token.text == "true", token.position)
        if token.kind == "keyword" and token.text == "null":
            raise RuleSyntaxError("null is not a value: use 'is null' / 'is not null'", token.position)
        raise RuleSyntaxError(f"expected a literal, found {_describe(token)}", token.position)

    def operand(self) -> Node:
        token = self.current
        if token.kind == "lparen":
            self.advance()
            self.nested()
            node = self.or_expr()
            self.depth -= 1
            self.expect("rparen", "')'")
            return node
        if token.kind == "ident":
            self.advance()
            if self.current.kind == "lparen":
                self.advance()
                args = []
                if self.current.kind != "rparen":
                    self.nested()
                    args.append(self.operand())
                    while self.current.kind == "comma":
                        self.advance()
                        args.append(self.operand())
                    self.depth -= 1
                self.expect("rparen", f"')' closing {token.text}(")
                return Call(token.text.lower(), tuple(args), token.position)
            return Column(token.text, token.position)
        return self.literal()


def _describe(token: Token) -> str:
    return "end of rule" if token.kind == "end" else repr(token.text)


def _position(node: Node) -> int:
    return node.position


def parse_rule(text: str) -> Node:
    """Parse a rule into an AST; raises RuleSyntaxError with the character position on any problem."""
    tokens = tokenize(text)
    if tokens[0].kind == "end":
        raise RuleSyntaxError("empty rule", 0)
    return _Parser(tokens).parse()
