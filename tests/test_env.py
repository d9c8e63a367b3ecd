"""R73: `.env` files, read as Next.js reads them (nextapi/env.py), and by `nextapi.wsgi:app`.

The parser's rules are tables (source -> values, source -> the error's line); then the
files of each mode and their precedence, the environment that always wins, expansion
across files, and a malformed line that names file and line and sets nothing. The
commands' side (`dev` and `start` exit 1) is in test_start.py.
"""
from __future__ import annotations

import os
import runpy
from collections.abc import Iterator
from pathlib import Path

import pytest

from nextapi import BuildError
from nextapi.env import ENV_FILES, EnvError, env_files, load_env, parse_env
from tests.helpers import write_tree

ENV = {"HOME_DIR": "/home/ada", "EMPTY_VAR": ""}  # what $NAME sees besides the file's own keys


@pytest.fixture
def environ() -> Iterator[os._Environ[str]]:
    """os.environ, put back as it was afterwards (load_env writes to it directly)."""
    saved = dict(os.environ)
    yield os.environ
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    os.environ.update(saved)


# -- the syntax ---------------------------------------------------------------
PARSED = [
    # KEY=value, export, comments, blank lines, spaces
    ("A=1\nB=two words\n", {"A": "1", "B": "two words"}),
    ("export A=1\nexport   B = 2\n", {"A": "1", "B": "2"}),
    ("# a comment\n\n   \n  # indented comment\nA=1\n", {"A": "1"}),
    ("  A  =  spaced out  \t\n", {"A": "spaced out"}),
    ("A=\nB=''\nC=\"\"\n", {"A": "", "B": "", "C": ""}),
    ("export=1\n", {"export": "1"}),  # a key may be called export
    ("my.key-1=x\n_9=y\n", {"my.key-1": "x", "_9": "y"}),  # dotenv's names: letters, digits, _ . -
    ("A=1\nA=2\n", {"A": "2"}),  # within a file the last line wins, as in dotenv
    ("A=a=b=c\n", {"A": "a=b=c"}),
    # ` #` starts a comment after an unquoted value; a # inside a value is the value
    ("A=value # the comment\n", {"A": "value"}),
    ("A=value\t# tab comment\n", {"A": "value"}),
    ("A=a#b\nB=http://x/#frag\n", {"A": "a#b", "B": "http://x/#frag"}),
    ("A= # only a comment\n", {"A": ""}),
    ("A=#hash\n", {"A": "#hash"}),
    # single quotes: literal, no escapes, no expansion, # kept
    ("A='$HOME_DIR \\n # not a comment'\n", {"A": "$HOME_DIR \\n # not a comment"}),
    ("A='quoted'  # comment\nB='x'#c\n", {"A": "quoted", "B": "x"}),
    ("A='  padded  '\n", {"A": "  padded  "}),
    ("A='say \"hi\"'\n", {"A": 'say "hi"'}),
    # double quotes: \n \r \" \\ escapes, expansion, may span lines, # kept
    ('A="one\\ntwo"\n', {"A": "one\ntwo"}),
    ('A="cr\\rlf"\n', {"A": "cr\rlf"}),
    ('A="say \\"hi\\""\n', {"A": 'say "hi"'}),
    ('A="back\\\\slash"\nB="C:\\dir\\tmp"\n', {"A": "back\\slash", "B": "C:\\dir\\tmp"}),
    ('A="# not a comment" # a comment\n', {"A": "# not a comment"}),
    ('A="first line\nsecond line\n  third"\nB=after\n', {"A": "first line\nsecond line\n  third", "B": "after"}),
    ('KEY="-----BEGIN KEY-----\nabc\n-----END KEY-----"\n', {"KEY": "-----BEGIN KEY-----\nabc\n-----END KEY-----"}),
    ('A="ends with a backslash\\\\"\n', {"A": "ends with a backslash\\"}),
    ('A="home: $HOME_DIR"\n', {"A": "home: /home/ada"}),
    # backticks, as dotenv has them: literal, one line
    ("A=`back $HOME_DIR`\n", {"A": "back $HOME_DIR"}),
    # $NAME and ${NAME}: the environment, then keys set before; unknown is ""
    ("A=$HOME_DIR/bin\nB=${HOME_DIR}bin\n", {"A": "/home/ada/bin", "B": "/home/adabin"}),
    ("BASE=https://api\nURL=$BASE/v1\nURL2=${BASE}/v2\n", {"BASE": "https://api", "URL": "https://api/v1",
                                                           "URL2": "https://api/v2"}),
    ("A=[$NO_SUCH_VAR_FOR_NEXTAPI]\nB=[${NO_SUCH_VAR_FOR_NEXTAPI}]\n", {"A": "[]", "B": "[]"}),
    ("A=$LATER\nLATER=x\n", {"A": "", "LATER": "x"}),  # only keys loaded before it
    ("A=${NO_SUCH_VAR_FOR_NEXTAPI:-fallback}\nB=${EMPTY_VAR:-empty}\nC=${HOME_DIR:-unused}\n",
     {"A": "fallback", "B": "empty", "C": "/home/ada"}),
    ("A=\\$HOME_DIR\nB=\"\\${HOME_DIR}\"\n", {"A": "$HOME_DIR", "B": "${HOME_DIR}"}),  # \$ is a dollar
    ("A=5$\nB=$$\nC=$-x\nD=a$ b\n", {"A": "5$", "B": "$$", "C": "$-x", "D": "a$ b"}),  # $ and no name: literal
    ("A=x\nA=${A}y\n", {"A": "xy"}),
    # line endings and a byte-order mark
    ("A=1\r\nB=\"x\r\ny\"\r\n", {"A": "1", "B": "x\ny"}),
    ("\ufeffA=1\n", {"A": "1"}),
    ("A=no final newline", {"A": "no final newline"}),
]


@pytest.mark.parametrize("source, expected", PARSED, ids=[repr(s)[:40] for s, _ in PARSED])
def test_the_syntax(source: str, expected: dict[str, str]) -> None:
    assert parse_env(source, lookup=ENV) == expected


def test_bytes_are_utf8() -> None:
    assert parse_env("A=caf\u00e9\n".encode(), lookup={}) == {"A": "caf\u00e9"}
    assert parse_env(b"\xef\xbb\xbfA=1\n", lookup={}) == {"A": "1"}


def test_the_environment_is_the_default_lookup(environ: os._Environ[str]) -> None:
    environ["NEXTAPI_TEST_FROM_ENV"] = "env"
    assert parse_env("A=$NEXTAPI_TEST_FROM_ENV\n") == {"A": "env"}


def test_the_environment_wins_over_the_files_own_key_in_expansion() -> None:
    # $HOME_DIR is what the variable will be: the environment's value, never overridden.
    assert parse_env("HOME_DIR=/file\nA=$HOME_DIR\n", lookup=ENV)["A"] == "/home/ada"


MALFORMED = [
    ("A=1\njust some words\n", 2, "expected KEY=value"),
    ("=value\n", 1, "no key"),
    ("MY KEY=1\n", 1, "'MY KEY' is not a valid name"),
    ("export FOO\n", 1, "expected KEY=value"),
    ("KEY: value\n", 1, "expected KEY=value"),
    ("A=1\nB='not closed\nC=2'\n", 2, "unterminated single quote"),  # single quotes end on their line
    ("A=`not closed\n", 1, "unterminated backtick"),
    ('A=1\n\nB="never closed\nC=2\n', 3, "unterminated double quote"),  # the line it opened on
    ("A='x' trailing\n", 1, "after the closing quote"),
    ('A="multi\nline" trailing\n', 2, "after the closing quote"),  # the line the quote closed on
    ("A=${B\n", 1, "malformed ${...}"),
    ("A=${}\n", 1, "malformed ${...}"),
    ('A="${B C}"\n', 1, "malformed ${...}"),
    ("A=nul\x00byte\n", 1, "NUL"),
]


@pytest.mark.parametrize("source, line, reason", MALFORMED, ids=[repr(s)[:40] for s, _, _ in MALFORMED])
def test_a_malformed_line_is_an_error_naming_file_and_line(source: str, line: int, reason: str) -> None:
    with pytest.raises(EnvError) as info:
        parse_env(source, file="/app/.env.local", lookup={})
    assert str(info.value).startswith(f"/app/.env.local:{line}: "), str(info.value)
    assert reason in info.value.reason
    assert (info.value.file, info.value.line) == ("/app/.env.local", line)
    assert isinstance(info.value, BuildError)  # the commands' one-line error, exit 1


def test_the_error_never_quotes_the_line() -> None:
    with pytest.raises(EnvError) as info:
        parse_env("PASSWORD='hunter2\n", lookup={})
    assert "hunter2" not in str(info.value)


def test_invalid_utf8_names_its_line() -> None:
    with pytest.raises(EnvError, match=r"^\.env:3: not UTF-8 text$"):
        parse_env(b"A=1\nB=2\nC=\xff\n", lookup={})


# -- the files, their order, the environment ------------------------------------
def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("mode", ["development", "production", "test"])
def test_the_first_file_that_sets_a_key_wins(tmp_path: Path, environ: os._Environ[str], mode: str) -> None:
    names = ENV_FILES[mode]
    # Every file sets SHARED and a key of its own; each is read, the highest one's SHARED wins.
    write(tmp_path, {name: f"NXT_SHARED={name}\nNXT_{i}={name}\n" for i, name in enumerate(names)})
    write(tmp_path, {".env.other": "NXT_OTHER=never read\n"})
    loaded = load_env(tmp_path, mode)  # type: ignore[arg-type]
    assert loaded == {"NXT_SHARED": names[0], **{f"NXT_{i}": name for i, name in enumerate(names)}}
    assert {k: environ[k] for k in loaded} == loaded
    assert "NXT_OTHER" not in environ
    for key in loaded:
        del environ[key]
    (tmp_path / names[0]).unlink()  # the next one down takes over
    assert load_env(tmp_path, mode)["NXT_SHARED"] == names[1]  # type: ignore[arg-type]


def test_each_mode_reads_its_own_files(tmp_path: Path, environ: os._Environ[str]) -> None:
    write(tmp_path, {
        ".env.development.local": "NXT_DEV_LOCAL=1\n", ".env.development": "NXT_DEV=1\n",
        ".env.production.local": "NXT_PROD_LOCAL=1\n", ".env.production": "NXT_PROD=1\n",
        ".env.test": "NXT_TEST=1\n", ".env.local": "NXT_LOCAL=1\n", ".env": "NXT_ALL=1\n",
    })
    assert ENV_FILES["development"] == (".env.development.local", ".env.local", ".env.development", ".env")
    assert ENV_FILES["production"] == (".env.production.local", ".env.local", ".env.production", ".env")
    assert [Path(p).name for p in env_files(tmp_path, "production")] == list(ENV_FILES["production"])
    assert set(load_env(tmp_path, "development")) == {"NXT_DEV_LOCAL", "NXT_LOCAL", "NXT_DEV", "NXT_ALL"}
    for key in [k for k in environ if k.startswith("NXT_")]:
        del environ[key]
    assert set(load_env(tmp_path, "production")) == {"NXT_PROD_LOCAL", "NXT_LOCAL", "NXT_PROD", "NXT_ALL"}
    for key in [k for k in environ if k.startswith("NXT_")]:
        del environ[key]
    assert set(load_env(tmp_path, "test")) == {"NXT_TEST", "NXT_ALL"}  # as Next.js: no .env.local in tests


def test_the_environment_is_never_overridden(tmp_path: Path, environ: os._Environ[str]) -> None:
    environ["NXT_SET"] = "from the shell"
    environ["NXT_BLANK"] = ""  # set, even if empty
    write(tmp_path, {".env.local": "NXT_SET=local\nNXT_BLANK=local\n", ".env": "NXT_SET=env\nNXT_NEW=new\n"})
    assert load_env(tmp_path, "development") == {"NXT_NEW": "new"}  # only what it set
    assert (environ["NXT_SET"], environ["NXT_BLANK"]) == ("from the shell", "")


def test_expansion_sees_keys_of_the_files_read_before(tmp_path: Path, environ: os._Environ[str]) -> None:
    environ["NXT_HOST"] = "shell.example"
    write(tmp_path, {
        ".env.local": "NXT_USER=ada\nNXT_EARLY=[$NXT_LATE]\n",  # .env is read after: not there yet
        ".env": "NXT_LATE=late\nNXT_URL=https://${NXT_USER}@$NXT_HOST/\nNXT_USER=bob\nNXT_HOST=file\n",
    })
    loaded = load_env(tmp_path, "development")
    # NXT_USER is .env.local's (first file wins), NXT_HOST the shell's: the values they end up with.
    assert loaded == {"NXT_USER": "ada", "NXT_EARLY": "[]", "NXT_LATE": "late",
                      "NXT_URL": "https://ada@shell.example/"}


def test_a_malformed_line_sets_nothing(tmp_path: Path, environ: os._Environ[str]) -> None:
    write(tmp_path, {".env.local": "NXT_GOOD=1\n", ".env": "NXT_OK=1\n\nNXT_BAD='x\n"})
    before = dict(environ)
    with pytest.raises(EnvError) as info:
        load_env(tmp_path, "development")
    assert (info.value.file, info.value.line) == (str(tmp_path / ".env"), 3)
    assert str(info.value).startswith(f"{tmp_path / '.env'}:3: unterminated single quote")
    assert dict(environ) == before


def test_no_files_sets_nothing_and_folders_are_not_files(tmp_path: Path, environ: os._Environ[str]) -> None:
    assert load_env(tmp_path, "production") == {}
    (tmp_path / ".env").mkdir()
    assert load_env(tmp_path, "production") == {}
    assert env_files(tmp_path, "production") == []
    with pytest.raises(ValueError, match="mode must be one of"):
        load_env(tmp_path, "staging")  # type: ignore[arg-type]


# -- nextapi.wsgi:app reads the production files ---------------------------------
ROUTE = "import os\n\ndef get(req, res):\n    return {k: os.environ.get(k) for k in ('NXT_WHICH', 'NXT_AT_IMPORT')}\n"
AT_IMPORT = "import os\n\nVALUE = os.environ['NXT_AT_IMPORT']  # read at import\n\ndef get(req, res):\n    return {'value': VALUE}\n"


def test_the_wsgi_module_reads_the_production_files(
    tmp_path: Path, environ: os._Environ[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nextapi.testing import Client

    pages = write_tree(tmp_path, {"api/which.py": ROUTE, "api/at_import.py": AT_IMPORT})
    write(tmp_path, {".env.production": "NXT_WHICH=production\nNXT_AT_IMPORT=seen\n",
                     ".env.development": "NXT_WHICH=development\n", ".env": "NXT_WHICH=env\n"})
    monkeypatch.setenv("NEXTAPI_PAGES", str(pages))
    app = runpy.run_module("nextapi.wsgi")["app"]
    client = Client(app)
    assert client.get("/api/which").json() == {"NXT_WHICH": "production", "NXT_AT_IMPORT": "seen"}
    assert client.get("/api/at_import").json() == {"value": "seen"}


def test_the_wsgi_module_raises_on_a_malformed_line(
    tmp_path: Path, environ: os._Environ[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages = write_tree(tmp_path, {"api/which.py": ROUTE})
    write(tmp_path, {".env": "# settings\nNXT_A=1\nNXT_B\n"})
    monkeypatch.setenv("NEXTAPI_PAGES", str(pages))
    with pytest.raises(EnvError, match=rf"^{__import__('re').escape(str(tmp_path / '.env'))}:3: expected KEY=value$"):
        runpy.run_module("nextapi.wsgi")
    assert "NXT_A" not in environ
