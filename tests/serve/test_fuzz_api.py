"""schemathesis against real `condgan serve` processes (both backends): requests drawn from
the OpenAPI schema the server publishes, valid and invalid alike, in a bounded run. No
request may get a 5xx, and every refusal is a JSON error naming the problem."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

EXAMPLES = 25  # per operation and mode: ~8 operations x 2 modes x 2 backends, bounded


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_request_from_the_schema_gets_a_5xx(server, mode):
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {"/api/generate", "/api/grid", "/api/interpolate", "/api/classes"} <= {op.path for op in operations}
    seen: list[int] = []
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to make invalid

        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case) -> None:
            response = case.call(base_url=server.url, timeout=30)
            seen.append(response.status_code)
            assert response.status_code < 500, (case.path, case.query, response.status_code, response.text[:300])
            if response.status_code >= 400:
                kind = response.headers.get("content-type", [""])
                assert (kind[0] if isinstance(kind, list) else kind).startswith("application/json"), response.headers
                error = response.json()["error"]
                assert error and "Traceback" not in error

        check()
    assert seen and (mode is GenerationMode.POSITIVE or any(400 <= s < 500 for s in seen)), seen
