# sluice tasks. Run through `npm test` / `npm start` / `npm run sluice -- …`, which provision the
# toolchain first (scripts/toolchain.sh), or directly with `just` once it is on PATH.

set shell := ["bash", "-euo", "pipefail", "-c"]

sluice := "node cli/sluice.ts"

# List the recipes
default:
    @just --list

# Everything CI checks: contract, types, Rego, fixtures, TypeScript tests
test: system-packages check-types lint-rego test-rego test-fixtures test-ts

# Debian packages the tests use for real (PostgreSQL)
system-packages:
    bash scripts/system-packages.sh

# Regenerate engine/schema-types.ts from schemas/
types:
    node scripts/gen-types.ts

# Types are derived from the schemas and the whole tree type-checks
check-types:
    node scripts/gen-types.ts --check
    tsc -p .

# Compile rego/ to build/bundle.tar.gz (only when sources changed)
build:
    {{sluice}} build

# opa fmt, opa check --strict and Regal on the policy library
lint-rego:
    @files="$(opa fmt --list rego/)"; if [ -n "$files" ]; then echo "not formatted with opa fmt:"; echo "$files"; exit 1; fi
    opa check --strict rego/
    regal lint --format pretty rego/

# Rego unit tests with a coverage floor
test-rego:
    @mkdir -p reports
    opa test rego/ --coverage --threshold 90 > reports/rego-coverage.json || (opa test rego/ -v; exit 1)
    opa test rego/

# Fixture suites against the compiled policy (exit 5: a case failed, 6: a fixture file is invalid)
test-fixtures: build
    @mkdir -p reports
    {{sluice}} test --reporter junit --output reports/fixtures.xml

# TypeScript tests (vitest)
test-ts: build
    vitest run

# The main job: local identity provider, BigQuery emulator and gateway (SQLite), and a scripted agent
demo: build
    node demo/main.ts

# The sluice CLI: just sluice eval --sql '…' --identity '…' (each argument passed as given, spaces and quotes included)
[positional-arguments]
sluice *args:
    {{sluice}} "$@"

# Benchmarks (bench/); figures go into README's performance section
bench: build
    node bench/decision.ts
    node bench/wide.ts
    node bench/normalize.ts
    node bench/parsers.ts
    node bench/fixtures.ts
    node bench/masking.ts
    node bench/audit.ts
    node bench/audit-share.ts
    node bench/gateway.ts
    node bench/mcp.ts
