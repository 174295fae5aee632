#!/usr/bin/env python3
"""Checks the RouterOS scripts in firmware-config/ without a router.

Every command in every `.rsc` file is parsed (including those nested in `:if`, `[...]` and
`{...}`), and each menu path, verb, argument name and property name must be on the allow-list
below, which is drawn from /work/shared/routeros/API-NOTES.md (section named per menu); the few
entries that come from elsewhere say so. Every `{{placeholder}}` must be a known name and must sit
inside a double-quoted value, so that `mtm-agent router-script` can fill it with a
RouterOS-escaped string and a value can never break out into a new argument or command.

Usage: check_rsc.py [FILE.rsc ...]   (default: every .rsc under this directory)
Also importable: `check_text(text, name)` returns a list of error strings.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Placeholders `mtm-agent router-script` fills. Keep in step with README.md's table.
PLACEHOLDERS = {
    "agent_address",
    "api_password",
    "api_user",
    "disk",
    "enroll_code",
    "image",
    "rate_limit",
    "registry_url",
    "server_url",
}

# Scripting commands the scripts may use (RouterOS scripting; not API commands, which is fine in a
# pasted or imported script).
SCRIPTING = {":if", ":len", ":do", ":delay", ":local", ":set", ":put", ":for", ":error", ":pick"}

# Properties every item has.
COMMON_READ = {".id", "disabled", "dynamic", "comment"}


def menu(args, readonly=(), verbs=("add", "set", "find", "print", "remove"), names=(), extra=None):
    """One menu: settable args, read-only properties, allowed verbs, item names usable as ids."""
    return {
        "args": set(args),
        "readonly": set(readonly),
        "verbs": set(verbs),
        "names": set(names),
        "extra": {k: set(v) for k, v in (extra or {}).items()},
    }


MENUS = {
    # API-NOTES 5.3
    "/ip/hotspot/user/profile": menu(
        [
            "name", "rate-limit", "shared-users", "session-timeout", "idle-timeout",
            "keepalive-timeout", "status-autorefresh", "add-mac-cookie", "mac-cookie-timeout",
            "address-pool", "address-list", "on-login", "on-logout", "transparent-proxy",
            "advertise", "advertise-url", "advertise-interval", "advertise-timeout",
            "incoming-filter", "outgoing-filter", "incoming-packet-mark", "outgoing-packet-mark",
            "parent-queue", "queue-type", "insert-queue-before", "open-status-page",
        ],
        readonly={"default"},
    ),
    # API-NOTES 8.2 (name/group/password/address, policy list)
    "/user/group": menu(["name", "policy"]),
    "/user": menu(["name", "group", "password", "address"]),
    # API-NOTES 8.3 (address, disabled, max-sessions) and 7 (certificate, tls-version)
    "/ip/service": menu(
        ["address", "disabled", "max-sessions", "certificate", "tls-version"],
        readonly={"name", "port"},
        verbs=("set", "find", "print"),
        names=("api", "api-ssl"),
    ),
    # API-NOTES 8.3
    "/ip/firewall/address-list": menu(["list", "address"]),
    # API-NOTES 8.3; `place-before` (add) is the standard RouterOS argument for rule position,
    # not in API-NOTES: the notes say where the rules must go, this is how.
    "/ip/firewall/filter": menu(
        ["chain", "protocol", "dst-port", "src-address-list", "action", "comment"],
        extra={"add": {"place-before"}},
    ),
    # API-NOTES 8.1 step 4
    "/ip/firewall/nat": menu(["chain", "src-address", "action"]),
    "/interface/veth": menu(["name", "address", "gateway"]),
    "/interface/bridge": menu(["name"]),
    "/ip/address": menu(["address", "interface"]),
    "/interface/bridge/port": menu(["bridge", "interface"]),
    # API-NOTES 8.1 step 5
    "/container/config": menu(
        ["registry-url", "tmpdir", "ram-high"], verbs=("set", "print")
    ),
    # API-NOTES 8.1 step 6: `name=` is the 7.4-7.19 syntax. `list=` is 7.20+ (container-7.20.rsc),
    # not in API-NOTES (which marks the 7.20 change unverified): taken from published 7.20 scripts.
    "/container/envs": menu(["name", "list", "key", "value"]),
    # Not in API-NOTES: RouterOS container mounts (help.mikrotik.com "Container"), same
    # `name=`/`list=` generations as envs; keeps the agent's key and buffer across upgrades.
    "/container/mounts": menu(["name", "list", "src", "dst"]),
    # API-NOTES 8.1 step 7; `mounts=` pairs with /container/mounts above; `envlists=` and
    # `mountlists=` are their 7.20+ forms (same source as `list=` above).
    "/container": menu(
        [
            "remote-image", "file", "interface", "root-dir", "envlist", "mounts", "logging",
            "start-on-boot", "name", "envlists", "mountlists",
        ],
        readonly={"status"},
        verbs=("add", "set", "find", "print", "get", "remove", "start", "stop"),
    ),
    # API-NOTES 8.1 step 3
    "/system/device-mode": menu(["container"], verbs=("update", "print")),
    # API-NOTES 5.6
    "/system/resource": menu(
        [],
        readonly={"architecture-name", "version", "board-name", "cpu-count"},
        verbs=("print", "get"),
    ),
}

# Print/find modifiers that are not properties.
PRINT_WORDS = {"where", "detail", "terse", "count-only", "without-paging", "and", "or", "not"}

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
CONDITION_RE = re.compile(r"^([A-Za-z.][A-Za-z0-9.\-]*)(!=|=|~|<|>)(.*)$")
DELIMS = "[]{}();"


class Token:
    """One word of a command line; `quoted` tells whether any part was in double quotes."""

    def __init__(self, text: str, quoted: bool):
        self.text = text
        self.quoted = quoted

    def __repr__(self) -> str:  # for debugging failures
        return f"Token({self.text!r})"


def tokenize(line: str, where: str, errors: list[str]) -> list[Token]:
    """Split one line into words and delimiters; checks placeholders sit inside quotes."""
    tokens: list[Token] = []
    buf = ""
    quoted = False
    i = 0
    n = len(line)

    def flush():
        nonlocal buf, quoted
        if buf:
            tokens.append(Token(buf, quoted))
        buf, quoted = "", False

    while i < n:
        c = line[i]
        if c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if j >= n:
                errors.append(f"{where}: unterminated string")
                return tokens
            inner = line[i + 1 : j]
            for m in PLACEHOLDER_RE.finditer(inner):
                if m.group(1) not in PLACEHOLDERS:
                    errors.append(f"{where}: unknown placeholder {{{{{m.group(1)}}}}}")
            buf += inner
            quoted = True
            i = j + 1
            continue
        if line.startswith("{{", i):
            errors.append(f"{where}: placeholder outside double quotes: {line[i:].split()[0]}")
            j = line.find("}}", i)
            i = n if j < 0 else j + 2
            continue
        if c.isspace():
            flush()
        elif c in DELIMS:
            flush()
            tokens.append(Token(c, False))
        else:
            buf += c
        i += 1
    flush()
    return tokens


class Parser:
    """Recursive walk over one line's tokens, checking every command it meets."""

    def __init__(self, tokens: list[Token], where: str, errors: list[str]):
        self.t = tokens
        self.i = 0
        self.where = where
        self.errors = errors

    def err(self, msg: str):
        self.errors.append(f"{self.where}: {msg}")

    def peek(self) -> Token | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def seq(self, ctx: str | None, closer: str | None):
        """Commands separated by `;` until `closer` (or the end of the line)."""
        while True:
            tok = self.peek()
            if tok is None:
                if closer is not None:
                    self.err(f"missing '{closer}'")
                return
            if not tok.quoted and tok.text == closer:
                self.i += 1
                return
            if not tok.quoted and tok.text == ";":
                self.i += 1
                continue
            self.command(ctx, closer)

    def skip_group(self, ctx: str | None, closer: str):
        """An expression `( ... )`: any `[...]` inside holds commands; other words are values."""
        while True:
            tok = self.peek()
            if tok is None:
                self.err(f"missing '{closer}'")
                return
            self.i += 1
            if tok.quoted:
                continue
            if tok.text == closer:
                return
            if tok.text == "[":
                self.seq(ctx, "]")
            elif tok.text == "(":
                self.skip_group(ctx, ")")
            elif tok.text == "{":
                self.seq(ctx, "}")

    def at_end(self, closer: str | None) -> bool:
        tok = self.peek()
        return tok is None or (not tok.quoted and tok.text in (";", closer))

    def command(self, ctx: str | None, closer: str | None):
        tok = self.peek()
        self.i += 1
        text = tok.text
        if tok.quoted:
            self.err(f"a command cannot start with a quoted word: {text!r}")
            return
        if text.startswith(":"):
            if text not in SCRIPTING:
                self.err(f"scripting command {text} is not on the allow-list")
            self.script_args(ctx, closer)
            return
        if text.startswith("/"):
            path, _, verb = text.rpartition("/")
            if path not in MENUS:
                self.err(f"unknown menu {path or text} (in {text})")
                self.script_args(ctx, closer)
                return
            self.menu_args(path, verb, closer)
            return
        if text == "(":
            self.skip_group(ctx, ")")
            return
        if text == "{":
            self.seq(ctx, "}")
            return
        if ctx is not None and re.fullmatch(r"[a-z-]+", text):
            self.menu_args(ctx, text, closer)
            return
        self.err(f"unexpected word {text!r}")

    def script_args(self, ctx: str | None, closer: str | None):
        while not self.at_end(closer):
            tok = self.peek()
            self.i += 1
            if tok.quoted:
                continue
            if tok.text == "[":
                self.seq(ctx, "]")
            elif tok.text == "(":
                self.skip_group(ctx, ")")
            elif tok.text == "{":
                self.seq(ctx, "}")
            elif tok.text in "])}":
                self.err(f"unbalanced '{tok.text}'")

    def menu_args(self, path: str, verb: str, closer: str | None):
        m = MENUS[path]
        if verb not in m["verbs"]:
            self.err(f"verb {verb!r} not allowed on {path} (allowed: {sorted(m['verbs'])})")
        settable = m["args"] | m["extra"].get(verb, set())
        readable = m["args"] | m["readonly"] | COMMON_READ
        positional = 0
        in_where = False
        while not self.at_end(closer):
            tok = self.peek()
            self.i += 1
            text = tok.text
            if not tok.quoted and text == "[":
                self.seq(path, "]")
                positional += 1
                continue
            if not tok.quoted and text == "(":
                self.skip_group(path, ")")
                continue
            if not tok.quoted and text in "{}])":
                self.err(f"unexpected '{text}' after {path}/{verb}")
                continue
            if verb in ("find", "print") and not tok.quoted and text in PRINT_WORDS:
                in_where = in_where or text == "where"
                continue
            cond = CONDITION_RE.match(text)
            if verb in ("find", "print"):
                if cond is None:
                    self.err(f"{path}/{verb}: cannot read condition {text!r}")
                elif not in_where and cond.group(2) != "=":
                    self.err(f"{path}/{verb}: condition {text!r} needs 'where'")
                elif cond.group(1) not in readable:
                    self.err(f"{path}/{verb}: unknown property {cond.group(1)!r}")
                continue
            if cond is not None and cond.group(2) == "=" and verb in ("add", "set", "update"):
                name = cond.group(1)
                if name not in settable:
                    self.err(f"{path}/{verb}: argument {name!r} is not on the allow-list")
                if not tok.quoted and not re.fullmatch(r"\d+[smhdw]?", cond.group(3)):
                    self.err(f"{path}/{verb}: value of {name!r} is not quoted")
                continue
            # A bare word: an item name (set/remove/start/get) or, after get's item, a property.
            if verb == "get" and positional >= 1:
                if text not in readable:
                    self.err(f"{path}/get: unknown property {text!r}")
                continue
            if text in m["names"] and positional == 0:
                positional += 1
                continue
            self.err(f"{path}/{verb}: unexpected word {text!r}")


def check_text(text: str, name: str) -> list[str]:
    """All problems in one script's text; empty when it passes."""
    errors: list[str] = []
    commands = 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            errors.append(f"{name}:{no}: line continuations are not used in these scripts")
            continue
        where = f"{name}:{no}"
        tokens = tokenize(line, where, errors)
        if not tokens:
            continue
        commands += 1
        Parser(tokens, where, errors).seq(None, None)
    if commands == 0:
        errors.append(f"{name}: no commands")
    return errors


def self_test() -> list[str]:
    """The checker must refuse what it is meant to refuse."""
    bad = {
        '/ip/hotspot/user/profile/add name="x" comment="y"': "argument 'comment'",
        '/ip/hotspot/usr/add name="x"': "unknown menu",
        '/user/group/add name="{{nope}}"': "unknown placeholder",
        "/user/add name={{api_user}}": "outside double quotes",
        '/user/add name="a" password=secret': "not quoted",
        '/ip/service/set telnet disabled="yes"': "unexpected word 'telnet'",
        '/container/start [find where colour="red"]': "unknown property 'colour'",
        ':execute "x"': "not on the allow-list",
        '/user/reboot': "verb 'reboot'",
    }
    problems = []
    for line, expected in bad.items():
        errs = check_text(line, "self-test")
        if not any(expected in e for e in errs):
            problems.append(f"self-test: {line!r} should fail with {expected!r}, got {errs}")
    good = ':if ([:len [/user/find where name="{{api_user}}"]] = 0) do={ /user/add name="{{api_user}}" }'
    errs = check_text(good, "self-test")
    if errs:
        problems.append(f"self-test: {good!r} should pass, got {errs}")
    return problems


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    files = [Path(a) for a in argv] or sorted(here.rglob("*.rsc"))
    errors = self_test()
    for f in files:
        errors += check_text(f.read_text(encoding="utf-8"), str(f))
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check_rsc: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_rsc: {len(files)} script(s) ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
