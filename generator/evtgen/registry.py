"""A small client of the Confluent Schema Registry API (Apicurio's `/apis/ccompat/v7`,
Confluent's own, Redpanda's...), and how subjects are named.

Built on the standard library's urllib, not on a registry client package: the CLI
needs seven endpoints, sync, a few calls per schema; urllib adds no dependency and
no import time, and sends the schema text as it is (python-schema-registry-client
parses and re-serialises it with fastavro and jsonschema first, and brings httpx).
See docs/registry.md.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from evtgen.errors import UsageError

#: Confluent's subject name strategies, by the names `--subject-strategy` takes.
STRATEGIES = {
    "topic": "TopicNameStrategy: <topic>-value",
    "record": "RecordNameStrategy: <record full name>",
    "topic-record": "TopicRecordNameStrategy: <topic>-<record full name>",
}
_CONTENT = "application/vnd.schemaregistry.v1+json"
_TIMEOUT = 15.0


def subject_name(strategy: str, topic: str | None, record: str) -> str:
    """The subject of a topic's value schema, as Confluent's serializers name it."""
    if strategy == "record":
        return record
    if topic is None:
        raise ValueError(f"the {strategy} strategy needs a topic")
    return f"{topic}-value" if strategy == "topic" else f"{topic}-{record}"


@dataclass(frozen=True)
class Version:
    subject: str
    version: int
    id: int
    schema: str
    schema_type: str  # AVRO, JSON or PROTOBUF


class Refused(Exception):
    """The registry refused a write (409: incompatible; 422: invalid); its message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Registry:
    """One registry, by its base URL (`http://host:8081/apis/ccompat/v7`)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"--registry {url!r}: give the registry's http(s) URL, e.g. "
                "http://localhost:8081/apis/ccompat/v7 (Apicurio's Confluent-compatible API)"
            )
        self._auth = ""
        if parts.username is not None:  # user:password@host, as Confluent's clients take it
            pair = f"{parts.username}:{parts.password or ''}".encode()
            self._auth = "Basic " + base64.b64encode(pair).decode()
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        if ":" in parts.hostname:
            netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
        self.url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))

    # -- the endpoints ---------------------------------------------------------------

    def global_rule(self) -> str:
        """The registry-wide compatibility rule; also tells it is there and speaks the API."""
        status, body = self._call("GET", "/config")
        if status != 200 or not isinstance(body, dict) or "compatibilityLevel" not in body:
            raise UsageError(
                f"{self.url} answered GET /config with HTTP {status}: not a Confluent-compatible "
                "schema registry API (Apicurio's is at /apis/ccompat/v7)"
            )
        return str(body["compatibilityLevel"])

    def rule(self, subject: str) -> str:
        """The subject's compatibility rule (the registry-wide one when it has none)."""
        status, body = self._call("GET", f"/config/{_seg(subject)}?defaultToGlobal=true")
        if status == 200 and isinstance(body, dict) and "compatibilityLevel" in body:
            return str(body["compatibilityLevel"])
        if status == 404:
            return self.global_rule()
        raise self._unexpected("GET", f"/config/{subject}", status, body)

    def set_rule(self, subject: str, rule: str) -> None:
        status, body = self._call("PUT", f"/config/{_seg(subject)}", {"compatibility": rule})
        if status != 200:
            raise self._unexpected("PUT", f"/config/{subject}", status, body)

    def versions(self, subject: str) -> list[int]:
        """The subject's versions, oldest first; [] when there is no such subject."""
        status, body = self._call("GET", f"/subjects/{_seg(subject)}/versions")
        if status == 404:
            return []
        if status != 200 or not isinstance(body, list):
            raise self._unexpected("GET", f"/subjects/{subject}/versions", status, body)
        return sorted(int(v) for v in body)

    def version(self, subject: str, version: int) -> Version:
        path = f"/subjects/{_seg(subject)}/versions/{version}"
        status, body = self._call("GET", path)
        if status != 200 or not isinstance(body, dict):
            raise self._unexpected("GET", path, status, body)
        return _version(subject, body)

    def lookup(self, subject: str, schema: str, schema_type: str) -> Version | None:
        """The version of `subject` that holds this schema, if one does."""
        path = f"/subjects/{_seg(subject)}"
        status, body = self._call("POST", path, _payload(schema, schema_type))
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise self._unexpected("POST", path, status, body)
        return _version(subject, body)

    def compatible(self, subject: str, schema: str, schema_type: str, transitive: bool) -> bool:
        """The registry's own verdict by the subject's rule: against the latest version,
        or (transitive) against every version, as a registration would check it."""
        versions = "versions" if transitive else "versions/latest"
        path = f"/compatibility/subjects/{_seg(subject)}/{versions}?verbose=true"
        status, body = self._call("POST", path, _payload(schema, schema_type))
        if status != 200 or not isinstance(body, dict) or "is_compatible" not in body:
            raise self._unexpected("POST", path, status, body)
        return bool(body["is_compatible"])

    def register(self, subject: str, schema: str, schema_type: str) -> int:
        """Register a new version; its schema id. Raises Refused on 409 and 422."""
        path = f"/subjects/{_seg(subject)}/versions"
        status, body = self._call("POST", path, _payload(schema, schema_type))
        if status == 200 and isinstance(body, dict) and "id" in body:
            return int(body["id"])
        if status in (409, 422):
            message = body.get("message") if isinstance(body, dict) else None
            raise Refused(status, str(message or f"HTTP {status}"))
        raise self._unexpected("POST", path, status, body)

    # -- HTTP ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        import http.client
        import urllib.error
        import urllib.request

        headers = {"Accept": _CONTENT, "Content-Type": _CONTENT}
        if self._auth:
            headers["Authorization"] = self._auth
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as err:
            with err:
                return err.code, _json(err.read())
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise UsageError(
                f"cannot reach the schema registry at {self.url}: {reason}; check the URL "
                "(--registry, e.g. $REGISTRY_URL) and that the registry is running"
            ) from None

    def _unexpected(self, method: str, path: str, status: int, body: Any) -> UsageError:
        message = body.get("message") if isinstance(body, dict) else None
        return UsageError(
            f"the schema registry at {self.url} answered {method} {path} with HTTP {status}"
            + (f": {message}" if message else "")
            + (
                " (check its credentials: user:password@ in the URL)"
                if status in (401, 403)
                else ""
            )
        )


def _seg(subject: str) -> str:
    return quote(subject, safe="")


def _payload(schema: str, schema_type: str) -> dict[str, str]:
    # AVRO is the API's default type; older registries refuse the field for it
    return (
        {"schema": schema}
        if schema_type == "AVRO"
        else {"schema": schema, "schemaType": schema_type}
    )


def _json(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _version(subject: str, body: dict[str, Any]) -> Version:
    return Version(
        subject=str(body.get("subject", subject)),
        version=int(body.get("version", 0)),
        id=int(body.get("id", 0)),
        schema=str(body.get("schema", "")),
        schema_type=str(body.get("schemaType") or "AVRO"),
    )
