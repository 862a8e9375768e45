"""Files that can't hurt the loader: special files, sizes, alias bombs, deep nesting, unsafe tags,
non-finite and huge numbers — each refused quickly, as a problem with file and line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from campaigns import loader
from campaigns.errors import UserError
from campaigns.loader import CampaignError, load_campaign, parse_campaign
from tests.hostile.yamlfuzz import MINIMAL, alias_bomb

ROOT = Path(__file__).resolve().parents[2]


def problems_of(text: str) -> list[str]:
    with pytest.raises(CampaignError) as info:
        parse_campaign(text, "c.yaml")
    assert isinstance(info.value, UserError)
    return [str(p) for p in info.value.problems]


def load_problems(path: Path | str, within_s: float = 5.0) -> list[str]:
    """Load in a thread so a loader that blocks fails the test instead of hanging it."""
    out: list[object] = []

    def run() -> None:
        try:
            load_campaign(path)
            out.append("loaded")
        except CampaignError as exc:
            out.append([str(p) for p in exc.problems])
        except BaseException as exc:  # noqa: BLE001 - reported below
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(within_s)
    assert not thread.is_alive(), f"load_campaign({path}) still running after {within_s} s"
    assert time.monotonic() - started < within_s
    assert isinstance(out[0], list), f"expected a CampaignError, got {out[0]!r}"
    return out[0]


# -- special files ---------------------------------------------------------------------------------


def test_a_fifo_with_no_writer_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "campaign.yaml"
    os.mkfifo(fifo)
    [message] = load_problems(fifo)
    assert "FIFO" in message and str(fifo) in message


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_before_it_is_read(tmp_path, device):
    link = tmp_path / "campaign.yaml"
    link.symlink_to(device)
    [message] = load_problems(link, within_s=2.0)
    assert "a device, not a regular file" in message


def test_a_directory_and_a_socket_are_refused(tmp_path):
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert "directory" in load_problems(folder)[0]
    sock_path = tmp_path / "sock.yaml"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        message = load_problems(sock_path)[0]
    assert "cannot read file" in message


def test_an_oversized_file_is_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(MINIMAL + "description: '" + "x" * (loader.MAX_FILE_BYTES + 10) + "'\n")
    [message] = load_problems(big, within_s=2.0)
    assert "bytes; the limit is" in message


def test_the_cli_refuses_a_fifo_with_exit_2(tmp_path, cli_env):
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "validate", str(fifo)], cwd=ROOT, env=cli_env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "FIFO" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("name, target, expected", [
    ("fifo", "FIFO", "FIFO"),
    ("zero", "/dev/zero", "a device"),
    ("missing", "MISSING", "No such file"),
    ("huge-field", "HUGE", "not valid CSV"),
    ("latin1", "LATIN", "not UTF-8"),
    ("empty", "EMPTY", "no data rows"),
])
def test_feeders_that_cannot_be_read_are_campaign_errors(tmp_path, name, target, expected):
    files = {"FIFO": tmp_path / "users.fifo", "MISSING": tmp_path / "nope.csv", "HUGE": tmp_path / "huge.csv",
             "LATIN": tmp_path / "latin.csv", "EMPTY": tmp_path / "empty.csv"}
    os.mkfifo(files["FIFO"])
    files["HUGE"].write_text("email,password\n" + "a" * 200_000 + ",b\n")
    files["LATIN"].write_bytes(b"email,password\ncaf\xe9,x\n")
    files["EMPTY"].write_text("")
    path = str(files.get(target, target))
    campaign = tmp_path / "c.yaml"
    campaign.write_text(MINIMAL + f"data:\n  users: {{file: {path!r}}}\n")
    [message] = load_problems(campaign)
    assert "data.users.file" in message and expected in message


# -- parser limits --------------------------------------------------------------------------------


@pytest.mark.parametrize("levels, width", [(9, 10), (5, 300), (30, 2)])
def test_alias_bombs_are_refused_in_milliseconds(levels, width):
    started = time.perf_counter()
    [message] = problems_of(MINIMAL + alias_bomb(levels, width) + "\n")
    assert time.perf_counter() - started < 1.0
    assert "file too complex" in message and "aliases" in message


def test_recursive_aliases_are_refused():
    for text in ("rec: &r [a, *r]\n", "rec: &r {a: *r}\n", "a: &x\n  b: &y\n    c: *x\n"):
        [message] = problems_of(MINIMAL + text)
        assert "recursive" in message


@pytest.mark.parametrize("depth", [65, 10_000, 200_000])
def test_deep_flow_nesting_is_refused_early(depth):
    started = time.perf_counter()
    [message] = problems_of(MINIMAL + "description: " + "[" * depth + "]" * depth + "\n")
    assert time.perf_counter() - started < 1.0
    assert "nested more than 64 levels" in message and message.startswith(f"c.yaml:{MINIMAL.count(chr(10)) + 1}:")


def test_deep_block_nesting_is_refused():
    deep = "description:\n" + "".join(" " * (k + 1) + f"k{k}:\n" for k in range(300)) + " " * 301 + "v\n"
    assert "nested more than 64 levels" in problems_of(MINIMAL + deep)[0]


def test_nesting_just_under_the_limit_reaches_the_model():
    body = "x"
    for _ in range(40):
        body = f"{{a: {body}}}"
    text = MINIMAL.replace("json: {product_id: 1, qty: 2}", f"json: {body}")
    assert parse_campaign(text).endpoint("create-order").body["a"]["a"]


def test_too_many_aliases_and_too_many_values_are_refused():
    aliases = "variables:\n  base: &b 1\n  many: [" + ", ".join(["*b"] * 1001) + "]\n"
    assert "more than 1000 aliases" in problems_of(MINIMAL + aliases)[0]
    values = "variables:\n  many: [" + ", ".join(["1"] * (loader.MAX_NODES + 1)) + "]\n"
    assert "holds more than 100,000 values" in problems_of(MINIMAL + values)[0]


def test_a_campaign_of_a_thousand_endpoints_loads_in_a_second():
    eps = "".join(f"  - {{name: ep-{i}, path: /api/items/{i}, expect: {{status: [200]}}}}\n" for i in range(1000))
    started = time.perf_counter()
    c = parse_campaign(MINIMAL.replace("endpoints:\n", "endpoints:\n" + eps))
    assert len(c.endpoints) == 1003 and time.perf_counter() - started < 2.0


# -- YAML errors: every one a problem with a line ------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("!!python/object/apply:os.system ['true']", "could not determine a constructor"),
    ("!!python/name:os.system", "could not determine a constructor"),
    ("2020-13-45", "'2020-13-45' is not a valid date or time"),
    ("!!timestamp not-a-date", "is not a valid date or time"),
    ("!!int abc", "'abc' is not a valid int"),
    ("!!float abc", "is not a valid float"),
    ("9" * 5000, "too large a number"),
    ("{? [a]: 1}", "unhashable key"),
    ("*undefined", "undefined alias"),
    ("'unterminated", "invalid YAML"),
    ('"\\0"', None),  # a NUL inside a quoted string is a valid string, refused by no one here
])
def test_yaml_errors_are_problems_at_their_line(value, expected):
    text = MINIMAL + f"description: {value}\n"
    line = MINIMAL.count("\n") + 1
    try:
        parse_campaign(text, "c.yaml")
    except CampaignError as exc:
        assert expected is not None, exc.problems
        [problem] = exc.problems
        assert problem.line in (line, line + 1) and expected in problem.message, problem
        return
    assert expected is None


def test_control_characters_and_bad_bytes_are_problems(tmp_path):
    assert "control character U+0000" in problems_of(MINIMAL + "description: a\0b\n")[0]
    f = tmp_path / "c.yaml"
    f.write_bytes(MINIMAL.encode() + b"description: caf\xe9\n")
    [message] = load_problems(f)
    assert f"c.yaml:{MINIMAL.count(chr(10)) + 1}: not UTF-8" in message


def test_two_documents_and_duplicate_keys_are_problems():
    assert "expected a single document" in problems_of(MINIMAL + "---\ncampaign: other\n")[0]
    dup = problems_of(MINIMAL + "team: again\n")
    assert dup == [f"c.yaml:{MINIMAL.count(chr(10)) + 1}: team: key appears twice"]


def test_thousands_of_problems_are_capped():
    text = MINIMAL + "".join(f"team: {i}\n" for i in range(5000))
    found = problems_of(text)
    assert len(found) == loader.MAX_PROBLEMS + 1 and found[-1].endswith(f"… and {5000 - 200} more problems")


# -- values the model refuses ----------------------------------------------------------------------


@pytest.mark.parametrize("old, new, expected", [
    ("max_duration: 5m", "max_duration: .inf", "max_duration: a duration is a finite number of seconds"),
    ("max_duration: 5m", "max_duration: .nan", "max_duration: a duration is a finite number of seconds"),
    ("max_duration: 5m", "max_duration: 99999h", "longer than the longest duration allowed"),
    ("max_rps: 50", "max_rps: .inf", "max_rps: Input should be a finite number"),
    ("max_rps: 50", "max_rps: 1.0e+300", "max_rps: Input should be less than or equal to 1000000"),
    ("max_vus: 20", "max_vus: 100000000000000000000", "max_vus: "),
    ("duration: 5s", "duration: .inf", "load.duration: a duration is a finite number of seconds"),
    ("rate: 10", "rate: .nan", "load.rate: Input should be a finite number"),
    ("rate: 10", "rate: 10000001", "load.rate: Input should be less than or equal to 1000000"),
    ("params: {id: [1, 2, 3]}", "params: {id: [.inf]}", "params.id[0]"),
    ('"p(95)<300"', '"p(1e999)<300"', "thresholds"),
])
def test_non_finite_and_huge_numbers_are_refused(old, new, expected):
    assert old in MINIMAL
    found = problems_of(MINIMAL.replace(old, new, 1))
    assert any(expected in p for p in found), found


def test_headers_and_paths_that_would_break_a_request_are_refused():
    bad_value = MINIMAL.replace("expect: {status: [200]}}", 'headers: {X-A: "a\\r\\nX-Injected: 1"}, expect: {status: [200]}}', 1)
    assert any("control character U+000D" in p for p in problems_of(bad_value))
    bad_name = MINIMAL.replace("expect: {status: [200]}}", 'headers: {"X A": "1"}, expect: {status: [200]}}', 1)
    assert any("is not an HTTP token" in p for p in problems_of(bad_name))
    non_latin = MINIMAL.replace("expect: {status: [200]}}", 'headers: {X-A: "日本"}, expect: {status: [200]}}', 1)
    assert any("ISO-8859-1" in p for p in problems_of(non_latin))
    crlf_path = MINIMAL.replace('path: "/api/products?limit=20"', 'path: "/api/x\\r\\nHost: evil"', 1)
    assert any("control character" in p for p in problems_of(crlf_path))


def test_non_ascii_and_spaces_in_paths_are_percent_encoded():
    text = MINIMAL.replace('path: "/api/products?limit=20"', 'path: "/api/café/a b/{{ $randomInt(1, 4) }}"', 1)
    assert parse_campaign(text).endpoints[0].path == "/api/caf%C3%A9/a%20b/{{ $randomInt(1, 4) }}"
    params = MINIMAL.replace("params: {id: [1, 2, 3]}", "params: {id: [é, 2]}", 1)
    assert parse_campaign(params).endpoint("product").params["id"] == ["%C3%A9", 2]
