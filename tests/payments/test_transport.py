"""payments.transport: keep-alive connections are reused, and a request is never sent on a connection the
server has closed (so nothing is sent twice)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field

import httpx
import pytest

from payments import URLPolicy
from payments.transport import GuardedTransport, build_http_client

POLICY = URLPolicy(allowed_http_hosts=frozenset({"127.0.0.1"}), private_hosts=frozenset({"127.0.0.1"}))


@dataclass
class Server:
    """A raw HTTP/1.1 server on loopback that counts connections and requests, and can hang up after
    each answer."""

    port: int = 0
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    close_after_answer: bool = False
    body: bytes = b'{"ok":true}'
    extra_headers: str = ""
    cookies_sent: list[str] = field(default_factory=list)
    hung_up: threading.Event = field(default_factory=threading.Event)

    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        # A client that lets go of an unread answer resets the connection.
        with suppress(ConnectionError), conn, conn.makefile("rb") as reader:
            while line := reader.readline():
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    if name.lower() == "cookie":
                        self.cookies_sent.append(value.strip())
                self.requests.append(
                    line.decode().strip() + (" " + reader.read(length).decode() if length else "")
                )
                head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(self.body)}\r\n{self.extra_headers}\r\n"
                conn.sendall(head.encode() + self.body)
                if self.close_after_answer:
                    break
        self.hung_up.set()


@pytest.fixture
def server() -> Iterator[Server]:
    listener = socket.create_server(("127.0.0.1", 0))
    state = Server(port=listener.getsockname()[1])
    threading.Thread(target=state.serve, args=(listener,), daemon=True).start()
    yield state
    listener.close()


def test_requests_one_after_another_share_one_connection(server: Server) -> None:
    # given a client on the guarded transport
    with httpx.Client(transport=GuardedTransport(POLICY)) as http:
        # when it makes three requests, reading each answer
        answers = [http.get(f"http://127.0.0.1:{server.port}/r{n}").json() for n in range(3)]

    # then each was answered, over a single connection
    assert answers == [{"ok": True}] * 3
    assert server.requests == ["GET /r0 HTTP/1.1", "GET /r1 HTTP/1.1", "GET /r2 HTTP/1.1"]
    assert server.connections == 1


def test_a_connection_the_server_closed_while_idle_is_not_used_and_the_request_goes_out_once(
    server: Server,
) -> None:
    # given a server that hangs up after every answer, and a first request answered
    server.close_after_answer = True
    with httpx.Client(transport=GuardedTransport(POLICY)) as http:
        http.get(f"http://127.0.0.1:{server.port}/first")
        assert server.hung_up.wait(5)

        # when a create is posted
        answer = http.post(f"http://127.0.0.1:{server.port}/incoming-payments", content=b'{"a":1}')

    # then it went out exactly once, on a new connection
    assert answer.json() == {"ok": True}
    assert server.requests == ["GET /first HTTP/1.1", 'POST /incoming-payments HTTP/1.1 {"a":1}']
    assert server.connections == 2


def test_a_connection_whose_answer_was_left_unread_is_closed_not_reused(server: Server) -> None:
    # given an answer larger than what the caller reads
    server.body = b"x" * 200_000
    with httpx.Client(transport=GuardedTransport(POLICY)) as http:
        # when the caller reads only the first chunk and lets go
        with http.stream("GET", f"http://127.0.0.1:{server.port}/big") as response:
            next(response.iter_raw())
        # and asks again
        server.body = b'{"ok":true}'
        again = http.get(f"http://127.0.0.1:{server.port}/small")

    # then the second request had a connection of its own
    assert again.json() == {"ok": True}
    assert server.requests == ["GET /big HTTP/1.1", "GET /small HTTP/1.1"]
    assert server.connections == 2


def test_the_request_goes_out_with_exactly_the_headers_httpx_built(server: Server) -> None:
    # given a request with a body and custom headers (a signature covers some of them)
    captured: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def capture() -> None:
        conn, _ = listener.accept()
        with conn:
            captured.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    thread = threading.Thread(target=capture, daemon=True)
    thread.start()
    with httpx.Client(transport=GuardedTransport(POLICY)) as http:
        # when it is posted
        answer = http.post(
            f"http://127.0.0.1:{port}/q?x=1",
            content=b'{"b":2}',
            headers={"Content-Type": "application/json", "Signature": "sig1=:abc:"},
        )
    thread.join(5)
    listener.close()

    # then the wire carries the request line, httpx's headers in order, and the body
    assert answer.status_code == 204
    assert captured == [
        b"POST /q?x=1 HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{port}\r\n".encode()
        + b"Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
        + b"User-Agent: python-httpx/"
        + httpx.__version__.encode()
        + b"\r\nContent-Type: application/json\r\nSignature: sig1=:abc:\r\nContent-Length: 7\r\n\r\n"
        + b'{"b":2}'
    ]


def test_a_cookie_a_server_sets_is_neither_kept_nor_sent_back(server: Server) -> None:
    # given a server that answers with a cookie
    server.extra_headers = "set-cookie: session=abc; Path=/\r\n"
    with build_http_client(POLICY, timeout=5) as http:
        # when the client calls it twice
        first = http.get(f"http://127.0.0.1:{server.port}/one")
        second = http.get(f"http://127.0.0.1:{server.port}/two")

        # then both were answered, no request carried a cookie, and the client holds none
        assert [first.json(), second.json()] == [{"ok": True}] * 2
        assert server.cookies_sent == []
        assert list(http.cookies.jar) == []
