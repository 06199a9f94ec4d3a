"""Test support for the aws CLI: names under `localhost` resolve to the loopback address
(RFC 6761), as snapaudit's collector resolves them (src/collect/http.rs).

s3control puts the account in the host name (`123456789012.localhost:PORT` for the
endpoint `http://localhost:PORT`), which the system resolver does not know. The collector
tests put this directory on PYTHONPATH for those aws CLI calls only.
"""

import socket

_system_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.rstrip(".").lower().endswith(".localhost"):
        host = "127.0.0.1"
    return _system_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
