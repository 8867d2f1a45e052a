"""moto's server in a thread on 127.0.0.1, with the SageMaker simulator installed.

srv = start_moto()                 # http://127.0.0.1:<ephemeral>
boto3.client("sagemaker", endpoint_url=srv.url, region_name="us-west-2", ...)
srv.simulator.faults.hang("job-*") # see sagemaker_sim / faults
srv.s3_faults.add(method="PUT", key="data/*", count=3)  # 503 SlowDown; see s3_faults
srv.reset(); srv.stop()
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request

from moto.server import ThreadedMotoServer

from .s3_faults import S3FaultMiddleware, S3Faults
from .sagemaker_sim import DEFAULT_PHASE_DELAY, SageMakerSimulator, install

log = logging.getLogger(__name__)


def _quiet_logging() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


class MotoServer:
    """A running ThreadedMotoServer. Region-independent: clients pick the region."""

    def __init__(
        self, server: ThreadedMotoServer, simulator: SageMakerSimulator, s3_faults: S3Faults
    ) -> None:
        self._server = server
        self.simulator = simulator
        self.s3_faults = s3_faults
        host, port = server.get_host_and_port()
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"
        self._stopped = False
        self._stop_lock = threading.Lock()

    @property
    def sim(self) -> SageMakerSimulator:
        return self.simulator

    @property
    def running(self) -> bool:
        return not self._stopped

    def reset(self) -> None:
        """Wipe all AWS state (POST /moto-api/reset), the S3 faults and the simulator's workers, models
        and faults."""
        self.s3_faults.clear()
        self.simulator.shutdown()
        request = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own http URL
            response.read()
        self.simulator.reset()

    def stop(self) -> None:
        """Stop the simulator's workers and the server thread; close the socket. Idempotent."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            self.simulator.shutdown()
        finally:
            self._server.stop()
            inner = getattr(self._server, "_server", None)
            if inner is not None:
                inner.server_close()

    def __enter__(self) -> MotoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"MotoServer({self.url}{', stopped' if self._stopped else ''})"


def start_moto(
    host: str = "127.0.0.1", port: int = 0, *, phase_delay: float = DEFAULT_PHASE_DELAY
) -> MotoServer:
    """Start moto on ``host`` (127.0.0.1) and an ephemeral port, with the SageMaker simulator patched in.

    ``phase_delay`` (seconds) is the minimum length of each training/endpoint phase; it is set on the
    process-wide simulator (shared by every server in this process).
    """
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # read at IAM backend creation (first IAM call)
    _quiet_logging()
    simulator = install(phase_delay=phase_delay)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    # Wrap moto's WSGI app before this function hands out the URL, so no request bypasses the faults.
    s3_faults = S3Faults()
    wsgi_server = server._server
    wsgi_server.app = S3FaultMiddleware(wsgi_server.app, s3_faults)
    srv = MotoServer(server, simulator, s3_faults)
    log.info("moto listening on %s", srv.url)
    return srv
