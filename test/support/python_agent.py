"""An agent using the official Python BigQuery client, unchanged but for the endpoint and its own
OIDC token. Reads one JSON request on stdin, runs its queries in order with one client, and
prints one JSON answer on stdout:

  in:  {"endpoint", "project", "token", "timeout": s,
        "queries": [{"sql", "method": "query" (jobs.insert, default) | "query_and_wait" (jobs.query)}]}
  out: {"results": [{"rows": [{column: value}], "seconds": s}
                    | {"error": {"type", "code", "reason", "message"}, "seconds": s}]}

Values are rendered with str() (dates, decimals) so the caller can compare them as text.
"""
import json
import sys
import time

from google.api_core import exceptions
from google.cloud import bigquery
from google.oauth2.credentials import Credentials


def main() -> None:
    request = json.load(sys.stdin)
    client = bigquery.Client(
        project=request["project"],
        credentials=Credentials(token=request["token"]),
        client_options={"api_endpoint": request["endpoint"]},
    )
    timeout = request.get("timeout", 60)
    results = [run(client, query, timeout) for query in request["queries"]]
    json.dump({"results": results}, sys.stdout)


def run(client, query, timeout):
    started = time.monotonic()
    try:
        if query.get("method") == "query_and_wait":
            rows = client.query_and_wait(query["sql"], wait_timeout=timeout)
        else:
            rows = client.query(query["sql"], timeout=timeout).result(timeout=timeout)
        out = {"rows": [{key: render(value) for key, value in row.items()} for row in rows]}
    except exceptions.GoogleAPICallError as error:
        reasons = [e.get("reason") for e in (error.errors or []) if isinstance(e, dict)]
        out = {
            "error": {
                "type": type(error).__name__,
                "code": error.code,
                "reason": reasons[0] if reasons else None,
                "message": error.message,
            }
        }
    out["seconds"] = round(time.monotonic() - started, 3)
    return out


def render(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v) for v in value]
    return str(value)


if __name__ == "__main__":
    main()
