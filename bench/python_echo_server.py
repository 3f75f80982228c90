#!/usr/bin/env python3
"""A thread-per-client echo server written the way the Python course writes its servers.

The reference peer of bench/compare for "what the Python lesson would do": server-05.py's
shape (one `threading` thread per accepted client, a blocking `recv` / `sendall` loop) with
echo-server.py's `recv(2048)` and SO_REUSEADDR, ported to Python 3. Differences from the
originals, and why: it binds 127.0.0.1 (a benchmark must not listen on every interface), it
accepts --port 0 and prints `listening on ADDR` like the Rust lessons (so the script finds
the port), its listen backlog is 128 instead of 5/10 (a small backlog only makes the
1,000-connection setup slow, which is not what is measured), and it ends a client's thread on
an empty read or a reset instead of crashing. It does NOT disable Nagle, like the original.
"""
import argparse
import socket
import threading


def client_thread(conn):
    try:
        while True:
            data = conn.recv(2048)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.host, args.port))
    server.listen(128)
    host, port = server.getsockname()
    print(f"python echo listening on {host}:{port}", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=client_thread, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
