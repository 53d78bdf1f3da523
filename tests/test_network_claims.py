"""A publisher speaks only for its own networks: a role in a network or a note scoped to one needs that
network's publish scope, and a record attaches only to authorities of its owner network (its own, or
members by the network's record). Enforced in the single write path; the API only passes the caller."""

from __future__ import annotations

import pytest
from conftest import client_with
from test_publishing import CONTACT_POINT, NOTE, node, snapshot  # noqa: F401 (node is a fixture)

from registry.errors import Forbidden, InvalidRecord
from registry.permissions import Caller
from registry.services.records import write_record

EJN_AUTHORITY = "local:fr-bepi"
CASC_AUTHORITY = "local:kg-gpo"


@pytest.fixture(scope="module")
def casc_and_ejn(node):  # noqa: F811
    from conftest import issue_token

    app, ctx, tokens = node
    tokens["publish:casc publish:ejn"] = issue_token(app, "publish:casc publish:ejn")
    tokens["publish:casc directory:read"] = issue_token(app, "publish:casc directory:read")
    return node


def refused(app, ctx, token, method, path, body, status, **headers):
    before = snapshot(ctx)
    response = client_with(app, token).open(path, method=method, json=body, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    assert snapshot(ctx) == before
    return response.get_json()


def test_a_contact_point_cannot_hold_a_role_in_another_network(casc_and_ejn):
    app, ctx, tokens = casc_and_ejn
    body = CONTACT_POINT | {"roles": [{"network": "ejn", "role": "24_7"}]}
    problem = refused(app, ctx, tokens["publish:casc"], "POST", "/api/v1/contact-points", body, 403)
    assert problem["scope"] == "publish:ejn" and "$.roles[0].network" in problem["detail"]
    assert client_with(app, tokens["publish:casc publish:ejn"]).post("/api/v1/contact-points",
                                                                       json=body).status_code == 201


def test_a_record_attaches_only_to_authorities_of_its_network(casc_and_ejn):
    app, ctx, tokens = casc_and_ejn
    body = CONTACT_POINT | {"authority_id": EJN_AUTHORITY}
    problem = refused(app, ctx, tokens["publish:casc"], "POST", "/api/v1/contact-points", body, 422)
    assert problem["errors"][0]["path"] == "$.authority_id" and "not a member of casc" in problem["detail"]
    note = NOTE | {"scope": {"authority_id": EJN_AUTHORITY}}
    refused(app, ctx, tokens["publish:casc publish:ejn"], "POST", "/api/v1/emergency-notes", note, 422)
    # An authority of another network that is a member of the owner network (by its record) is fine:
    # Armenia's Prosecutor General's Office is CASC's and a GlobE member.
    globe_cp = CONTACT_POINT | {"owner_network": "globe", "authority_id": "local:am-pgo",
                                "roles": [{"network": "globe", "role": "contact_point"}]}
    from conftest import issue_token

    assert client_with(app, issue_token(app, "publish:globe")).post(
        "/api/v1/contact-points", json=globe_cp).status_code == 201


def test_a_note_cannot_be_scoped_to_another_network(casc_and_ejn):
    app, ctx, tokens = casc_and_ejn
    note = NOTE | {"scope": {"network": "ejn"}}
    problem = refused(app, ctx, tokens["publish:casc"], "POST", "/api/v1/emergency-notes", note, 403)
    assert problem["scope"] == "publish:ejn"
    # Nor by changing the scope of a note it owns.
    created = client_with(app, tokens["publish:casc"]).post("/api/v1/emergency-notes", json=NOTE).get_json()
    path = f"/api/v1/emergency-notes/{created['id']}"
    etag = client_with(app, tokens["publish:casc"]).get(path).headers["ETag"]
    refused(app, ctx, tokens["publish:casc"], "PATCH", path, {"scope": {"network": "ejn", "country": None}}, 403,
            **{"If-Match": etag})


def test_claims_a_record_already_makes_stay_editable_by_its_owner(casc_and_ejn):
    """Armenia's CASC contact points are also GlobE contact points (seeded by the node): CASC's
    secretariat still corrects them, and may drop the GlobE role, but not add one elsewhere."""
    app, ctx, tokens = casc_and_ejn
    token = tokens["publish:casc directory:read"]
    path = "/api/v1/contact-points/local:am-pgo-martirosyan"
    record = client_with(app, token).get(path)
    assert {"network": "globe", "role": "contact_point"} in record.get_json()["roles"]
    changed = client_with(app, token).patch(path, json={"languages": ["hy", "ru", "en"]},
                                            headers={"If-Match": record.headers["ETag"]})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    roles = changed.get_json()["roles"] + [{"network": "wacap", "role": "alternate"}]
    refused(app, ctx, token, "PATCH", path, {"roles": roles}, 403, **{"If-Match": changed.headers["ETag"]})


def test_the_write_path_enforces_it_whoever_calls(fresh_ctx):
    from registry.services.seed import seed

    seed(fresh_ctx)
    casc = Caller("casc-client", frozenset({"publish:casc"}))
    with pytest.raises(Forbidden), fresh_ctx.db.write() as session:
        write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(), origin="local",
                     record_type="emergency_note", record_id="local:note-x", owner_network="casc",
                     body={k: v for k, v in NOTE.items() if k != "owner_network"} | {"scope": {"network": "ejn"}},
                     actor="casc-client", caller=casc)
    with pytest.raises(InvalidRecord), fresh_ctx.db.write() as session:
        write_record(session, fresh_ctx.taxonomy, signing_keys=fresh_ctx.record_keys.signing_keys(), origin="local",
                     record_type="contact_point", record_id="local:cp-x", owner_network="casc",
                     body={k: v for k, v in CONTACT_POINT.items() if k != "owner_network"}
                     | {"authority_id": EJN_AUTHORITY}, actor="seed")


def test_exports_say_which_network_published_each_record(casc_and_ejn):
    app, _ctx, tokens = casc_and_ejn
    card = client_with(app, tokens["publish:casc directory:read"]).get(f"/api/v1/authorities/{CASC_AUTHORITY}.vcf")
    text = card.get_data(as_text=True)
    assert "X-REGISTRY-OWNER-NETWORK:casc" in text
    document = app.test_client().get(f"/api/v1/authorities/{CASC_AUTHORITY}.jsonld").get_json()
    assert document["sdPublisher"]["identifier"] == "casc"
