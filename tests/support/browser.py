"""Debian's Chromium, headless, driven over the DevTools protocol (websocket-client): load
a page, collect what its console and network logged as errors, evaluate JavaScript in it,
and take a screenshot."""
from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests
import websocket

from tests.support.children import stop
from tests.support.waits import wait_for


class Browser:
    def __init__(self, width: int = 1280, height: int = 1600):
        chromium = shutil.which("chromium")
        assert chromium, "chromium is not installed: make install (apt's chromium)"
        self.profile = tempfile.TemporaryDirectory(prefix="game-events-chromium-")
        # --no-sandbox: the tests may run as root, where Chromium's sandbox refuses to start.
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--user-data-dir={self.profile.name}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.width, self.ws = width, None
        self.ids = itertools.count(1)
        self.errors: list[str] = []
        try:
            port_file = Path(self.profile.name) / "DevToolsActivePort"
            (port, _), _ = wait_for(lambda: port_file.exists() and port_file.read_text().split("\n"), 30,
                                    what="Chromium's DevTools port")
            page = next(t for t in requests.get(f"http://127.0.0.1:{port}/json", timeout=10).json()
                        if t["type"] == "page")
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    def call(self, method: str, **params) -> dict:
        """One DevTools command; the events that arrive meanwhile are noted."""
        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == n:
                assert "error" not in msg, f"{method}: {msg['error']}"
                return msg["result"]
            self._note(msg)

    def _note(self, msg: dict) -> None:
        p = msg.get("params", {})
        if msg.get("method") == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif msg.get("method") == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append(f"exception: {d.get('exception', {}).get('description', d['text'])}")
        elif msg.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
            # Failed loads (a 404 for a script) and the like, as DevTools' console shows them.
            e = p["entry"]
            self.errors.append(f"log ({e['source']}): {e['text']} {e.get('url', '')}".strip())

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        wait_for(lambda: self.evaluate("document.readyState") == "complete", 30, interval=0.2,
                 what=f"{url} to load")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        height = self.evaluate("document.documentElement.scrollHeight")
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1})
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            if self.ws:
                self.ws.close()
        finally:
            stop(self.proc, group=True)
            self.profile.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
