"""Headless Chromium driven over the DevTools protocol on a pipe, for the report's browser tests.

``--remote-debugging-pipe`` reads commands from file descriptor 3 and writes replies and events
to 4, as JSON messages ended by a NUL byte: no library and no port. Console messages, uncaught
exceptions and log entries (loads blocked by the Content-Security-Policy, missing files) are
kept in :attr:`DevTools.events`; :attr:`DevTools.messages` lists them.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

MESSAGE_EVENTS = ("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded")
TIMEOUT_S = 60


class DevTools:
    """One Chromium with one page; use as a context manager.

    Args:
        chromium: The browser's executable.
        flags: Its command-line flags.
        profile: A fresh profile folder.
    """

    def __init__(self, chromium: str, flags: tuple[str, ...], profile: Path) -> None:
        commands, self._to_browser = os.pipe()
        self._from_browser, replies = os.pipe()

        def as_fds_3_and_4() -> None:  # in the child, before exec
            high = os.dup(commands), os.dup(replies)
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [chromium, *flags, "--remote-debugging-pipe", f"--user-data-dir={profile}"],
            preexec_fn=as_fds_3_and_4,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands)
        os.close(replies)
        self._buffer = b""
        self._last_id = 0
        self.events: list[dict[str, Any]] = []
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def __enter__(self) -> DevTools:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call("Browser.close")
        finally:
            self.process.wait(timeout=TIMEOUT_S)
            os.close(self._to_browser)
            os.close(self._from_browser)

    @property
    def messages(self) -> list[str]:
        """What the page said: console messages, exceptions, log entries."""
        return [json.dumps(e["params"]) for e in self.events if e["method"] in MESSAGE_EVENTS]

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        reply = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """A command to the page."""
        return self._call(method, session=self._session, **params)

    def wait_for(self, event: str) -> dict[str, Any]:
        """The next ``event`` not yet waited for (one already received counts)."""
        while True:
            for i, message in enumerate(self.events):
                if message["method"] == event:
                    return self.events.pop(i)
            self.events.append(self._receive())

    def _call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._last_id:
                assert "error" not in reply, reply["error"]
                return reply["result"]
            self.events.append(reply)

    def _receive(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self._buffer:
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._from_browser], [], [], left)
            chunk = os.read(self._from_browser, 1 << 16) if ready else b""
            assert chunk, "Chromium closed the pipe or did not answer in time"
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)
