#!/usr/bin/env python3
"""The client side of docs/tcp/capture: drives one TCP conversation with server_05 step by
step and takes an `ss -tan` snapshot of the server's port at each step.

Run by docs/tcp/capture, not by hand. Linux only (ss, SIGSTOP, TCP_DEFER_ACCEPT).

    steps.py talk  PORT SERVER_PID SS_LOG   one client: greeting, a line, FIN both ways
    steps.py reset PORT SERVER_PID SS_LOG   one client that closes with RST (SO_LINGER 0)
    steps.py fill  PORT SERVER_PID SS_LOG   more clients than the backlog holds

Each snapshot is appended to SS_LOG under a line "## TITLE"; normalize.py masks it.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import time

# Long enough for the kernel to deliver a loopback segment and its ACK; the script's outputs
# do not depend on it otherwise.
SETTLE = 0.3


def ss(port, *ss_options):
    """`ss -tan` for every socket on PORT, at either end."""
    time.sleep(SETTLE)
    return subprocess.run(
        ["ss", "-tan", *ss_options, f"( sport = :{port} or dport = :{port} )"],
        check=True, capture_output=True, text=True,
    ).stdout


def record(log, title, table):
    with open(log, "a") as f:
        f.write(f"## {title}\n{table}")


def snapshot(port, log, title, *ss_options):
    """Append `ss -tan` for PORT to LOG under `## TITLE`."""
    record(log, title, ss(port, *ss_options))


def stop(pid):
    """SIGSTOP the server and wait until every one of its threads is stopped: a thread that
    is still running could read the FIN we send next and close its end."""
    os.kill(pid, signal.SIGSTOP)
    for _ in range(500):
        states = []
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        if all(state in "tT" for state in states):
            return
        time.sleep(0.01)
    raise SystemExit("the server did not stop")


def read_line(sock):
    """Read up to and including the first b"\\n" (the server's replies are lines)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit(f"the server closed early; got {data!r}")
        data += chunk
    return data


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    greeting = read_line(sock)
    if not greeting.startswith(b"Welcome"):
        raise SystemExit(f"unexpected greeting {greeting!r}")
    # Every pause lets the kernel send its ACK on its own (a delayed ACK waits at most 200 ms)
    # instead of riding on our next segment, so the capture is the same on every run.
    time.sleep(SETTLE)
    return sock


def one_line(sock):
    sock.sendall(b"hello\n")
    reply = read_line(sock)
    if reply != b"OK...hello\n":
        raise SystemExit(f"unexpected reply {reply!r}")
    time.sleep(SETTLE)


def talk(port, server, log):
    snapshot(port, log, "LISTEN")
    sock = connect(port)
    snapshot(port, log, "ESTABLISHED")
    one_line(sock)
    # A stopped server cannot read the FIN, so its socket stays in CLOSE-WAIT for us to see;
    # the kernel still ACKs the FIN on its behalf.
    stop(server)
    sock.close()
    snapshot(port, log, "CLOSE-WAIT")
    os.kill(server, signal.SIGCONT)
    snapshot(port, log, "TIME-WAIT")


def reset(port, server, log):
    sock = connect(port)
    one_line(sock)
    # Linger on, with a time of zero: close() throws the connection away and sends RST.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    snapshot(port, log, "after RST", "exclude", "time-wait")


def listen_backlog(port):
    """The listener's backlog: ss shows it as Send-Q of the LISTEN line."""
    out = subprocess.run(
        ["ss", "-tlnH", f"( sport = :{port} )"], check=True, capture_output=True, text=True
    ).stdout
    return int(out.split()[2])


def fill(port, server, log):
    # Now and then (about 1 run in 6 here) Linux takes the late ACK below into the full queue
    # anyway and no SYN-RECV shows up: try again, from an empty queue, a few times.
    for _ in range(5):
        table = fill_once(port, server)
        if "SYN-RECV" in table:
            record(log, "SYN-RECV", table)
            return
        time.sleep(2)  # the resumed server accepts, greets and closes the last round's clients
    raise SystemExit("no SYN-RECV seen in 5 tries")


def fill_once(port, server):
    """Fill the accept queue of a stopped server; return `ss -tan` while it is full."""
    backlog = listen_backlog(port)
    stop(server)
    socks = []
    try:
        # The stopped server accepts nobody: each handshake completes in the kernel and the
        # connection waits in the accept queue, which Linux fills up to backlog + 1.
        for _ in range(backlog):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        # A client whose last handshake ACK is late: TCP_DEFER_ACCEPT on a connecting socket
        # makes Linux hold that ACK back for 200 ms. Its SYN still fits...
        late = socket.socket()
        late.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
        late.settimeout(5)
        late.connect(("127.0.0.1", port))
        socks.append(late)
        # ...then one more client fills the queue, so the late ACK is dropped: the server keeps
        # that half-open connection in SYN-RECV. We look within 1 s, before it resends SYN-ACK.
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(SETTLE)
        # One more: with the queue full, the server drops its SYN; it stays in SYN-SENT.
        last = socket.socket()
        last.setblocking(False)
        try:
            last.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(last)
        return ss(port, "exclude", "time-wait")
    finally:
        for sock in socks:
            sock.close()
        os.kill(server, signal.SIGCONT)


def main():
    step, port, server, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    {"talk": talk, "reset": reset, "fill": fill}[step](port, server, log)


if __name__ == "__main__":
    main()
