"""Adding a peer: what an administrator gets wrong is answered with a 422 that names the URL."""

from __future__ import annotations

import pytest
from conftest import bearer, issue_token

from registry import create_app
from registry.errors import InvalidParameter
from registry.federation import peers

# Longer than DNS allows (255 octets): the resolver gives up without a query, so no network is needed.
UNRESOLVABLE = "http://" + ".".join(["a" * 63] * 5) + "/"


def test_a_peer_whose_host_does_not_resolve_is_refused_with_a_422(fresh_ctx):
    app = create_app(fresh_ctx.settings)
    response = app.test_client().post("/api/v1/admin/peers", headers=bearer(issue_token(app, "admin")), json={
        "name": "casc", "url": UNRESOLVABLE, "client_id": "id", "client_secret": "secret"})
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["errors"][0]["parameter"] == "url" and "cannot resolve" in problem["detail"]
    assert peers.list_peers(fresh_ctx) == []
    with pytest.raises(InvalidParameter, match="check the host name"):
        peers.add_peer(fresh_ctx, "casc", UNRESOLVABLE, "id", "secret")
