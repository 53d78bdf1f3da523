"""The OpenAPI document as committed in openapi.yaml."""

from __future__ import annotations

import yaml
from flask import Flask


def openapi_dict(app: Flask) -> dict:
    return app.extensions["registry_api"].spec.to_dict()


def openapi_yaml(app: Flask) -> str:
    return yaml.safe_dump(openapi_dict(app), sort_keys=True, allow_unicode=True, width=100)
