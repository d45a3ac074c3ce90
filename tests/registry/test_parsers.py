"""The parsers on hand-written fixtures from the seed excerpts: every rule of issue #2."""

from __future__ import annotations

from pathlib import Path

import pytest

from portannot.errors import RegistryError
from portannot.registry import (
    PortState,
    Registry,
    build_table,
    detect_format,
    parse_bytes,
    parse_file,
)
from portannot.registry.record import readable_id
from portannot.registry.services_file import parse_services

SEED_RECORDS = 38


def _by(parsed, name, transport="any"):
    return [
        r
        for r in parsed.records
        if r.name == name and (transport == "any" or r.transport == transport)
    ]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("seed.csv", "iana-csv"),
        ("seed.xml", "iana-xml"),
        ("wireshark-services", "services"),
        ("etc-services", "services"),
        ("nmap-services", "nmap-services"),
    ],
)
def test_format_detected_from_content(fixtures: Path, tmp_path: Path, name: str, fmt: str) -> None:
    # Renamed to a name that says nothing: only the content decides.
    blind = tmp_path / "registry.dat"
    blind.write_bytes((fixtures / name).read_bytes())
    assert parse_file(blind).format == fmt
    assert detect_format((fixtures / name).read_text(encoding="utf-8")) == fmt


def test_a_services_file_that_mentions_nmap_keeps_its_aliases() -> None:
    """The third column decides nmap-services, not the word in a comment: a services(5)
    line's aliases are not frequencies (they were: the line was skipped as a bad one)."""
    text = "mydns 53/udp\nmyweb\t80/tcp\tw1 w2\t# as in nmap-services\n"
    assert detect_format(text) == "services"
    parsed = parse_services(text, "s")
    assert not parsed.problems
    assert [(r.name, r.aliases) for r in parsed.records] == [("mydns", ()), ("myweb", ("w1", "w2"))]


def test_gzip_is_read(fixtures: Path, tmp_path: Path) -> None:
    import gzip

    gz = tmp_path / "r.gz"
    gz.write_bytes(gzip.compress((fixtures / "seed.csv").read_bytes()))
    assert len(parse_file(gz)) == SEED_RECORDS


def test_csv_keeps_every_field(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "seed.csv")
    assert len(parsed) == SEED_RECORDS and not parsed.problems
    (iscsi,) = _by(parsed, "iscsi-target", "tcp")
    assert (iscsi.port_lo, iscsi.port_hi, iscsi.description) == (3260, 3260, "iSCSI port")
    assert (iscsi.assignee, iscsi.contact, iscsi.reference) == (
        "[IESG]",
        "[IETF_Chair]",
        "[RFC7143]",
    )
    assert iscsi.modification_date == "2013-08-27"
    (mdtp,) = _by(parsed, "mdtp", "udp")
    assert mdtp.registration_date == "2012-02-21" and mdtp.reference == "[RFC6513]"
    (ksonar,) = _by(parsed, "7ksonar", "tcp")
    assert ksonar.assignment_notes == "Defined TXT keys: None"
    # commas and line breaks inside quoted fields
    (acs,) = _by(parsed, "acs-ctl-ds")
    assert acs.assignment_notes == "Defined TXT keys: MAC=, GW-MAC"
    (abi,) = _by(parsed, "abi-instrument")
    assert abi.assignment_notes.count("\n") == 2 and "version=<firmware" in abi.assignment_notes
    www_http = _by(parsed, "www-http", "tcp")[0]
    assert 'duplicate of the "http" service' in www_http.assignment_notes


def test_csv_crlf_and_lf_read_the_same(fixtures: Path, tmp_path: Path) -> None:
    text = (fixtures / "seed.csv").read_bytes()
    assert b"\r\n" not in text
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(text.replace(b"\n", b"\r\n"))
    lf, cr = parse_file(fixtures / "seed.csv"), parse_file(crlf)
    # Line breaks inside quoted fields stay CRLF as sent; compare modulo that.
    norm = [
        tuple(
            str(v).replace("\r\n", "\n")
            for v in (r.name, r.port_text, r.transport, r.description, r.assignment_notes)
        )
        for r in cr.records
    ]
    assert norm == [
        (r.name, r.port_text, str(r.transport), r.description, r.assignment_notes)
        for r in lf.records
    ]


def test_xml_records_people_and_date(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "seed.xml")
    assert len(parsed) == SEED_RECORDS and not parsed.problems
    assert parsed.date == "2025-10-22"
    assert parsed.people["Carlo_Quiñónez"].display() == "Carlo Quiñónez (ThermoFisher Scientific)"
    assert parsed.people["S_Magnenat"].name == "Stéphane Magnenat"
    (iscsi,) = _by(parsed, "iscsi-target", "udp")
    assert (iscsi.assignee, iscsi.contact, iscsi.reference) == (
        "[IESG]",
        "[IETF_Chair]",
        "[RFC7143]",
    )
    (grubd,) = _by(parsed, "grubd", "tcp")
    # no <assignee>: the one person is assignee and contact, as the CSV shows
    assert grubd.assignee == grubd.contact == "[Kord_Campbell]"
    (air,) = _by(parsed, "airsharing")
    assert air.contact == "[Erik_Rogers][Dave_Howell]"


def test_csv_and_xml_fixtures_agree(fixtures: Path) -> None:
    csv_, xml = parse_file(fixtures / "seed.csv"), parse_file(fixtures / "seed.xml")
    assert csv_.records == xml.records  # every field (line numbers excluded)
    a, b = build_table(csv_.records), build_table(xml.records)
    assert (a.name_index == b.name_index).all() and (a.state == b.state).all()
    assert list(a.names) == list(b.names)


def test_names_without_port_are_kept_and_never_in_the_table(fixtures: Path) -> None:
    for name in ("seed.csv", "seed.xml"):
        reg = Registry(parse_file(fixtures / name))
        (onep,) = reg.by_name("1password")
        assert onep.port_lo is None and onep.transport is None and onep.transports == ()
        ksonar = reg.by_name("7ksonar")
        assert sorted(r.transport for r in ksonar) == ["tcp", "udp"]
        assert all(not r.has_port for r in ksonar)
        table = reg.table()
        for absent in ("1password", "7ksonar", "abi-instrument", "acsp-server"):
            assert table.name_id(absent) == 0, absent


def test_port_range_names_every_port_on_tcp_and_udp(fixtures: Path) -> None:
    table = Registry(parse_file(fixtures / "seed.csv")).table()
    for port in range(3367, 3372):
        for transport in ("tcp", "udp"):
            assert table.name_at(transport, port) == "satvid-datalnk"
            assert table.state_at(transport, port) == PortState.ASSIGNED
        # no transport means tcp and udp, not sctp or dccp
        assert table.name_at("sctp", port) == "" and table.name_at("dccp", port) == ""
    assert table.name_at("tcp", 3366) == "" and table.name_at("tcp", 3372) == ""


def test_first_name_is_primary_others_are_aliases(fixtures: Path) -> None:
    reg = Registry(parse_file(fixtures / "seed.csv"))
    table = reg.table()
    assert table.name_at("tcp", 80) == "http" and table.name_at("udp", 80) == "http"
    assert table.name_at("sctp", 80) == "http"
    assert [r.name for r in reg.at_port(80, "tcp")] == ["http", "www", "www-http"]
    assert reg.at_port(80, "TCP") == reg.at_port(80, "tcp")  # as by_name, any case
    with pytest.raises(TypeError, match="integer"):
        reg.at_port("80")  # type: ignore[arg-type]
    assert reg.by_name("www-http")[0].port_lo == 80
    assert reg.by_name("WWW")  # case-insensitive


def test_unnamed_records_keep_the_registry_word(fixtures: Path) -> None:
    reg = Registry(parse_file(fixtures / "seed.csv"))
    table = reg.table()
    assert table.state_at("tcp", 0) == PortState.RESERVED
    assert table.state_at("tcp", 3137) == PortState.UNASSIGNED
    assert table.state_at("udp", 3137) == PortState.RESERVED
    assert (
        table.state_at("tcp", 49151) == PortState.RESERVED
        and table.state_at("udp", 49151) == PortState.RESERVED
    )
    assert table.state_at("tcp", 3373) == PortState.UNASSIGNED
    assert [r.description for r in reg.at_port(3137)] == ["Unassigned", "Reserved"]
    for transport in ("tcp", "udp", "sctp", "dccp"):
        assert table.state_at(transport, 49152) == PortState.DYNAMIC
        assert table.state_at(transport, 65535) == PortState.DYNAMIC
    assert table.state_at("sctp", 5000) == PortState.UNASSIGNED


def test_non_ascii_survives(fixtures: Path) -> None:
    for name in ("seed.csv", "seed.xml"):
        reg = Registry(parse_file(fixtures / name))
        assert reg.by_name("abi-instrument")[0].contact == "[Carlo_Quiñónez]"
        assert reg.person_names("[Joachim_Ståhl]")[0].startswith("Joachim Ståhl")
    xml = Registry(parse_file(fixtures / "seed.xml"))
    assert xml.person_names("[S_Magnenat]") == ["Stéphane Magnenat"]
    etc = parse_file(fixtures / "etc-services")
    assert "Ståhl" in _by(etc, "acsp-server")[0].description
    assert (
        readable_id("Carlo_Quiñónez") == "Carlo Quiñónez"
        and readable_id("Bob_Bradley_2") == "Bob Bradley"
    )


def test_wireshark_services(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "wireshark-services")
    assert not parsed.problems
    discard = _by(parsed, "discard")
    assert [r.transport for r in discard] == ["tcp", "udp", "sctp", "dccp"]
    assert discard[0].description == "Discard"
    table = build_table(parsed.records)
    assert table.name_at("dccp", 9) == "discard"
    assert table.name_at("udp", 3370) == "satvid-datalnk"
    assert table.name_at("sctp", 80) == "http" and table.name_at("dccp", 80) == ""


def test_etc_services_aliases(fixtures: Path) -> None:
    reg = Registry(parse_file(fixtures / "etc-services"))
    (http_tcp, http_udp) = reg.by_name("www")
    assert http_tcp.name == "http" and http_tcp.aliases == ("www", "www-http")
    assert http_tcp.description == "WorldWideWeb HTTP" and http_udp.description == ""
    assert reg.table().name_at("tcp", 80) == "http"


def test_nmap_services_frequency(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "nmap-services")
    assert parsed.format == "nmap-services" and not parsed.problems
    (http,) = _by(parsed, "http", "tcp")
    assert http.frequency == pytest.approx(0.484143)
    table = build_table(parsed.records)
    assert table.name_at("tcp", 3306) == "mysql"
    # nmap's placeholder "unknown" is no name
    assert table.name_at("tcp", 4) == "" and table.name_id("unknown") == 0
    assert table.state_at("tcp", 49152) == PortState.DYNAMIC


# -- malformed input: an error naming file and line, or a counted, reported skip ---


def test_csv_bad_records_are_counted_skips_with_lines(fixtures: Path, tmp_path: Path) -> None:
    lines = (fixtures / "seed.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    bad = [
        "toolong,99999,tcp,Port too large,,,,,,,,\n",
        "backwards,20-10,tcp,Range backwards,,,,,,,,\n",
        "oddproto,5,icmp,Unknown protocol,,,,,,,,\n",
        "short,7,tcp\n",
        ",,,Neither name nor port,,,,,,,,\n",
    ]
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines[:3] + bad + lines[3:]), encoding="utf-8")
    parsed = parse_file(path)
    assert len(parsed) == SEED_RECORDS
    assert [p.line for p in parsed.problems] == [4, 5, 6, 7, 8]
    assert all(str(p).startswith(f"{path}:") for p in parsed.problems)
    assert "beyond 65535" in parsed.problems[0].message
    assert "expected 12 fields, found 3" in parsed.problems[3].message


def test_csv_line_numbers_count_physical_lines(fixtures: Path, tmp_path: Path) -> None:
    text = (fixtures / "seed.csv").read_text(encoding="utf-8") + "late,70000,tcp,x,,,,,,,,\n"
    path = tmp_path / "late.csv"
    path.write_text(text, encoding="utf-8")
    (problem,) = parse_file(path).problems
    assert problem.line == len(text.splitlines())  # despite multi-line records above


def test_csv_unterminated_quote_is_an_error_with_line(tmp_path: Path, fixtures: Path) -> None:
    head = (fixtures / "seed.csv").read_text(encoding="utf-8").splitlines(keepends=True)[:3]
    path = tmp_path / "trunc.csv"
    path.write_text("".join(head) + 'cut,9,tcp,"unterminated\n', encoding="utf-8")
    with pytest.raises(RegistryError, match=rf"{path.name}:4: malformed CSV"):
        parse_file(path)


def test_wrong_header_and_binary_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Name,Port\nhttp,80\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="not a registry"):
        parse_file(path)
    path.write_bytes(b"Service Name,Port Number,Transport Protocol,x\n")
    with pytest.raises(RegistryError, match=r"x.csv:1: not an IANA service-names CSV header"):
        parse_file(path)
    path.write_bytes(b"Service Name,Port Number,Transport Protocol\n\xff\xfe")
    with pytest.raises(RegistryError, match=r"x.csv:2: not UTF-8"):
        parse_file(path)
    path.write_text("<!DOCTYPE html><html><body>Not found</body></html>", encoding="utf-8")
    with pytest.raises(RegistryError, match="HTML page"):
        parse_file(path)


def test_xml_errors_and_skips_name_the_line(fixtures: Path, tmp_path: Path) -> None:
    text = (fixtures / "seed.xml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.xml"
    broken.write_text(
        text.replace("<number>3306</number>", "<number>3306</numbr>", 1), encoding="utf-8"
    )
    line = text[: text.index("<number>3306</number>")].count("\n") + 1
    with pytest.raises(RegistryError, match=rf"broken.xml:{line}: malformed XML"):
        parse_file(broken)
    skip = tmp_path / "skip.xml"
    skip.write_text(
        text.replace("<number>3306</number>", "<number>x3306</number>", 1), encoding="utf-8"
    )
    parsed = parse_file(skip)
    assert len(parsed) == SEED_RECORDS - 1
    (problem,) = parsed.problems
    assert problem.line == text[: text.index("<name>mysql</name>")].count("\n")  # the <record> line
    assert "bad port number" in problem.message
    truncated = tmp_path / "trunc.xml"
    truncated.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(RegistryError, match=r"trunc.xml:\d+: malformed XML"):
        parse_file(truncated)


def test_services_bad_lines_are_counted(fixtures: Path, tmp_path: Path) -> None:
    path = tmp_path / "services"
    path.write_text(
        (fixtures / "wireshark-services").read_text()
        + "lonely\nbadport 70000/tcp\nbadproto 7/xtp\n",
        encoding="utf-8",
    )
    parsed = parse_file(path)
    assert [p.line for p in parsed.problems] == [19, 20, 21]
    assert len(parsed.records) == len(parse_file(fixtures / "wireshark-services").records)


def test_services_empty_protocol_is_malformed_and_ddp_is_not_ours() -> None:
    parsed = parse_services(
        "http 80/tcp\n"
        "bad 12/\n"  # no protocol: not "every transport"
        "foo 8080/tcp/\n"
        "rtmp 1/ddp  # Routing Table Maintenance Protocol (AppleTalk, as Debian lists it)\n"
        "echo 4/ddp\n"
    )
    assert [p.line for p in parsed.problems] == [2, 3]
    assert all("empty protocol" in p.message for p in parsed.problems)
    assert [(r.name, r.port_lo, r.transport) for r in parsed.records] == [("http", 80, "tcp")]
    table = build_table(parsed.records)
    assert table.name_at("udp", 12) == "" and table.name_at("tcp", 8080) == ""
    assert table.name_at("tcp", 1) == "" and table.name_at("udp", 4) == ""


def test_parse_bytes_names_the_origin() -> None:
    with pytest.raises(RegistryError, match="^http://x/y: "):
        parse_bytes(b"hello world", "http://x/y")


def test_a_services_file_with_a_latin1_comment_is_read_with_a_warning(
    tmp_path, caplog
) -> None:
    """One byte that is not UTF-8 (a Latin-1 'ç' in a comment) refused the whole file:
    in a services or nmap-services file it is read as U+FFFD, the line named in a
    warning, every record kept; on the cached table's later loads too."""
    import logging

    from portannot.registry import load_table, parse_bytes

    data = b"# fran\xe7ais\nhttp 80/tcp # caf\xe9\nssh 22/tcp\n"
    parsed = parse_bytes(data, "latin.services")
    assert [r.name for r in parsed.records] == ["http", "ssh"] and not parsed.problems
    assert parsed.notes == ["latin.services:1: not UTF-8 text (byte 0xe7) (and 1 more "
                            "line): read with U+FFFD in place of the bytes that are not"]
    path = tmp_path / "latin.services"
    path.write_bytes(data)
    for _ in range(2):  # parsed, then from the cache
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="portannot.registry"):
            assert load_table(path).name_at("tcp", 22) == "ssh"
        assert [r.getMessage() for r in caplog.records] == [
            f"{path}:1: not UTF-8 text (byte 0xe7) (and 1 more line): read with U+FFFD "
            "in place of the bytes that are not"]


def test_an_iana_csv_that_is_not_utf8_is_refused(fixtures) -> None:
    """The IANA CSV and XML are UTF-8 by definition: a byte that is not is damage."""
    from portannot.errors import RegistryError
    from portannot.registry import parse_bytes

    data = (fixtures / "seed.csv").read_bytes() + b"\xe9\n"
    with pytest.raises(RegistryError, match=r"seed.csv:\d+: not UTF-8 text \(byte 0xe9\)"):
        parse_bytes(data, "seed.csv")


def _with_records(fixtures: Path, fixture: str, names: list[str]) -> str:
    """The fixture's text with a record for port 40001 per name added at its end."""
    text = (fixtures / fixture).read_text(encoding="utf-8")
    if fixture == "seed.xml":
        added = "".join(f"  <record><name>{n}</name><protocol>tcp</protocol>"
                        f"<number>40001</number></record>\n" for n in names)
        return text.replace("  <people>", added + "  <people>", 1)
    line = {"seed.csv": "{},40001,tcp,,,,,,,,,\n", "nmap-services": "{} 40001/tcp 0.000100\n",
            "etc-services": "{} 40001/tcp\n"}[fixture]
    return text.rstrip("\n") + "\n" + "".join(line.format(n) for n in names)


@pytest.mark.parametrize("fixture", ["seed.csv", "seed.xml", "etc-services", "nmap-services"])
def test_a_service_name_longer_than_63_is_a_malformed_record(
        fixtures: Path, tmp_path: Path, fixture: str) -> None:
    """The port table holds every name at the width of the longest: a 30 MB name in a
    --services file was a MemoryError traceback (743 GiB asked of numpy). A name of 64
    characters is skipped, reported with its line and length, and the records around it
    are kept, one of 63 (a DNS label's most) among them."""
    plain = parse_file(fixtures / fixture)
    path = tmp_path / fixture
    path.write_text(_with_records(fixtures, fixture, ["a" * 63, "b" * 64]), encoding="utf-8")
    parsed = parse_file(path)
    assert [r.name for r in parsed.records] == [r.name for r in plain.records] + ["a" * 63]
    (problem,) = parsed.problems
    lines = path.read_text(encoding="utf-8").splitlines()
    assert problem.line == next(i for i, t in enumerate(lines, 1) if "b" * 64 in t)
    assert "service name of 64 characters, longer than 63" in problem.message
    assert "b" * 64 not in str(problem)
    assert build_table(parsed.records).names.dtype.itemsize == 63 * 4


@pytest.mark.parametrize("fixture", ["etc-services", "nmap-services"])
@pytest.mark.parametrize("opening", ["comments", "one comment", "a long name"])
def test_a_services_file_is_known_past_its_first_64_kib(
        fixtures: Path, tmp_path: Path, fixture: str, opening: str) -> None:
    """The format was decided from the first 64 KiB alone: a services file opening with
    72 kB of comments (which glibc's getent reads as any other) or with one line longer
    than that was 'not a registry' (exit 6), every record lost. Its first 50 data lines
    decide now, wherever they are; a first line of a 70,000-character name is a malformed
    record, skipped, and the rest read."""
    plain = parse_file(fixtures / fixture)
    head = {"comments": "# " + "c" * 70 + "\n", "one comment": "# " + "c" * 70_000 + "\n",
            "a long name": "x" * 70_000 + " 99/tcp\n"}[opening]
    path = tmp_path / fixture
    text = head * (1000 if opening == "comments" else 1)
    path.write_text(text + (fixtures / fixture).read_text(encoding="utf-8"), encoding="utf-8")
    assert len(text) > 64 * 1024
    parsed = parse_file(path)
    assert parsed.format == plain.format
    assert [(r.name, r.port_lo, r.transport) for r in parsed.records] == [
        (r.name, r.port_lo, r.transport) for r in plain.records]
    assert not plain.problems
    assert [p.line for p in parsed.problems] == ([1] if opening == "a long name" else [])


def test_a_csv_field_past_128_kib_is_its_record_s_alone(fixtures: Path, tmp_path: Path) -> None:
    """A field longer than the csv module's 128 KiB limit refused the whole file
    ('malformed CSV (field larger than field limit (131072))', exit 6). It is read now,
    and its record judged as any: a 200 kB description is kept whole, a 200,000-character
    name is a malformed record; the records around them stay, and the limit is put back."""
    import csv

    text = (fixtures / "seed.csv").read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    long_text = "d" * 200_000
    path = tmp_path / "long.csv"
    path.write_text(f'{header}\nlongdesc,40001,tcp,"{long_text}",,,,,,,,\n'
                    f"{'n' * 200_000},40002,tcp,,,,,,,,,\n{rest}", encoding="utf-8")
    limit = csv.field_size_limit()
    parsed = parse_file(path)
    assert csv.field_size_limit() == limit
    plain = parse_file(fixtures / "seed.csv")
    assert [r.name for r in parsed.records] == ["longdesc"] + [r.name for r in plain.records]
    assert parsed.records[0].description == long_text
    (problem,) = parsed.problems
    assert problem.line == 3 and "service name of 200,000 characters" in problem.message


def test_a_registry_file_is_read_up_to_64_mib(fixtures: Path, tmp_path: Path) -> None:
    """--registry and --services read a gzip file inflated whole: 4 MB of gzip made 1 GB
    of zeros and took 3 GB of memory before 'not a registry' (a larger one, the machine's
    all). A file is read, and a gzip one inflated, up to 64 MiB, as `registry update`
    takes; past that it is no registry, said so (exit 6), and no more of it is read."""
    import gzip

    from portannot.registry import load_registry
    from portannot.registry.detect import MAX_REGISTRY

    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (MAX_REGISTRY + 1), compresslevel=1))
    plain = tmp_path / "big"
    with plain.open("wb") as fh:
        fh.truncate(MAX_REGISTRY + 1)  # sparse: no 64 MiB written
    said = {bomb: f"{bomb}: larger than {MAX_REGISTRY} bytes uncompressed, not a registry",
            plain: f"{plain}: larger than {MAX_REGISTRY} bytes, not a registry"}
    for path, message in said.items():
        with pytest.raises(RegistryError) as exc:
            parse_file(path)
        assert str(exc.value) == message
        with pytest.raises(RegistryError) as exc:
            load_registry(fixtures / "seed.csv", services=path)
        assert str(exc.value) == message
    gz = tmp_path / "seed.csv.gz"
    gz.write_bytes(gzip.compress((fixtures / "seed.csv").read_bytes()))
    assert len(parse_file(gz)) == SEED_RECORDS


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
@pytest.mark.parametrize("fixture", ["seed.csv", "seed.xml", "etc-services"])
def test_a_registry_in_utf16_or_utf32_is_refused_saying_so(fixtures: Path, tmp_path: Path,
                                                          encoding: str, fixture: str) -> None:
    """The seed registry (and a services file) saved as UTF-16 or UTF-32, with a
    byte-order mark or without: refused as such, naming the conversion. It was 'not a
    registry: expected an IANA CSV or XML, ...', the same words as for any other text.
    The same file in UTF-8 parses."""
    source = fixtures / fixture
    assert parse_file(source).records
    path = tmp_path / fixture
    path.write_bytes(source.read_text(encoding="utf-8").encode(encoding))
    wide = encoding[:6].upper()
    with pytest.raises(RegistryError, match=rf"{path.name}: {wide} text, where a registry is "
                                            rf"UTF-8 \(convert it: iconv -f {wide} -t UTF-8\)"):
        parse_file(path)


@pytest.mark.parametrize("tag", ["name", "number", "protocol", "description"])
def test_an_xml_record_with_a_field_twice_is_skipped(fixtures: Path, tmp_path: Path,
                                                     tag: str) -> None:
    """mysql's tcp record given a second <number> (or name, protocol, description) took the
    last silently: 3306 became 9999. The schema gives each one (none of the full
    registry's 6,000-odd records repeats one); the record is skipped with the others'
    malformed ones, named by its line."""
    text = (fixtures / "seed.xml").read_text(encoding="utf-8")
    record = text.index("<name>mysql</name>")
    second = {"name": "<name>other</name>", "number": "<number>9999</number>",
              "protocol": "<protocol>udp</protocol>",
              "description": "<description>x</description>"}[tag]
    path = tmp_path / "twice.xml"
    path.write_text(text[:record] + second + text[record:], encoding="utf-8")
    parsed = parse_file(path)
    assert len(parsed) == SEED_RECORDS - 1
    mysql = [(r.transport, r.port_lo) for r in parsed.records if r.name in ("mysql", "other")]
    assert mysql == [("udp", 3306)]  # the tcp record skipped, the udp one as it was
    (problem,) = parsed.problems
    assert problem.line == text[:record].count("\n")
    assert f"two <{tag}> elements" in problem.message
