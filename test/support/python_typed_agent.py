"""The official Python BigQuery client reading query results, each value reported with the Python
type the client parsed it into, and the result schema as the client holds it. For tests that
check masked values keep their column's type (test/gateway/bigquery-rules-e2e.test.ts).

  in:  {"endpoint", "project", "token", "queries": [{"sql", "method": "query" | "query_and_wait",
        "page_size": n (optional)}]}
  out: {"results": [{"schema": [{"name", "type", "mode"}],
                     "rows": [{column: {"type": python type name, "value": rendered}}]}
                    | {"error": {"type", "code", "reason", "message"}}]}

Rendering: bytes as base64, date/time/datetime with isoformat(), Decimal with str(), JSON values
(dict, list) as they are, STRUCT values (dict) field by field.
"""
import base64
import datetime
import decimal
import json
import sys

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
    json.dump({"results": [run(client, query) for query in request["queries"]]}, sys.stdout)


def run(client, query):
    try:
        if query.get("method") == "query_and_wait":
            rows = client.query_and_wait(query["sql"], page_size=query.get("page_size"))
        else:
            rows = client.query(query["sql"]).result(page_size=query.get("page_size"))
        out_rows = [{key: typed(value) for key, value in row.items()} for row in rows]
        schema = [{"name": f.name, "type": f.field_type, "mode": f.mode} for f in rows.schema]
        return {"schema": schema, "rows": out_rows}
    except exceptions.GoogleAPICallError as error:
        reasons = [e.get("reason") for e in (error.errors or []) if isinstance(e, dict)]
        return {"error": {"type": type(error).__name__, "code": error.code, "reason": reasons[0] if reasons else None, "message": error.message}}


def typed(value):
    return {"type": type(value).__name__, "value": render(value)}


def render(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v) for v in value]
    return str(value)


if __name__ == "__main__":
    main()
