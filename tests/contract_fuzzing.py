"""The API contract, fuzzed: schemathesis generates requests for every operation of the served OpenAPI
document against a served node (gunicorn, seeded), anonymously and with a token of each scope, on SQLite
and PostgreSQL (a test file each, test_contract_fuzzing_*.py, so that two test workers share the run).
No answer may be a server error or break the contract: undocumented status codes, content types or
headers, or bodies that do not match their schemas.

The run is bounded and seeded (the same cases every time): the examples and boundary values the
schemas imply (the coverage phase) with the token that may do everything, and a few property-based
cases per operation for every caller. Path parameters name real records for the callers with a token,
so that their writes reach the checks behind authentication; the anonymous caller's are generated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import fresh_database_url
from nodes import Node

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
SEED = 20261203
EVERY_SCOPE = "admin directory:read directory:restricted federation:read publish:casc publish:ejn"
# caller -> (scopes, phases, property-based examples per operation)
CALLERS = {
    "anonymous": (None, "fuzzing", 5),
    "directory:read": ("directory:read", "fuzzing", 3),
    "directory:restricted": ("directory:restricted", "fuzzing", 3),
    "publish:casc": ("publish:casc", "fuzzing", 3),
    "federation:read": ("federation:read", "fuzzing", 3),
    "admin": ("admin", "fuzzing", 3),
    "every scope": (EVERY_SCOPE, "coverage,fuzzing", 3),
}
# Records of the seeded node, for the path parameters of callers with a token.
KNOWN_PATH_PARAMETERS = """
[parameters]
"path.authority_id" = "node-f:kg-gpo"
"path.contact_point_id" = "node-f:kg-gpo-duty"
"path.note_id" = "node-f:note-kg-tip-urgent"
"path.code" = "casc"
"path.origin" = "node-f"
"""


def serve(backend: str, tmp_path_factory):
    """A seeded node of `backend` served by gunicorn, for a module-scoped fixture."""
    instance = tmp_path_factory.mktemp(f"fuzzing-{backend}")
    served = Node("node-f", instance, fresh_database_url(backend, instance))
    served.env["REGISTRY_WORKERS"] = "2"
    # No peer, key or webhook address is admitted: the documented examples (a peer and keys on
    # 127.0.0.1) meet the address rules' 422, never a connection to a server that is not there.
    served.env["REGISTRY_FEDERATION_ALLOW_HOSTS"] = ""
    served.start()
    served.cli("seed")
    yield served
    served.stop()


def fuzz(node: Node, caller: str, tmp_path: Path) -> None:
    """Runs schemathesis against `node` as `caller` (a key of CALLERS); fails on any finding."""
    scopes, phases, examples = CALLERS[caller]
    config = tmp_path / "schemathesis.toml"
    config.write_text(KNOWN_PATH_PARAMETERS if scopes else "", encoding="utf-8")
    command = [SCHEMATHESIS, "--config-file", str(config), "run", f"{node.url}/api/v1/openapi.json",
               "--checks", CHECKS, "--phases", phases, "--max-examples", str(examples), "--seed", str(SEED),
               "--workers", "1", "--max-failures", "20"]
    if scopes:
        command += ["--header", f"Authorization: Bearer {node.token(scopes)}"]
    # One worker thread: on CPython 3.11, ast.parse in two threads at once (hypothesis describing its
    # filters) can fail with "AST constructor recursion depth mismatch" (python/cpython#106905).
    # In a folder of its own: hypothesis keeps its example database in the working directory.
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    report = result.stdout[result.stdout.find("FAILURES"):] if "FAILURES" in result.stdout else result.stdout
    assert result.returncode == 0, f"schemathesis as {caller}:\n{report[-8000:]}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout, result.stdout[-2000:]
