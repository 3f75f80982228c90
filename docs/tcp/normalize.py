#!/usr/bin/env python3
"""Makes the raw output of docs/tcp/capture stable, so it can be committed and compared.

    normalize.py tcpdump PORT < raw > text   `tcpdump -n -S -t -x` of one connection
    normalize.py ss PORT < raw > text        the `## TITLE` + `ss -tan` log of steps.py
    normalize.py embed DIR < notes > notes   put DIR's files into the notes' text blocks

What changes from run to run is masked: the server's port becomes <server> and every other
port <client>; sequence numbers become relative to each side's first one (its ISN, shown as
0, like Wireshark does); windows, window scales and timestamps become placeholders. The
bytes of each segment are printed under it, decoded from tcpdump's hex dump.
"""

import os
import re
import sys

PACKET = re.compile(r"^IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): (.*)$")


def port_name(port, server):
    return "<server>" if port == server else "<client>"


def payload(hex_lines):
    """The TCP payload of one packet, from the IP header on (`tcpdump -x`)."""
    data = bytes.fromhex("".join(line.split(":", 1)[1] for line in hex_lines).replace(" ", ""))
    ip_header = (data[0] & 0x0F) * 4
    total = int.from_bytes(data[2:4], "big")
    tcp_header = (data[ip_header + 12] >> 4) * 4
    return data[ip_header + tcp_header : total]


def show_bytes(data):
    text = data.decode("ascii", "backslashreplace")
    return '"' + text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"'


def tcpdump(server, lines):
    packets = []  # (header line, hex lines)
    for line in lines:
        if line.startswith("\t0x"):
            packets[-1][1].append(line)
        elif line.strip():
            packets.append((line.rstrip("\n"), []))
    isn = {}  # port -> that side's first sequence number
    out = []
    for header, hex_lines in packets:
        match = PACKET.match(header)
        if not match:
            raise SystemExit(f"not a loopback TCP packet: {header}")
        src, dst, rest = int(match[1]), int(match[2]), match[3]
        seq = re.search(r"seq (\d+)", rest)
        if seq and src not in isn:
            isn[src] = int(seq[1])

        def relative(number, side):
            return str((int(number) - isn[side]) % 2**32)

        rest = re.sub(
            r"seq (\d+)(?::(\d+))?",
            lambda m: "seq "
            + relative(m[1], src)
            + (":" + relative(m[2], src) if m[2] else ""),
            rest,
        )
        rest = re.sub(r"ack (\d+)", lambda m: "ack " + relative(m[1], dst), rest)
        rest = re.sub(r"win \d+", "win <win>", rest)
        rest = re.sub(r"wscale \d+", "wscale <ws>", rest)
        rest = re.sub(r"TS val \d+ ecr \d+", "TS val <ts> ecr <ts>", rest)
        out.append(
            f"IP 127.0.0.1.{port_name(src, server)} > 127.0.0.1.{port_name(dst, server)}: {rest}"
        )
        data = payload(hex_lines)
        if data:
            out.append(f"    {show_bytes(data)}")
    return out


def ss(server, lines):
    columns = "{:<11} {:<6} {:<6} {:<20} {:<20}"
    state_order = ["LISTEN", "SYN-SENT", "SYN-RECV", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2",
                   "CLOSE-WAIT", "LAST-ACK", "CLOSING", "TIME-WAIT"]
    out, rows = [], []

    def flush():
        # Same rows once, with a count: the kernel lists sockets in hash order, not ours.
        for row in sorted(set(rows), key=lambda r: (state_order.index(r[0]), r)):
            count = rows.count(row)
            line = columns.format(*row).rstrip()
            out.append(line + (f"   (x{count})" if count > 1 else ""))
        rows.clear()

    def address(text):
        host, port = text.rsplit(":", 1)
        return f"{host}:{port_name(int(port), server) if port != '*' else '*'}"

    for line in lines:
        if line.startswith("## "):
            flush()
            if out:
                out.append("")
            out.append(line.rstrip("\n"))
            out.append(columns.format("State", "Recv-Q", "Send-Q", "Local Address:Port",
                                      "Peer Address:Port").rstrip())
        elif line.startswith("State"):
            continue
        elif line.strip():
            state, recv_q, send_q, local, peer = line.split()[:5]
            rows.append((state, recv_q, send_q, address(local), address(peer)))
    flush()
    return out


def embed(directory, notes):
    """Replace the text block after each `<!-- docs/tcp/NAME.txt -->` line in the notes with
    that file (less its "Generated" line), so the notes show exactly what was captured."""
    quoted = set()

    def block(match):
        quoted.add(match[2])
        with open(f"{directory}/{match[2]}") as f:
            body = "".join(line for line in f if not line.startswith("# Generated")).strip("\n")
        return f"{match[1]}```text\n{body}\n```"

    # The block: "```text", then lines that do not start with ``` , then "```".
    marker = re.compile(r"(<!-- docs/tcp/([\w-]+\.txt) -->\n)```text\n(?:(?!```).*\n)*```")
    notes = marker.sub(block, notes)
    missing = {name for name in os.listdir(directory) if name.endswith(".txt")} - quoted
    if missing:
        raise SystemExit(f"the notes do not quote {', '.join(sorted(missing))}")
    return notes


def main():
    kind = sys.argv[1]
    if kind == "embed":
        sys.stdout.write(embed(sys.argv[2], sys.stdin.read()))
        return
    server = int(sys.argv[2])
    lines = sys.stdin.readlines()
    out = tcpdump(server, lines) if kind == "tcpdump" else ss(server, lines)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
