"""An agent using the official Python BigQuery client, unchanged but for the endpoint and its own
OIDC token. Reads one JSON request on stdin, runs its queries in order with one client, and
prints one JSON answer on stdout:

  in:  {"endpoint", "project", "token", "timeout": s,
        "retry_deadline": s (optional: how long the client retries, instead of its default 10 min),
        "queries": [{"sql", "method": "query" (jobs.insert, default) | "query_and_wait" (jobs.query)}
                    | {"op": "list_datasets" | "list_tables" | "get_dataset" | "get_table",
                       "dataset" (list_tables, get_dataset, get_table), "table" (get_table)}]}
  out: {"results": [{"rows": [{column: value}], "seconds": s, "ended": epoch s}
                    | {"items": [id], ...} (list_*) | {"resource": {...}, ...} (get_*)
                    | {"error": {"type", "code", "reason", "message"}, "seconds": s, "ended": epoch s}]}

Catalog operations answer as the client parsed them: list ids, and get_* the resource's API
representation (for get_table, each schema field as its SchemaField keeps it).

A call that outlives `timeout` is given up (the HTTP connection is closed), as an agent would.

Values are rendered with str() (dates, decimals) so the caller can compare them as text.
"""
import json
import sys
import time

import concurrent.futures

import requests
from google.api_core import exceptions
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_RETRY
from google.oauth2.credentials import Credentials


def main() -> None:
    request = json.load(sys.stdin)
    client = bigquery.Client(
        project=request["project"],
        credentials=Credentials(token=request["token"]),
        client_options={"api_endpoint": request["endpoint"]},
    )
    timeout = request.get("timeout", 60)
    deadline = request.get("retry_deadline")
    retries = {} if deadline is None else {"retry": DEFAULT_RETRY.with_deadline(deadline), "job_retry": None}
    results = [run(client, query, timeout, retries) for query in request["queries"]]
    json.dump({"results": results}, sys.stdout)


def run(client, query, timeout, retries):
    started = time.monotonic()
    try:
        if "op" in query:
            out = catalog(client, query, timeout)
        else:
            if query.get("method") == "query_and_wait":
                rows = client.query_and_wait(query["sql"], wait_timeout=timeout, api_timeout=timeout, **retries)
            else:
                job = client.query(query["sql"], timeout=timeout, **retries)
                rows = job.result(timeout=timeout, **({"retry": retries["retry"]} if retries else {}))
            out = {"rows": [{key: render(value) for key, value in row.items()} for row in rows]}
    except exceptions.RetryError as error:
        out = {"error": describe(error.cause) if isinstance(error.cause, exceptions.GoogleAPICallError) else {"type": "RetryError", "code": None, "reason": None, "message": str(error)}}
    except (concurrent.futures.TimeoutError, requests.exceptions.Timeout) as error:
        out = {"error": {"type": type(error).__name__, "code": None, "reason": None, "message": str(error)}}
    except exceptions.GoogleAPICallError as error:
        out = {"error": describe(error)}
    out["seconds"] = round(time.monotonic() - started, 3)
    out["ended"] = time.time()
    return out


def catalog(client, query, timeout):
    op = query["op"]
    if op == "list_datasets":
        return {"items": [d.dataset_id for d in client.list_datasets(timeout=timeout)]}
    if op == "list_tables":
        return {"items": [t.table_id for t in client.list_tables(query["dataset"], timeout=timeout)]}
    if op == "get_dataset":
        return {"resource": client.get_dataset(query["dataset"], timeout=timeout).to_api_repr()}
    if op == "get_table":
        table = client.get_table(f"{query['dataset']}.{query['table']}", timeout=timeout)
        return {"resource": table.to_api_repr(), "schema": [field.to_api_repr() for field in table.schema]}
    raise ValueError(f"unknown op {op}")


def describe(error):
    reasons = [e.get("reason") for e in (error.errors or []) if isinstance(e, dict)]
    return {
        "type": type(error).__name__,
        "code": error.code,
        "reason": reasons[0] if reasons else None,
        "message": error.message,
    }


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
