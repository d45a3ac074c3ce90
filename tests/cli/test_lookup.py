"""`portannot lookup`: ports, names, aliases, names without port, JSON, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from paths import REGISTRY_FIXTURES as FIXTURES
from paths import REPO, SHARED_REGISTRY


def run_json(cli, *args: str) -> tuple[int, list[dict]]:
    code, out, _ = cli("lookup", "--json", *args)
    return code, json.loads(out)


def test_snapshot_answers_443_tcp_offline(cli) -> None:
    code, out, err = cli("lookup", "443/tcp")
    assert code == 0, err
    assert "https" in out and "assigned" in out


@pytest.mark.parametrize("registry", ["seed.csv", "seed.xml"])
def test_every_query_kind(cli, registry: str) -> None:
    code, doc = run_json(
        cli,
        "--registry",
        str(FIXTURES / registry),
        "3136/tcp",
        "3368",
        "mysql",
        "7ksonar",
        "www",
    )
    assert code == 0
    grubd, satvid, mysql, ksonar, www = doc
    (m,) = grubd["matches"]
    assert (m["name"], m["port"], m["transports"], m["state"]) == (
        "grubd",
        3136,
        ["tcp"],
        "assigned",
    )
    (m,) = satvid["matches"]
    assert (m["name"], m["port"], m["port_range"], m["transports"]) == (
        "satvid-datalnk",
        None,
        [3367, 3371],
        ["tcp", "udp"],
    )
    (m,) = mysql["matches"]
    assert (m["port"], m["transports"], m["assignee"]) == (3306, ["tcp", "udp"], "[Monty]")
    (m,) = ksonar["matches"]
    assert (m["port"], m["port_range"], m["transports"], m["state"]) == (
        None,
        None,
        ["tcp", "udp"],
        "no port",
    )
    assert m["registration_date"] == "2023-10-03"
    (m,) = www["matches"]
    assert m["alias_of"] == "http"


def test_port_shows_primary_and_aliases(cli) -> None:
    code, doc = run_json(cli, "--registry", str(FIXTURES / "seed.csv"), "80/tcp")
    names = [(m["name"], m["alias_of"]) for m in doc[0]["matches"]]
    assert names == [("http", None), ("www", "http"), ("www-http", "http")]
    assert doc[0]["matches"][0]["aliases"] == ["www", "www-http"]


def test_details_and_people(cli) -> None:
    code, doc = run_json(
        cli, "--registry", str(FIXTURES / "seed.xml"), "iscsi-target", "abi-instrument", "3137"
    )
    (iscsi,) = doc[0]["matches"]
    assert iscsi["reference"] == "[RFC7143]" and iscsi["modification_date"] == "2013-08-27"
    assert iscsi["contact_names"] == ["IETF Chair (IETF)"]
    (abi,) = doc[1]["matches"]
    assert abi["contact_names"] == ["Carlo Quiñónez (ThermoFisher Scientific)"]
    states = {m["transports"][0]: (m["description"], m["state"]) for m in doc[2]["matches"]}
    assert states == {"tcp": ("Unassigned", "unassigned"), "udp": ("Reserved", "reserved")}


def test_text_output(cli) -> None:
    code, out, err = cli(
        "lookup", "--registry", str(FIXTURES / "seed.xml"), "abi-instrument", "3260/udp"
    )
    assert code == 0
    for text in (
        "abi-instrument",
        "Carlo Quiñónez",
        "ThermoFisher Scientific",
        "(none)",
        "iscsi-target",
        "[RFC7143]",
        "2013-08-27",
    ):
        assert text in out


def test_unknown_query_exit_1(cli) -> None:
    code, out, err = cli(
        "lookup",
        "--registry",
        str(FIXTURES / "seed.csv"),
        "mysql",
        "no-such-service",
        "5000/sctp",
    )
    assert code == 1
    assert "mysql" in out
    assert err.count("\n") == 1 and "no-such-service (no service name or alias)" in err
    assert "5000/sctp (no entry: unassigned on sctp)" in err
    code, doc = run_json(cli, "--registry", str(FIXTURES / "seed.csv"), "nothing")
    assert code == 1 and doc == [{"query": "nothing", "found": False, "matches": [], "ports": []}]


def test_a_services_file_does_not_call_an_unnamed_port_unassigned(
    cli,
) -> None:
    """The snapshot (a services file) lists names only; IANA's forms list states."""
    code, out, err = cli("lookup", "3368/udp")
    assert code == 1 and "3368/udp (no name on udp in this services file)" in err
    assert "unassigned" not in err
    code, out, err = cli("lookup", "--registry", str(FIXTURES / "seed.csv"), "5000/sctp")
    assert code == 1 and "5000/sctp (no entry: unassigned on sctp)" in err


def test_port_0_without_an_entry_says_why(cli) -> None:
    """Port 0 matched nothing with the bare query and no reason, unlike every other port."""
    code, _, err = cli("lookup", "0")
    assert code == 1 and "0 (no name on tcp, udp, sctp, dccp in this services file)" in err


@pytest.mark.parametrize("registry", [FIXTURES / "seed.csv",
                                      SHARED_REGISTRY / "service-names-port-numbers.csv",
                                      SHARED_REGISTRY / "service-names-port-numbers.xml"])
def test_port_0_has_the_state_its_records_give_everywhere(cli, registry: Path) -> None:
    """tcp and udp port 0 are reserved by records of their own (",0,tcp,Reserved",
    [RFC6335]); IANA has none for sctp or dccp port 0 (where it reserves an sctp or dccp
    port it says so: 8282). `lookup 0/sctp` said "port 0 is reserved" while the table
    and `registry info` counted the port unassigned: it is unassigned, as every sctp or
    dccp port without a record, in all three."""
    if not registry.is_file():
        pytest.skip(f"full IANA registry not available: {registry.resolve()} is absent (CI has it)")
    from portannot.registry import load_registry

    table = load_registry(str(registry)).table()
    for transport in ("sctp", "dccp"):
        assert table.state_at(transport, 0).label == "unassigned"
        code, _, err = cli("lookup", "--registry", str(registry), f"0/{transport}")
        assert code == 1 and f"0/{transport} (no entry: unassigned on {transport})" in err
        assert "reserved" not in err
    code, doc = run_json(cli, "--registry", str(registry), "0")
    matches = doc[0]["matches"]
    assert code == 0 and {m["state"] for m in matches} == {"reserved"}
    assert sorted(t for m in matches for t in m["transports"]) == ["tcp", "udp"]


def test_a_dynamic_port_is_found_and_an_unnamed_one_is_not(
    cli,
) -> None:
    """The rule README "Looking things up" states: "dynamic" is an answer (exit 0); a port
    with no record below the dynamic range is not found (exit 1), in every registry."""
    for registry in ([], ["--registry", str(FIXTURES / "seed.csv")]):
        code, out, _ = cli("lookup", *registry, "50000/tcp")
        assert code == 0 and "50000/tcp (no name) - dynamic" in out
        code, doc = run_json(cli, *registry, "50000/tcp", "5000/sctp")
        assert code == 1 and [d["found"] for d in doc] == [True, False]


def test_dynamic_port_and_services_override(
    cli, tmp_path: Path
) -> None:
    code, doc = run_json(cli, "--registry", str(FIXTURES / "seed.csv"), "60000/udp")
    assert code == 0 and doc[0]["ports"] == [
        {"port": 60000, "transport": "udp", "state": "dynamic", "name": None}
    ]
    local = tmp_path / "local"
    local.write_text("lab 60000/udp # lab service\n", encoding="utf-8")
    code, doc = run_json(
        cli,
        "--registry",
        str(FIXTURES / "seed.csv"),
        "--services",
        str(local),
        "60000/udp",
        "lab",
    )
    assert code == 0
    assert doc[0]["matches"][0]["source"] == "local" and doc[0]["matches"][0]["state"] == "assigned"


def test_bad_registry_is_exit_6(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("nonsense\n")
    code, out, err = cli("lookup", "--registry", str(bad), "80")
    assert code == 6 and "not a registry" in err


def test_a_registry_of_a_header_only_is_exit_6(cli, tmp_path: Path) -> None:
    """An IANA CSV cut after its header holds no record: it said every port was
    unassigned ('not in the registry: 80/tcp (no entry: unassigned on tcp)', exit 1)."""
    header = tmp_path / "header.csv"
    header.write_text((FIXTURES / "seed.csv").read_text(encoding="utf-8").split("\n")[0] + "\n")
    for option in ("--registry", "--services"):
        code, out, err = cli("lookup", option, str(header), "80/tcp")
        assert (code, out, err) == (6, "", f"portannot: {header}: no record in it: not a "
                                           "registry\n")


def test_a_services_file_whose_only_line_has_a_long_name_is_exit_6(cli, tmp_path: Path) -> None:
    """README: a --services file whose only line is malformed is refused; a line longer
    than 64 KiB was refused by the format's detection, which now reads past it."""
    local = tmp_path / "services"
    local.write_text("x" * 70_000 + " 99/tcp\n")
    code, out, err = cli("lookup", "--services", str(local), "80/tcp")
    assert (code, out) == (6, "") and err.count("\n") == 1
    assert err.startswith(f"portannot: {local}: no well-formed record in it (1 record "
                          f"skipped; first: {local}:1: service name of 70,000 characters")


def test_skipped_records_warned(cli, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        (FIXTURES / "seed.csv").read_text(encoding="utf-8") + "x,99999,tcp,,,,,,,,,\n",
        encoding="utf-8",
    )
    code, out, err = cli("lookup", "--registry", str(path), "mysql")
    assert code == 0 and "warning" in err and "1 record skipped" in err and f"{path}:44" in err


@pytest.mark.parametrize(
    "registry",
    [
        "service-names-port-numbers.csv",
        "service-names-port-numbers.2026-02-26.xml",
        "service-names-port-numbers.xml",
    ],
)
def test_seed_facts_on_the_full_registry(cli, registry: str) -> None:
    path = SHARED_REGISTRY / registry
    if not path.is_file():
        pytest.skip(f"full IANA registry not available: {path.resolve()} is absent (CI has it)")
    code, doc = run_json(
        cli,
        "--registry",
        str(path),
        "3136",
        "3368/tcp",
        "3260",
        "mysql",
        "1password",
        "7ksonar",
        "3360",
        "443/tcp",
    )
    assert code == 0
    grubd, satvid, iscsi, mysql, onep, ksonar, kv, https = (d["matches"] for d in doc)
    assert [(m["name"], m["transports"]) for m in grubd] == [("grubd", ["tcp", "udp"])]
    assert [(m["name"], m["port"], m["transports"]) for m in satvid] == [
        ("satvid-datalnk", None, ["tcp"])
    ]
    assert iscsi[0]["name"] == "iscsi-target" and iscsi[0]["reference"] == "[RFC7143]"
    assert iscsi[0]["transports"] == ["tcp", "udp"]
    assert mysql[0]["port"] == 3306
    assert onep[0]["port"] is None and onep[0]["transports"] == []
    assert ksonar[0]["port"] is None and ksonar[0]["transports"] == ["tcp", "udp"]
    assert kv[0]["name"] == "kv-server" and https[0]["name"] == "https"


def test_text_output_prints_registry_values_as_they_are(
    cli, tmp_path: Path
) -> None:
    """Registry text is data, not terminal markup: brackets (IANA writes "Unassigned
    [was netstat]", "Message Processing Module [recv]") and colon-words that name
    emoji (":ok:") come out exactly as the file has them."""
    from capgen import CSV_HEADER

    tricky = {
        "mpm-test": ("45", "Message Processing Module [recv]", "[/x] closes nothing"),
        "ok-test": ("46", "status :ok: and :a: and :sos:", "[mailto:someone@example.org]"),
    }
    registry = tmp_path / "tricky.csv"
    registry.write_text("\n".join(
        [CSV_HEADER] + [f'{name},{port},tcp,"{desc}",,,,,,,,"{notes}"'
                        for name, (port, desc, notes) in tricky.items()]) + "\n")
    code, out, err = cli("lookup", "--registry", str(registry), "45/tcp", "ok-test")
    assert code == 0, err
    for name, (_port, desc, notes) in tricky.items():
        assert name in out
        assert desc in out
        assert notes in out


@pytest.mark.parametrize("query", ["65536", "99999999999999999999999", "9" * 5000,
                                   "70000/tcp", "", "  "])
def test_a_port_past_65535_or_an_empty_query_is_a_usage_error(
    cli, query: str
) -> None:
    """Past five digits a port query read as a name "not in the registry" (exit 1)."""
    code, _out, err = cli("lookup", query)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("portannot: error:")


def test_a_port_is_ascii_digits(cli) -> None:
    """\\d matched any script's digits: Arabic-Indic "٨٠" was port 80."""
    code, _out, err = cli("lookup", "\u0668\u0660")
    assert code == 1 and "not in the registry" in err
    assert cli("lookup", "00080/tcp")[0] == 0


def _strings(doc: object) -> list[str]:
    """Every string value anywhere in a JSON document."""
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return []


def test_json_ports_are_integers_and_missing_values_null(cli) -> None:
    """"port" was a string ("443") beside an integer port_range, and a value the registry
    lacks was "": ports are integers (null for a range or no port) and missing values
    null. Checked against the IANA CSV's own rows, read with the csv module."""
    import csv

    path = SHARED_REGISTRY / "service-names-port-numbers.csv"
    if not path.is_file():
        pytest.skip(f"full IANA registry not available: {path.resolve()} is absent (CI has it)")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    (https,) = [r for r in rows if r["Service Name"] == "https"
                and r["Port Number"] == "443" and r["Transport Protocol"] == "tcp"]
    (satvid,) = [r for r in rows if r["Service Name"] == "satvid-datalnk"]  # no transport
    code, doc = run_json(cli, "--registry", str(path), "443/tcp", "3368/tcp", "7ksonar",
                         "50000/udp")
    assert code == 0
    (m,) = [m for m in doc[0]["matches"] if m["name"] == "https"]
    assert m["port"] == 443 and m["port_range"] == [443, 443]
    for key, column in (("registration_date", "Registration Date"),
                        ("modification_date", "Modification Date"),
                        ("service_code", "Service Code"), ("reference", "Reference")):
        assert m[key] == (https[column] or None), key
    (m,) = doc[1]["matches"]
    lo, hi = map(int, satvid["Port Number"].split("-"))
    assert m["port"] is None and m["port_range"] == [lo, hi] and lo < 3368 < hi
    (m,) = doc[2]["matches"]
    assert m["port"] is None and m["port_range"] is None
    assert doc[3]["ports"] == [{"port": 50000, "transport": "udp", "state": "dynamic",
                                "name": None}]
    assert "" not in _strings(doc)


def test_not_found_names_what_the_snapshot_was_built_from(cli) -> None:
    """The shipped snapshot's source read "snapshot:debian libwireshark-data ...
    (/usr/share/wireshark/services)", as if that file on this machine were read."""
    from portannot.registry.source import SNAPSHOT_DIR, SNAPSHOT_META

    meta = json.loads((SNAPSHOT_DIR / SNAPSHOT_META).read_text(encoding="utf-8"))
    code, _out, err = cli("lookup", "1/dccp")
    assert code == 1
    assert err.rstrip().endswith(
        f"(registry: the shipped snapshot, built from Wireshark's services file in Debian's "
        f"{meta['package']} {meta['version']})")
    assert "/usr/share" not in err


@pytest.mark.parametrize("text", ["", "# local names: none yet\n\n   # indented\n"])
def test_a_services_file_naming_nothing_adds_nothing(cli, tmp_path: Path, text: str) -> None:
    """An empty or comments-only services(5) file is valid and names nothing: it was
    refused as "not a registry" (exit 6)."""
    local = tmp_path / "services"
    local.write_text(text, encoding="utf-8")
    args = ["--registry", str(FIXTURES / "seed.csv"), "3136/tcp", "60000/udp"]
    plain = run_json(cli, *args)
    with_local = run_json(cli, *args[:2], "--services", str(local), *args[2:])
    assert with_local == plain and plain[0] == 0


def test_a_services_line_with_a_long_name_is_skipped_with_a_warning(
        cli, tmp_path: Path) -> None:
    """A --services line whose name is longer than 63 characters is a malformed record:
    one of 30 MB was a MemoryError traceback (the port table's names are as wide as the
    longest). It is reported with its line; the names around it stay."""
    local = tmp_path / "services"
    local.write_text(f"lab 60000/udp\n{'x' * 1000} 60001/udp\nlab2 60002/udp\n")
    code, out, err = cli("lookup", "--services", str(local), "60000/udp", "60002/udp")
    assert code == 0, err
    assert err.startswith(f"portannot: warning: {local}: 1 record skipped; first: {local}:2: "
                          "service name of 1,000 characters, longer than 63; line skipped")
    assert "60000/udp: lab\n" in out and "60002/udp: lab2\n" in out
    code, _out, err = cli("lookup", "--services", str(local), "60001/udp")
    assert code == 0 and "x" * 64 not in err  # dynamic: the snapshot's answer, unnamed


def test_each_heading_is_one_line(cli, tmp_path: Path) -> None:
    """An entry's heading (query, name, the primary name it is an alias of) is one line,
    however narrow the table under it: a local name for port 80 makes IANA's `http` its
    alias, and the heading of that entry is longer than the table's columns."""
    services = tmp_path / "services"
    services.write_text("mywebthing-of-some-length 80/tcp\n")
    code, out, err = cli("lookup", "--services", str(services), "80/tcp")
    assert code == 0, err
    headings = [line.rstrip() for line in out.splitlines() if line.startswith("80/tcp: ")]
    assert headings == ["80/tcp: mywebthing-of-some-length",
                        "80/tcp: http (alias of mywebthing-of-some-length)"]


def test_a_query_with_a_control_character_keeps_its_heading_one_line(cli) -> None:
    """A query matches with the whitespace around it ignored ('3136\\n', '443/tcp\\r' from
    a list given as $(cat ports.txt)), but its heading printed it raw: '3136\\n' split the
    heading over two lines (a '\\r' rich dropped). It is escaped as in error messages."""
    args = ["lookup", "--registry", str(FIXTURES / "seed.csv")]
    code, out, err = cli(*args, "3136/tcp\r", "3136\n", "60000/udp\r")
    assert code == 0, err
    assert "\r" not in out
    lines = out.splitlines()
    assert "3136/tcp\\r: grubd" in lines and "3136\\n: grubd" in lines
    assert "60000/udp\\r: 60000/udp (no name) - dynamic" in lines


@pytest.mark.parametrize("registry", ["service-names-port-numbers.csv",
                                      "service-names-port-numbers.xml"])
def test_a_port_with_its_own_reserved_record_is_reserved(cli, registry: str) -> None:
    """udp 7997: an "Unassigned" range (7983-7997) and the port's own "Reserved" record.
    `lookup` said "state unassigned" next to "description Reserved"; the port's own
    record says reserved, and each entry has its record's own state, the range's
    unassigned as its text says (it had the port's, "reserved" beside "Unassigned")."""
    path = SHARED_REGISTRY / registry
    if not path.is_file():
        pytest.skip(f"full IANA registry not available: {path.resolve()} is absent (CI has it)")
    code, doc = run_json(cli, "--registry", str(path), "7997/udp", "7775/udp", "7996/udp")
    assert code == 0
    own, own_7775, free = (d["matches"] for d in doc)
    assert [(m["port"], m["description"], m["state"]) for m in own] == [
        (None, "Unassigned", "unassigned"), (7997, "Reserved", "reserved")]
    assert [(m["port"], m["description"], m["state"]) for m in own_7775] == [
        (None, "Unassigned", "unassigned"), (7775, "Reserved", "reserved")]
    assert [m["state"] for m in free] == ["unassigned"]
    # the text, every transport: the range's block said "state assigned, reserved"
    code, out, err = cli("lookup", "--registry", str(path), "7775")
    assert code == 0, err
    blocks = [{k: v.strip() for k, v in (line.split(None, 1) for line in block.splitlines()[1:])}
              for block in out.strip().split("\n\n")]
    assert [(b["port"], b["state"], b["description"]) for b in blocks] == [
        ("7775", "assigned", "A File System using TLS over a wide area network"),
        ("7748-7776", "unassigned", "Unassigned"), ("7775", "reserved", "Reserved")]


@pytest.mark.parametrize("registry", ["service-names-port-numbers.csv",
                                      "service-names-port-numbers.xml"])
def test_a_ports_name_is_listed_before_the_unnamed_range_around_it(cli, registry: str) -> None:
    """7775/tcp (inetfs) and 7997/tcp (pushns) lie in "Unassigned" ranges IANA lists
    first: "(no name)" led the text and `matches[0].name` was null for a named port.
    Named entries come first; the others keep their order."""
    path = SHARED_REGISTRY / registry
    if not path.is_file():
        pytest.skip(f"full IANA registry not available: {path.resolve()} is absent (CI has it)")
    code, doc = run_json(cli, "--registry", str(path), "7775/tcp", "7997/tcp", "80/tcp")
    assert code == 0
    assert [[m["name"] for m in d["matches"]] for d in doc] == [
        ["inetfs", None], ["pushns", None], ["http", "www", "www-http"]]
    code, out, err = cli("lookup", "--registry", str(path), "7775/tcp", "7997")
    assert code == 0, err
    headings = [line for line in out.splitlines() if line.startswith(("7775/tcp:", "7997:"))]
    assert headings == ["7775/tcp: inetfs", "7775/tcp: (no name)",
                        "7997: pushns", "7997: (no name)", "7997: (no name)"]


@pytest.mark.parametrize("query", ["-1", "443/", "443/tcp/udp", "+443", "443 /tcp", "443-445",
                                   "7\n0000", ":443", "443.0", "-1/tcp", "443/ tcp", "4-",
                                   "/sctp", "/tcp"])
def test_a_malformed_port_query_is_a_usage_error(cli, query: str) -> None:
    """Queries that look like a port or PORT/TRANSPORT but are malformed were looked up
    as service names ("not in the registry ... no service name or alias", exit 1), while
    70000 or 443/xyz were usage errors: no service name is made so (RFC 6335 5.1: a name
    has a letter; none of IANA's starts with a sign, or with digits then '/' or a space)."""
    code, out, err = cli("lookup", "--registry", str(FIXTURES / "seed.csv"), "--", query)
    assert code == 2, err
    assert not out and len(err.splitlines()) == 1 and err.startswith("portannot: error:")
    assert "QUERY" in err and "not in the registry" not in err
    assert f"QUERY: {query.replace(chr(10), chr(92) + 'n')}: " in err  # '7\\n0000' escaped


@pytest.mark.parametrize("registry", ["service-names-port-numbers.csv",
                                      "service-names-port-numbers.xml"])
def test_every_iana_service_name_is_still_a_name_query(cli, registry: str) -> None:
    """Names with '/', '+', '-', '.' or leading digits (914c/g, whois++, 802-11-iapp,
    3com-tsmux, cl/1, EtherNet/IP-1) are names, not malformed ports: every name of the
    full registry (read with csv / xml.etree) is asked for by name and found; those not
    made of letters, digits and inner hyphens alone through the command itself."""
    import iana_reference

    from portannot.cli.lookup import parse_query
    from portannot.registry import Registry, parse_file

    path = SHARED_REGISTRY / registry
    if not path.is_file():
        pytest.skip(f"full IANA registry not available: {path.resolve()} is absent (CI has it)")
    names = sorted(iana_reference.names(path))
    reg = Registry(parse_file(path))
    assert len(names) > 7000
    for name in names:
        assert parse_query(name).name == name and reg.name_entries(name), name
    odd = [n for n in names if n[0].isdigit() or not n.replace("-", "").isalnum()]
    assert {"914c/g", "whois++", "802-11-iapp", "cl/1", "EtherNet/IP-1"} <= set(odd)
    code, doc = run_json(cli, "--registry", str(path), *odd)
    assert code == 0 and all(d["found"] for d in doc)


def test_readme_quotes_the_dynamic_answer_whole(cli) -> None:
    """README quotes what `portannot lookup 50000/tcp` prints: that line, query and all."""
    said = re.search(r"`portannot lookup 50000/tcp` prints `([^`]*)`", (REPO / "README.md").read_text())
    code, out, _ = cli("lookup", "50000/tcp")
    assert said and code == 0 and out.splitlines() == [said.group(1)]
