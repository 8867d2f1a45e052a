"""A small HTTP control API so tools outside the sandbox process can drive its faults.

    GET    /healthz                          {"ready": true} once every component answers
    GET    /info                             the SandboxInfo as JSON
    GET    /misconfigurations                name -> description (those of the installed flavour)
    POST   /misconfigure   {"name": N}       break one thing the preflight must catch
    POST   /faults/operator {"fault": "fail:AlgorithmError: x", "kind": "TrainingJob",
                             "namespace": "*", "name": "*"}   (faults: sandbox/common/faults.py,
                             e.g. "update-fail:<reason>" with "kind": "HostingDeployment";
                             "fail:<reason>" with "kind": "HyperparameterTuningJob" fails
                             every training job of matching tuning jobs, with "kind":
                             "BatchTransformJob" their transform jobs)
    POST   /faults/kube    {"method": "GET", "path_regex": "...", "status": 503, "count": 3,
                            "delay_seconds": 0, "retry_after": null}
    POST   /faults/s3      {"method": "PUT", "bucket": "b", "key": "prefix/*", "operation": null,
                            "part_number": null, "code": "SlowDown", "count": 3, "delay_seconds": 0}
    GET    /faults/s3                        every S3 fault rule armed so far, with its hits
    DELETE /faults                           clear every armed fault

``python -m sandbox misconfigure NAME`` and ``python -m sandbox fault ...`` call it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    sandbox = None  # set on the subclass built per server

    def log_message(self, fmt, *args):  # route to logging, not stderr
        log.debug("control: " + fmt, *args)

    def _reply(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self):
        sb = self.sandbox
        if self.path == "/healthz":
            return self._reply(200, {"ready": sb.info is not None})
        if self.path == "/info":
            return self._reply(200, json.loads(sb.info.to_json()))
        if self.path == "/misconfigurations":
            return self._reply(200, sb.misconfigurations)
        if self.path == "/faults/s3":
            rules = sb.moto.s3_faults.all_rules()
            return self._reply(200, [{**dataclasses.asdict(r), "active": r.active} for r in rules])
        return self._reply(404, {"error": f"no such path {self.path}"})

    def do_POST(self):
        sb = self.sandbox
        try:
            body = self._body()
            if self.path == "/misconfigure":
                sb.misconfigure(body["name"])
                return self._reply(200, {"misconfigured": body["name"]})
            if self.path == "/faults/operator":
                fault = body.pop("fault")
                sb.arm_fault(fault, **{k: body[k] for k in ("kind", "namespace", "name") if k in body})
                return self._reply(200, {"armed": fault})
            if self.path == "/faults/kube":
                rule = sb.kube.faults.add(**body)
                return self._reply(200, {"rule": rule})
            if self.path == "/faults/s3":
                return self._reply(200, {"rule": sb.arm_s3_fault(**body)})
        except (KeyError, TypeError, ValueError) as e:
            return self._reply(HTTPStatus.BAD_REQUEST, {"error": str(e)})
        except Exception as e:  # e.g. an AWS error applying a misconfiguration twice: answer, don't hang up
            log.exception("control: %s failed", self.path)
            return self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(e).__name__}: {e}"})
        return self._reply(404, {"error": f"no such path {self.path}"})

    def do_DELETE(self):
        if self.path == "/faults":
            self.sandbox.clear_faults()
            return self._reply(200, {"cleared": True})
        return self._reply(404, {"error": f"no such path {self.path}"})


class ControlServer:
    def __init__(self, sandbox, host: str = "127.0.0.1") -> None:
        handler = type("Handler", (_Handler,), {"sandbox": sandbox})
        self._server = ThreadingHTTPServer((host, 0), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            # a short poll interval: shutdown() waits up to one interval (0.5 s by default)
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-control",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
