"""The scale-out deployment files are well-formed and wired together.

No container engine runs where the tests run, so instead of ``docker compose config`` the files
are parsed: ``compose.yaml`` with PyYAML and validated against the vendored Compose Specification
schema, the ``Dockerfile``, ``deploy/Caddyfile``, ``.dockerignore`` and ``.gitignore`` with the
small parsers below. The health-check command of the image is run for real against a stub
server on 127.0.0.1.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import http.server
import json
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jsonschema
import pytest
import yaml
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
GITIGNORE = ROOT / ".gitignore"
SCHEMA_DIR = ROOT / "tests" / "schemas" / "compose-spec"
SCHEMA_FILE = SCHEMA_DIR / "compose-spec.json"

APP_PORT = 8000
SERVE_CMD = ["gathering", "serve", "--host", "0.0.0.0", "--port", str(APP_PORT)]  # noqa: S104

# Environment variable names whose values are credentials.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|(?:^|_)KEY(?:_|$)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# YAML: safe loading, but a repeated key is an error (Compose rejects it, PyYAML keeps the last)


class _StrictSafeLoader(yaml.SafeLoader):
    pass


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = _load_yaml(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), "compose.yaml must be a mapping"
    return doc


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _service(compose: Mapping[str, Any], name: str) -> dict[str, Any]:
    services = compose.get("services") or {}
    assert name in services, f"compose.yaml has no service {name!r}"
    return services[name]


# --------------------------------------------------------------------------------------------
# Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err},
# ${VAR:+alt}, ${VAR+alt}, $VAR and the $$ escape.


@dataclass(frozen=True)
class Interpolation:
    name: str
    op: str = ""  # one of "", ":-", "-", ":?", "?", ":+", "+"
    arg: str = ""

    @property
    def required(self) -> bool:
        return self.op in (":?", "?")


class InterpolationError(ValueError):
    pass


_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.DOTALL)
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _split_interpolations(text: str) -> list[str | Interpolation]:
    """Literal text and interpolations of ``text``, as Compose reads them."""
    parts: list[str | Interpolation] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            parts.append("".join(literal))
            literal.clear()

    i = 0
    while i < len(text):
        if text[i] != "$":
            literal.append(text[i])
            i += 1
            continue
        following = text[i + 1 : i + 2]
        if following == "$":
            literal.append("$")
            i += 2
        elif following == "{":
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth:
                raise InterpolationError(f"unterminated ${{ in {text!r}")
            match = _BRACED.fullmatch(text[i + 2 : j - 1])
            if not match:
                raise InterpolationError(f"invalid interpolation {text[i:j]!r}")
            flush()
            parts.append(Interpolation(match[1], match[2] or "", match[3] or ""))
            i = j
        else:
            match = _BARE_NAME.match(text, i + 1)
            if not match:
                raise InterpolationError(f"lone $ in {text!r} (write $$ for a literal $)")
            flush()
            parts.append(Interpolation(match[0]))
            i = match.end()
    flush()
    return parts


def _interpolate(text: str, env: Mapping[str, str]) -> str:
    out: list[str] = []
    for part in _split_interpolations(text):
        if isinstance(part, str):
            out.append(part)
            continue
        value = env.get(part.name)
        is_set, non_empty = value is not None, bool(value)
        if part.op == "":
            out.append(value or "")
        elif part.op in (":-", "-"):
            use_value = non_empty if part.op == ":-" else is_set
            out.append(value if use_value and value is not None else _interpolate(part.arg, env))
        elif part.op in (":?", "?"):
            if not (non_empty if part.op == ":?" else is_set):
                raise InterpolationError(f"{part.name} is required: {part.arg}")
            out.append(value or "")
        else:  # ":+" / "+"
            use_alt = non_empty if part.op == ":+" else is_set
            out.append(_interpolate(part.arg, env) if use_alt else "")
    return "".join(out)


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string (keys too) in a parsed YAML document, with where it is."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(key, str):
                yield f"{path}/{key} (key)", key
            yield from _strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}/{index}")


def _environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return dict(pairs)
    return {name: None if value is None else str(value) for name, value in env.items()}


def _depends_on(service: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: dict(spec or {"condition": "service_started"}) for name, spec in deps.items()}


@dataclass(frozen=True)
class Mount:
    source: str | None
    target: str
    kind: str  # "volume" or "bind"


def _mounts(service: Mapping[str, Any]) -> list[Mount]:
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, Mapping):
            mounts.append(Mount(entry.get("source"), entry["target"], entry["type"]))
            continue
        fields = entry.split(":")
        if len(fields) == 1:
            mounts.append(Mount(None, fields[0], "volume"))
            continue
        source, target = fields[0], fields[1]
        is_path = source.startswith((".", "/", "~", "$"))
        mounts.append(Mount(source, target, "bind" if is_path else "volume"))
    return mounts


def _published_ports(service: Mapping[str, Any]) -> set[tuple[int, int, str]]:
    """(published, target, protocol) of every published port."""
    ports = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, Mapping):
            ports.add((int(entry["published"]), int(entry["target"]), entry.get("protocol", "tcp")))
            continue
        assert isinstance(entry, str), (
            f"port {entry!r} must be a quoted string (YAML 1.1 reads 80:80 as a number)"
        )
        spec, _, protocol = entry.partition("/")
        fields = spec.rsplit(":", 2)
        assert len(fields) >= 2, f"port {entry!r} publishes nothing on the host"
        ports.add((int(fields[-2]), int(fields[-1]), protocol or "tcp"))
    return ports


def _healthcheck_argv(healthcheck: Mapping[str, Any]) -> list[str]:
    """The command of a Compose healthcheck as an argv list."""
    assert not healthcheck.get("disable"), "health check is disabled"
    test = healthcheck["test"]
    if isinstance(test, str):
        return shlex.split(test)
    kind, *rest = test
    if kind == "CMD":
        return rest
    assert kind == "CMD-SHELL", f"unknown healthcheck test form {kind!r}"
    return shlex.split(" ".join(rest))


def _duration_seconds(text: str) -> float:
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    matches = re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", text)
    assert matches, f"not a duration: {text!r}"
    assert "".join(number + unit for number, unit in matches) == text, f"bad duration {text!r}"
    return sum(float(number) * units[unit] for number, unit in matches)


# --------------------------------------------------------------------------------------------
# Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int

    @property
    def exec_form(self) -> list[str] | None:
        return _json_array(self.args)


def _json_array(text: str) -> list[str] | None:
    if not text.lstrip().startswith("["):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _parse_dockerfile(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comments (also inside continuations) and blank lines
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        logical = " ".join(part for part in pending if part)
        pending = []
        keyword, _, args = logical.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    assert DOCKERFILE.is_file(), "Dockerfile is missing"
    return _parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def _only(instructions: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in instructions if i.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword} instruction, found {len(found)}"
    return found[0]


@dataclass(frozen=True)
class DockerHealthcheck:
    options: dict[str, str]
    argv: list[str]


def _docker_healthcheck(instructions: list[Instruction]) -> DockerHealthcheck:
    instruction = _only(instructions, "HEALTHCHECK")
    match = re.fullmatch(r"((?:--[a-z-]+=\S+\s+)*)CMD\s+(.+)", instruction.args, re.DOTALL)
    assert match, f"HEALTHCHECK must be `[OPTIONS] CMD ...`, got {instruction.args!r}"
    options = dict(option[2:].split("=", 1) for option in match[1].split())
    argv = _json_array(match[2])
    assert argv is not None, "HEALTHCHECK CMD must use the exec (JSON array) form"
    return DockerHealthcheck(options, argv)


def _shell_commands(script: str) -> list[list[str]]:
    """Simple commands of a RUN shell script, split at &&, || and ;."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", "||", ";", "|"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


# --------------------------------------------------------------------------------------------
# Caddyfile: tokens as Caddy's lexer reads them, grouped into directives and blocks


@dataclass
class CaddyNode:
    tokens: list[str]
    line: int
    children: list[CaddyNode] = field(default_factory=list)

    def walk(self) -> Iterator[CaddyNode]:
        for child in self.children:
            yield child
            yield from child.walk()


@dataclass(frozen=True)
class _Token:
    text: str
    line: int
    quoted: bool


def _caddy_tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, line = 0, 1
    while i < len(text):
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char.isspace():
            i += 1
        elif char == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif char in '"`':
            start_line, j, value = line, i + 1, []
            while j < len(text) and text[j] != char:
                if char == '"' and text[j] == "\\" and text[j + 1 : j + 2] == '"':
                    j += 1
                line += text[j] == "\n"
                value.append(text[j])
                j += 1
            assert j < len(text), f"unterminated quote on Caddyfile line {start_line}"
            tokens.append(_Token("".join(value), start_line, True))
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace():
                j += 1
            tokens.append(_Token(text[i:j], line, False))
            i = j
    return tokens


def _parse_caddyfile(text: str) -> CaddyNode:
    root = CaddyNode([], 0)
    stack = [root]
    current: CaddyNode | None = None
    for token in _caddy_tokens(text):
        if not token.quoted and token.text == "}":
            assert len(stack) > 1, f"unbalanced }} on Caddyfile line {token.line}"
            stack.pop()
            current = None
        elif not token.quoted and token.text == "{":
            if current is None or current.line != token.line:
                current = CaddyNode([], token.line)  # a block without a label: global options
                stack[-1].children.append(current)
            stack.append(current)
            current = None
        elif current is not None and current.line == token.line:
            current.tokens.append(token.text)
        else:
            current = CaddyNode([token.text], token.line)
            stack[-1].children.append(current)
    assert len(stack) == 1, "Caddyfile has an unclosed {"
    return root


@pytest.fixture(scope="module")
def caddyfile(compose: dict[str, Any]) -> tuple[Path, CaddyNode]:
    proxy = _service(compose, "proxy")
    sources = [
        m.source for m in _mounts(proxy) if m.kind == "bind" and m.target == "/etc/caddy/Caddyfile"
    ]
    assert len(sources) == 1, "the proxy must mount a Caddyfile at /etc/caddy/Caddyfile"
    path = (COMPOSE_FILE.parent / sources[0]).resolve()
    assert path.is_file(), f"the Caddyfile mounted into the proxy ({sources[0]}) does not exist"
    return path, _parse_caddyfile(path.read_text(encoding="utf-8"))


def _upstream_address(text: str) -> tuple[str, int]:
    parts = urlsplit(text if "://" in text else f"//{text}")
    assert parts.scheme in ("", "http"), f"upstream {text!r} must be plain http"
    assert parts.hostname, f"upstream {text!r} needs a host"
    assert parts.port, f"upstream {text!r} needs a port"
    return parts.hostname, parts.port


def _reverse_proxy_upstreams(directive: CaddyNode) -> set[tuple[str, int]]:
    """(host, port) of every upstream of one reverse_proxy directive, static or dynamic A."""
    args = directive.tokens[1:]
    if args and args[0].startswith(("@", "/", "*")):
        args = args[1:]  # a request matcher
    upstreams = {_upstream_address(arg) for arg in args}
    for sub in directive.children:
        name, *sub_args = sub.tokens
        if name == "to":
            upstreams |= {_upstream_address(arg) for arg in sub_args}
        elif name == "dynamic":
            assert sub_args[:1] == ["a"], f"unexpected dynamic upstream module {sub_args}"
            options = {c.tokens[0]: c.tokens[1:] for c in sub.children}
            host = sub_args[1] if len(sub_args) > 1 else options["name"][0]
            port = sub_args[2] if len(sub_args) > 2 else options["port"][0]
            upstreams.add((host, int(port)))
    return upstreams


# --------------------------------------------------------------------------------------------
# .dockerignore / .gitignore patterns


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class IgnoreRule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool = False


def _ignore_rules(path: Path, *, gitignore: bool) -> list[IgnoreRule]:
    rules = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line.removeprefix("!")
        dir_only = gitignore and line.endswith("/")
        line = line.rstrip("/")
        if gitignore and "/" not in line:
            line = "**/" + line  # a bare name matches at any depth in .gitignore
        rules.append(IgnoreRule(_glob_regex(line.lstrip("/")), negated, dir_only))
    return rules


def _is_ignored(rules: list[IgnoreRule], relative: str) -> bool:
    """Whether a file (or anything above it) is excluded; the last matching rule wins."""
    components = relative.split("/")
    for depth in range(1, len(components) + 1):
        candidate = "/".join(components[:depth])
        is_dir = depth < len(components)
        verdict = None
        for rule in rules:
            if rule.regex.match(candidate) and (is_dir or not rule.dir_only):
                verdict = not rule.negated
        if verdict:
            return True
    return False


# --------------------------------------------------------------------------------------------
# Tests: the vendored schema and schema validation


def test_vendored_schema_is_the_documented_upstream_copy() -> None:
    readme = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    documented = re.search(r"SHA-256 of the copy: `([0-9a-f]{64})`", readme)
    assert documented, "tests/schemas/compose-spec/README.md must state the SHA-256 of the copy"
    assert re.search(r"commit [0-9a-f]{40}", readme), "README must name the upstream commit"
    assert "Apache License 2.0" in readme
    actual = hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()
    assert actual == documented[1], "compose-spec.json differs from the documented upstream copy"


def _schema_validator_class(schema: Mapping[str, Any]) -> type[jsonschema.protocols.Validator]:
    """The validator class for the dialect named by ``$schema``.

    jsonschema knows metaschemas by their canonical ids (``http://json-schema.org/draft-07/schema#``);
    the compose schema writes ``https`` and drops the empty fragment, for which
    ``validator_for`` would silently fall back to the newest draft, so normalise first.
    """
    declared = schema["$schema"]
    cls = validator_for(schema, default=None)
    if cls is None:
        parts = urlsplit(declared)
        canonical = urlunsplit(("http", parts.netloc, parts.path, parts.query, "")) + "#"
        cls = validator_for({"$schema": canonical}, default=None)
    assert cls is not None, f"jsonschema has no validator for $schema {declared!r}"
    meta_id = cls.META_SCHEMA.get("$id") or cls.META_SCHEMA.get("id")
    assert urlsplit(meta_id).path.rstrip("/") == urlsplit(declared).path.rstrip("/")
    return cls


def _schema_errors(schema: Mapping[str, Any], document: Any) -> list[str]:
    cls = _schema_validator_class(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def test_schema_is_a_valid_draft07_schema(schema: dict[str, Any]) -> None:
    cls = _schema_validator_class(schema)
    assert cls is jsonschema.Draft7Validator
    cls.check_schema(schema)


def test_compose_file_validates_against_the_compose_spec(
    compose: dict[str, Any], schema: dict[str, Any]
) -> None:
    assert "version" not in compose, "the Compose Specification dropped the top-level version"
    errors = _schema_errors(schema, compose)
    assert not errors, "compose.yaml does not follow the Compose Specification:\n" + "\n".join(
        errors
    )


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        (("services", "app"), "replica", 2),  # misspelt service key
        (("services", "app", "deploy"), "replicas", [2]),
        (("services", "db", "healthcheck"), "test", {"cmd": "pg_isready"}),
        ((), "volume", {}),  # misspelt top-level key
    ],
)
def test_schema_validation_rejects_broken_files(
    compose: dict[str, Any], schema: dict[str, Any], where: tuple[str, ...], key: str, value: Any
) -> None:
    """Guards against a vacuous validation (wrong dialect, empty schema, ...)."""
    broken = copy.deepcopy(compose)
    node = broken
    for step in where:
        node = node[step]
    node[key] = value
    assert _schema_errors(schema, broken)


def test_yaml_loader_rejects_duplicate_keys() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key"):
        _load_yaml("services:\n  app: {}\n  app: {}\n")


def test_every_interpolation_is_well_formed(compose: dict[str, Any]) -> None:
    for where, text in _strings(compose):
        try:
            _split_interpolations(text)
        except InterpolationError as exc:
            pytest.fail(f"compose.yaml{where}: {exc}")


# --------------------------------------------------------------------------------------------
# Tests: what scaling out needs


def test_expected_services(compose: dict[str, Any]) -> None:
    assert {"proxy", "app", "db"} <= set(compose["services"])


def test_app_runs_at_least_two_replicas(compose: dict[str, Any]) -> None:
    app = _service(compose, "app")
    replicas = (app.get("deploy") or {}).get("replicas")
    assert isinstance(replicas, int), "app needs deploy.replicas"
    assert replicas >= 2
    assert app.get("scale", replicas) == replicas, "scale and deploy.replicas disagree"
    # Several copies of one service cannot share a container name or a host port.
    assert "container_name" not in app
    assert not app.get("ports"), "replicas must not publish host ports; the proxy reaches them"
    build = app.get("build")
    assert (build if isinstance(build, str) else (build or {}).get("context")) == "."


def test_app_waits_for_a_healthy_database(compose: dict[str, Any]) -> None:
    app = _service(compose, "app")
    assert _depends_on(app).get("db", {}).get("condition") == "service_healthy"


def test_app_has_its_own_healthcheck_against_healthz(compose: dict[str, Any]) -> None:
    argv = _healthcheck_argv(_service(compose, "app")["healthcheck"])
    url = _healthcheck_url(argv)
    assert (urlsplit(url).port, urlsplit(url).path) == (APP_PORT, "/healthz")


def test_db_has_a_pg_isready_healthcheck(compose: dict[str, Any]) -> None:
    db = _service(compose, "db")
    assert str(db["image"]).split("@")[0] == "postgres:15"
    argv = _healthcheck_argv(db["healthcheck"])
    assert argv[0] == "pg_isready"
    env = _environment(db)
    joined = " ".join(argv)
    # Check the database the app uses, as its user (default would be a database named "root").
    assert re.search(rf"(-U|--username)[ =]{env['POSTGRES_USER']}\b", joined)
    assert re.search(rf"(-d|--dbname)[ =]{env['POSTGRES_DB']}\b", joined)


def test_db_keeps_its_data_in_a_declared_named_volume(compose: dict[str, Any]) -> None:
    db = _service(compose, "db")
    data = [m for m in _mounts(db) if m.target == "/var/lib/postgresql/data"]
    assert len(data) == 1, "db must mount a volume at /var/lib/postgresql/data"
    assert data[0].kind == "volume"
    assert data[0].source, "an anonymous volume is lost with the container"
    assert data[0].source in (compose.get("volumes") or {}), (
        f"volume {data[0].source!r} is not declared in the top-level volumes"
    )


def test_database_url_matches_the_database_service(compose: dict[str, Any]) -> None:
    sample = {
        "POSTGRES_PASSWORD": "sample-Password_123",
        "GATHERING_DOMAIN": "gathering.example.org",
        "GATHERING_MAIL_FROM": "Gathering <gathering@example.org>",
    }
    app_env = {
        name: _interpolate(value or "", sample)
        for name, value in _environment(_service(compose, "app")).items()
    }
    db_env = {
        name: _interpolate(value or "", sample)
        for name, value in _environment(_service(compose, "db")).items()
    }
    assert app_env["GATHERING_ENV"] == "production"
    url = urlsplit(app_env["GATHERING_DATABASE_URL"])
    assert url.scheme == "postgresql+asyncpg"
    assert (url.hostname, url.port) == ("db", 5432)
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"] == sample["POSTGRES_PASSWORD"]
    assert url.path == "/" + db_env["POSTGRES_DB"]
    assert app_env["GATHERING_BASE_URL"] == "https://gathering.example.org"
    assert int(app_env["GATHERING_SMTP_PORT"]) > 0
    # Without the database password compose must refuse to start rather than use an empty one.
    without_password = {k: v for k, v in sample.items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(InterpolationError):
        _interpolate(_environment(_service(compose, "db"))["POSTGRES_PASSWORD"] or "", {})
    with pytest.raises(InterpolationError):
        _interpolate(
            _environment(_service(compose, "app"))["GATHERING_DATABASE_URL"] or "",
            without_password,
        )


# --------------------------------------------------------------------------------------------
# Tests: no secret in the file


def _assert_interpolated_secret(where: str, text: str, *, required: bool) -> None:
    parts = _split_interpolations(text)
    assert len(parts) == 1, f"{where}: secret value must be a single ${{VAR}}, not {text!r}"
    part = parts[0]
    assert isinstance(part, Interpolation), f"{where}: secret written literally"
    assert part.op not in (":+", "+"), f"{where}: {part.op} substitutes a literal value"
    if part.op in (":-", "-"):
        assert not part.arg, f"{where}: secret has a literal default"
    if required:
        assert part.required, f"{where}: use ${{{part.name}:?message}} so it cannot be empty"


def _url_password_parts(text: str) -> tuple[str, str] | None:
    """(password as written, the text it was in) of a URL with user:password@, if any."""
    placeholders: dict[str, str] = {}
    masked = []
    for index, part in enumerate(_split_interpolations(text)):
        if isinstance(part, str):
            masked.append(part)
        else:
            token = f"interpolation{index}x"
            placeholders[token] = "${" + part.name + part.op + part.arg + "}"
            masked.append(token)
    rendered = "".join(masked)
    if "://" not in rendered:
        return None
    password = urlsplit(rendered).password
    if password is None:
        return None
    return placeholders.get(password, password), text


def test_no_secret_is_written_in_compose_yaml(compose: dict[str, Any]) -> None:
    checked = 0
    for service_name, service in compose["services"].items():
        for name, value in _environment(service).items():
            where = f"services.{service_name}.environment.{name}"
            if value is None:
                continue  # taken from the shell environment as it is
            if name.endswith("_FILE"):
                continue  # a path, checked in the test for the secret key file
            if SECRET_NAME.search(name):
                # The database password has no sensible empty value; optional ones (SMTP) may be
                # empty but never have a literal default.
                _assert_interpolated_secret(where, value, required=name == "POSTGRES_PASSWORD")
                checked += 1
    # Passwords inside URLs anywhere in the file (e.g. the database URL).
    for where, text in _strings(compose):
        found = _url_password_parts(text)
        if found:
            _assert_interpolated_secret(f"compose.yaml{where}", found[0], required=True)
            checked += 1
    assert checked >= 2, "expected at least the database password and the database URL"


def test_secret_key_is_a_compose_secret_file(compose: dict[str, Any]) -> None:
    app = _service(compose, "app")
    env = _environment(app)
    assert "GATHERING_SECRET_KEY" not in env, "give the key as a file, not in the environment"
    path = env.get("GATHERING_SECRET_KEY_FILE") or ""
    match = re.fullmatch(r"/run/secrets/([A-Za-z0-9_.-]+)", path)
    assert match, "GATHERING_SECRET_KEY_FILE must point into /run/secrets/"
    secret = match[1]
    granted = {s if isinstance(s, str) else s["source"] for s in app.get("secrets") or []}
    assert secret in granted, f"app is not given the secret {secret!r}"
    for entry in app.get("secrets") or []:
        if isinstance(entry, Mapping) and entry["source"] == secret:
            assert entry.get("target", secret) == secret, "secret mounted at another path"
    declared = (compose.get("secrets") or {}).get(secret)
    assert declared, f"secret {secret!r} is not declared at top level"
    assert "file" in declared, f"top-level secret {secret!r} must be file-based"
    secret_file = (COMPOSE_FILE.parent / declared["file"]).resolve()
    relative = secret_file.relative_to(ROOT).as_posix()
    assert _is_ignored(_ignore_rules(DOCKERIGNORE, gitignore=False), relative), (
        f"{relative} would be copied into the image"
    )
    assert _is_ignored(_ignore_rules(GITIGNORE, gitignore=True), relative), (
        f"{relative} is not ignored by git"
    )


def test_secret_checks_catch_literal_values() -> None:
    """The helpers above reject what they must, so the two tests before are not vacuous."""
    for literal in ("hunter2", "${PW:-hunter2}", "pre${PW}", "${PW:+hunter2}"):
        with pytest.raises(AssertionError):
            _assert_interpolated_secret("x", literal, required=False)
    with pytest.raises(AssertionError):
        _assert_interpolated_secret("x", "${PW}", required=True)
    _assert_interpolated_secret("x", "${PW:?set PW}", required=True)
    found = _url_password_parts("postgresql+asyncpg://u:hunter2@db:5432/d")
    assert found is not None
    assert found[0] == "hunter2"
    found = _url_password_parts("postgresql+asyncpg://u:${PW:?set it}@db:5432/d")
    assert found is not None
    assert found[0] == "${PW:?set it}"


# --------------------------------------------------------------------------------------------
# Tests: the proxy


def test_proxy_publishes_http_and_https(compose: dict[str, Any]) -> None:
    proxy = _service(compose, "proxy")
    assert str(proxy["image"]).split("@")[0] == "caddy:2"
    assert {(80, 80, "tcp"), (443, 443, "tcp")} <= _published_ports(proxy)
    volumes = {m.target: m for m in _mounts(proxy)}
    # Certificates must survive a re-created container (Let's Encrypt rate limits).
    assert volumes["/data"].kind == "volume"
    assert volumes["/data"].source in (compose.get("volumes") or {})


def test_proxy_points_at_the_app(
    compose: dict[str, Any], caddyfile: tuple[Path, CaddyNode]
) -> None:
    proxy = _service(compose, "proxy")
    assert "app" in _depends_on(proxy)
    _, tree = caddyfile
    directives = [node for node in tree.walk() if node.tokens[:1] == ["reverse_proxy"]]
    assert directives, "the Caddyfile has no reverse_proxy"
    for directive in directives:
        upstreams = _reverse_proxy_upstreams(directive)
        assert upstreams == {("app", APP_PORT)}, f"line {directive.line}: proxies to {upstreams}"
        assert {h for h, _ in upstreams} <= set(compose["services"])


def test_caddyfile_reverse_proxies_to_app_8000(caddyfile: tuple[Path, CaddyNode]) -> None:
    _, tree = caddyfile
    sites = [node for node in tree.children if node.tokens and node.children]
    assert len(sites) == 1, "expected one site block"
    proxies = [node for node in sites[0].walk() if node.tokens[0] == "reverse_proxy"]
    assert len(proxies) == 1
    directive = proxies[0]
    assert _reverse_proxy_upstreams(directive) == {("app", APP_PORT)}
    # Caddy sets X-Forwarded-For/-Proto/-Host itself; the app relies on them.
    for sub in directive.walk():
        if sub.tokens[0] == "header_up" and len(sub.tokens) > 1:
            field_name = sub.tokens[1].lstrip("+-").lower()
            assert not field_name.startswith("x-forwarded-"), (
                f"line {sub.line}: do not override {sub.tokens[1]}"
            )
    # Spreading load over the replicas: one upstream per replica, re-resolved.
    dynamic = [sub for sub in directive.children if sub.tokens[:2] == ["dynamic", "a"]]
    assert dynamic, "resolve every app replica (dynamic a), not just one address"
    lb_policy = [sub.tokens[1:] for sub in directive.children if sub.tokens[0] == "lb_policy"]
    assert lb_policy in ([], [["round_robin"]], [["least_conn"]], [["random"]])


def test_caddyfile_parser_reads_static_upstreams() -> None:
    tree = _parse_caddyfile(
        '{\n\temail ops@example.org\n}\nexample.org {\n\treverse_proxy @api "app:8000" {\n'
        "\t\tto http://other:9000 # comment\n\t}\n}\n"
    )
    assert tree.children[0].tokens == []
    site = tree.children[1]
    assert site.tokens == ["example.org"]
    assert _reverse_proxy_upstreams(site.children[0]) == {("app", 8000), ("other", 9000)}


def test_caddyfile_placeholders_come_from_the_proxy_environment(
    compose: dict[str, Any], caddyfile: tuple[Path, CaddyNode]
) -> None:
    path, _ = caddyfile
    text = path.read_text(encoding="utf-8")
    names = set(re.findall(r"\{\$([A-Za-z_][A-Za-z0-9_]*)\}", text))  # no :default
    env = _environment(_service(compose, "proxy"))
    assert names <= set(env), f"not set in the proxy's environment: {sorted(names - set(env))}"
    for name in names:
        value = env[name]
        assert value is not None
        parts = _split_interpolations(value)
        assert any(isinstance(p, Interpolation) and p.required for p in parts) or all(
            isinstance(p, str) and p for p in parts
        ), f"{name} may end up empty in the Caddyfile"


# --------------------------------------------------------------------------------------------
# Tests: the image


def test_dockerfile_base_image_and_user(dockerfile: list[Instruction]) -> None:
    from_ = _only(dockerfile, "FROM")
    assert from_.args.split()[0].split("@")[0] == "python:3.11-slim"
    users = [i for i in dockerfile if i.keyword == "USER"]
    assert users, "the image must not run as root"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0"), "the last USER must not be root"
    if user.isdigit():
        created = [
            command
            for i in dockerfile
            if i.keyword == "RUN"
            for command in _shell_commands(i.args)
            if command[0] == "useradd"
        ]
        assert any(f"--uid={user}" in " ".join(c).replace("--uid ", "--uid=") for c in created)


def test_dockerfile_installs_the_lock_then_the_copied_tree_editable(
    dockerfile: list[Instruction],
) -> None:
    workdir = "/"
    copied_to: str | None = None
    installed_in: str | None = None
    locked_in: str | None = None
    for instruction in dockerfile:
        if instruction.keyword == "WORKDIR":
            workdir = str(Path(workdir, instruction.args))
        elif instruction.keyword == "COPY":
            args = instruction.exec_form or shlex.split(instruction.args)
            args = [a for a in args if not a.startswith("--")]
            if args[:-1] == ["."]:
                copied_to = str(Path(workdir, args[-1]))
        elif instruction.keyword == "RUN":
            for command in _shell_commands(instruction.args):
                if command[:2] in (["pip", "install"], ["pip3", "install"]) or command[:4] == [
                    "python",
                    "-m",
                    "pip",
                    "install",
                ]:
                    assert "--no-cache-dir" in command
                    if "-r" in command:
                        # The locked dependencies: exactly what was tested, checked by hash.
                        assert command[command.index("-r") + 1] == "requirements/main.txt"
                        assert {"--require-hashes", "--no-deps"} <= set(command)
                        locked_in = workdir
                        continue
                    assert locked_in is not None, "install requirements/main.txt first"
                    assert "--no-deps" in command, "dependencies come from the lock file only"
                    editable = command.index("-e") if "-e" in command else None
                    assert editable is not None, "install the package editable (-e)"
                    assert command[editable + 1] == "."
                    installed_in = workdir
    assert copied_to, "the Dockerfile must COPY the repository (.)"
    assert installed_in == copied_to, "pip install -e . must run in the copied tree"


def test_dockerfile_exposes_and_serves_on_8000(dockerfile: list[Instruction]) -> None:
    exposed = {
        int(p.split("/")[0]) for i in dockerfile if i.keyword == "EXPOSE" for p in i.args.split()
    }
    assert APP_PORT in exposed
    cmd = _only(dockerfile, "CMD")
    assert cmd.exec_form == SERVE_CMD, "CMD must run `gathering serve` (exec form)"
    assert not [i for i in dockerfile if i.keyword == "ENTRYPOINT"], "ENTRYPOINT would wrap CMD"


def test_dockerfile_healthcheck_targets_healthz(dockerfile: list[Instruction]) -> None:
    check = _docker_healthcheck(dockerfile)
    url = urlsplit(_healthcheck_url(check.argv))
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", APP_PORT, "/healthz")
    timeout = _duration_seconds(check.options.get("timeout", "30s"))
    assert _urlopen_timeout(check.argv) < timeout, "urlopen must give up before Docker does"


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    rules = _ignore_rules(DOCKERIGNORE, gitignore=False)
    excluded = [
        ".venv/bin/python",
        ".git/HEAD",
        "gathering.db",
        "gathering.db-wal",
        "gathering.db-shm",
        "data/other.db",
        ".gathering-secret",
        "node_modules/x/index.js",
        "gathering/__pycache__/settings.cpython-311.pyc",
        ".pytest_cache/v/cache",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/CACHEDIR.TAG",
        ".env",
    ]
    for path in excluded:
        assert _is_ignored(rules, path), f"{path} would be copied into the image"
    needed = ["gathering/__init__.py", "templates/base.html", "static/app.css", "pyproject.toml"]
    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file():
        readme = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"].get("readme")
        if isinstance(readme, str):
            needed.append(readme)  # the build backend reads it during pip install
    for path in needed:
        assert not _is_ignored(rules, path), f"{path} is needed in the image but ignored"


def test_ignore_matcher_semantics() -> None:
    root_only = [IgnoreRule(_glob_regex("*.db"), negated=False)]
    assert _is_ignored(root_only, "x.db")
    assert not _is_ignored(root_only, "sub/x.db")
    rules = [
        IgnoreRule(_glob_regex("**/*.db"), negated=False),
        IgnoreRule(_glob_regex("keep.db"), negated=True),
    ]
    assert _is_ignored(rules, "sub/deeper/x.db")
    assert not _is_ignored(rules, "keep.db")
    assert not _is_ignored(rules, "x.dbx")


# --------------------------------------------------------------------------------------------
# Tests: the health-check command really works


def _healthcheck_code(argv: list[str]) -> str:
    assert len(argv) == 3, f"health check must be `python -c CODE`, got {argv}"
    assert argv[:2] == ["python", "-c"], f"health check must be `python -c CODE`, got {argv}"
    return argv[2]


def _healthcheck_url(argv: list[str]) -> str:
    tree = ast.parse(_healthcheck_code(argv))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "urllib.request" in imported, "the health check should use urllib.request"
    urls = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("http")
    ]
    assert len(urls) == 1, f"expected one URL in the health check, found {urls}"
    return urls[0]


def _urlopen_timeout(argv: list[str]) -> float:
    tree = ast.parse(_healthcheck_code(argv))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "urlopen":
            for keyword in node.keywords:
                if keyword.arg == "timeout" and isinstance(keyword.value, ast.Constant):
                    return float(keyword.value.value)
    pytest.fail("the health check must pass a timeout to urlopen")


class _StubHealthServer(http.server.ThreadingHTTPServer):
    status = 200
    paths: list[str]


class _StubHandler(http.server.BaseHTTPRequestHandler):
    server: _StubHealthServer

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        status = self.server.status if self.path == "/healthz" else 404
        body = json.dumps({"status": "ok" if status == 200 else "unavailable"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _run_healthcheck(argv: list[str], url: str) -> int:
    code = _healthcheck_code(argv)
    original = _healthcheck_url(argv)
    assert code.count(original) == 1
    result = subprocess.run(
        [sys.executable, "-c", code.replace(original, url)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode


def _healthcheck_argv_of(source: str) -> list[str]:
    if source == "Dockerfile":
        return _docker_healthcheck(_parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))).argv
    compose = _load_yaml(COMPOSE_FILE.read_text(encoding="utf-8"))
    return _healthcheck_argv(compose["services"]["app"]["healthcheck"])


@pytest.mark.parametrize("source", ["Dockerfile", "compose app"])
def test_healthcheck_command_reports_health(source: str) -> None:
    argv = _healthcheck_argv_of(source)
    server = _StubHealthServer(("127.0.0.1", 0), _StubHandler)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    path = urlsplit(_healthcheck_url(argv)).path
    url = f"http://{host}:{port}{path}"
    try:
        server.status = 200
        assert _run_healthcheck(argv, url) == 0, f"{source}: healthy service reported unhealthy"
        server.status = 503
        assert _run_healthcheck(argv, url) != 0, f"{source}: 503 (no database) reported healthy"
        assert server.paths == ["/healthz", "/healthz"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert _run_healthcheck(argv, url) != 0, f"{source}: service down reported healthy"
